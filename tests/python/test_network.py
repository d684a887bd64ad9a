"""Networks: reading every format, properties, analysis, new values, pickling."""

from __future__ import annotations

import pickle

import pytest

import crnkit
from conftest import SBML

AB = "parameters: k = 1, g = 2 * k\nspecies: A = 10, B = 0\nflip: A <-> B @ k, g\n"


def test_from_file_and_properties(models):
    net = crnkit.Network.from_file(models / "immigration_death.crn")
    assert net.species == ["X"]
    assert net.parameters == {"alpha": 1.0, "mu": 0.1}
    assert net.initial == {"X": 0}
    assert net.volume == 1.0
    names = [r["name"] for r in net.reactions]
    assert names == ["immigration", "death"]
    death = net.reactions[1]
    assert death["reactants"] == {"X": 1} and death["products"] == {}
    assert death["rate"] == "mu" and death["rate_value"] == 0.1
    assert death["reverse_rate"] is None and death["law"] is None
    assert "2 reactions" in repr(net)


def test_reversible_reaction_and_dependent_parameters():
    net = crnkit.Network.from_string(AB)
    (flip,) = net.reactions
    assert flip["equation"] == "A <-> B"
    assert flip["reverse_rate"] == "g" and flip["reverse_rate_value"] == 2.0
    faster = net.with_parameters(k=3)
    assert faster.parameters == {"k": 3.0, "g": 6.0}
    assert faster.reactions[0]["reverse_rate_value"] == 6.0
    # The original is unchanged; a dict and keywords combine (keywords win).
    assert net.parameters["k"] == 1.0
    assert net.with_parameters({"k": 5}, k=7).parameters["k"] == 7.0
    assert net.with_initial(A=3).initial == {"A": 3, "B": 0}


def test_check_is_python_data(models):
    report = crnkit.Network.from_file(models / "schlogl.crn").check()
    assert isinstance(report, dict)
    assert report["species"] == ["X"] or "X" in report["species"]
    assert report["detailed_balanced"] is False
    assert crnkit.Network.from_string(AB).check()["detailed_balanced"] is True


def test_round_trips(tmp_path):
    net = crnkit.Network.from_string(AB)
    assert crnkit.Network.from_string(net.to_crn()) == net
    assert crnkit.Network.from_string(net.to_json(), format="json") == net
    (tmp_path / "ab.json").write_text(net.to_json())
    assert crnkit.Network.from_file(tmp_path / "ab.json") == net
    assert pickle.loads(pickle.dumps(net)) == net
    assert str(net) == net.to_crn()


def test_toml_and_bionetgen(tmp_path):
    toml = (
        '[[species]]\nname = "X"\ninitial = 5\n\n'
        '[[reactions]]\nrate = "0.5"\n[reactions.reactants]\nX = 1\n'
    )
    (tmp_path / "decay.toml").write_text(toml)
    net = crnkit.Network.from_file(tmp_path / "decay.toml")
    assert net.species == ["X"] and net.reactions[0]["rate_value"] == 0.5
    bng = (
        "begin parameters\n 1 k 2.5\nend parameters\nbegin species\n 1 A() 10\n 2 B() 0\n"
        "end species\nbegin reactions\n 1 1 2 k\nend reactions\n"
    )
    net = crnkit.Network.from_string(bng, format="net")
    assert net.initial == {"A()": 10, "B()": 0} and net.parameters == {"k": 2.5}


@pytest.mark.skipif(not SBML.exists(), reason="the DSMTS models are not beside the repository")
def test_sbml():
    net = crnkit.Network.from_file(SBML / "00001" / "00001-sbml-l3v2.xml")
    assert net.species and net.reactions
    ds = crnkit.simulate(net, until=1, every=1, runs=10)
    assert ds["mean"].shape == (2, len(net.species))


def test_wrong_types():
    with pytest.raises(TypeError):
        crnkit.Network.from_string(42)
    with pytest.raises(TypeError):
        crnkit.simulate(3, until=1, every=1)
    net = crnkit.Network.from_string(AB)
    with pytest.raises(TypeError):
        net.with_parameters(k="fast")
    with pytest.raises(TypeError):
        crnkit.simulate(net, until="soon", every=1)
    with pytest.raises(TypeError):
        crnkit.simulate(net, until=1, every=1, seed=1.5)
