"""SBML written by ``crnkit convert`` passes libSBML's own consistency checks (errors, with
the unit checks on: the export declares items and seconds), for every bundled model, every
DSMTS case (both encodings, re-exported) and the BioNetGen networks; and it reads back.

libSBML needs minutes for the two largest networks (fceri_gamma2: 3,680 reactions, BCR:
24,388); they run with ``CRNKIT_SLOW=1`` (docs/sbml.md gives the result)."""

from __future__ import annotations

import os
import pathlib

import libsbml
import pytest

import crnkit
from conftest import MODELS, ROOT, SBML, run_cli

BNG = ROOT.parent / "shared" / "models" / "bionetgen"
LARGE = {"fceri_gamma2", "BCR"}


def sources() -> list[pathlib.Path]:
    paths = sorted(MODELS.glob("*.crn"))
    if SBML.exists():
        paths += sorted(SBML.glob("*/*-sbml-l3v2.xml")) + sorted(SBML.glob("*/*-sbml-l2v4.xml"))
    if BNG.exists():
        slow = os.environ.get("CRNKIT_SLOW") == "1"
        paths += [p for p in sorted(BNG.glob("*.net")) if slow or p.stem not in LARGE]
    return paths


def consistency(path: pathlib.Path) -> tuple[list[str], int]:
    doc = libsbml.readSBMLFromFile(str(path))
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0, doc.getErrorLog().toString()
    doc.checkConsistency()
    log = [doc.getError(i) for i in range(doc.getNumErrors())]
    errors = [
        f"{e.getErrorId()} line {e.getLine()}: {e.getMessage().strip()}"
        for e in log
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    return errors, len(log) - len(errors)


@pytest.mark.parametrize("source", sources(), ids=lambda p: p.name)
def test_exported_sbml_is_consistent_and_reads_back(cli, tmp_path, source):
    out = tmp_path / "model.xml"
    r = run_cli(cli, "convert", str(source), str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    errors, _warnings = consistency(out)
    assert errors == [], "\n".join(errors[:10])
    doc = libsbml.readSBMLFromFile(str(out))
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    original = crnkit.Network.from_file(source)
    back = crnkit.Network.from_file(out)
    assert len(back.species) == len(original.species)
    assert len(back.reactions) == len(original.reactions)
    assert sorted(back.initial.values()) == sorted(original.initial.values())
    # The library writes the same document.
    assert original.to_sbml() == out.read_text()


def test_round_trip_from_python(models):
    net = crnkit.Network.from_file(models / "schlogl.crn")
    back = crnkit.Network.from_string(net.to_sbml(), format="sbml", name="schlogl.xml")
    assert back == net
