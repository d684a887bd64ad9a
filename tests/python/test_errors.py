"""Errors: one exception class per kind, the CLI's messages, parse locations."""

from __future__ import annotations

import pytest

import crnkit
from conftest import run_cli

BAD = "parameters: k = 1\nspecies: X = 0\n0 -> X @ k2\n"


def test_parse_error_location_and_caret():
    with pytest.raises(crnkit.ParseError) as info:
        crnkit.Network.from_string(BAD, name="bad.crn")
    e = info.value
    assert (e.file, e.line, e.col) == ("bad.crn", 3, 10)
    assert e.kind == "unknown_parameter"
    assert str(e).splitlines()[0] == "bad.crn:3:10: unknown parameter `k2`"
    assert str(e).splitlines()[-1].endswith("^")
    assert isinstance(e, ValueError) and isinstance(e, crnkit.CrnkitError)


def test_same_message_as_the_cli(cli, tmp_path):
    (tmp_path / "bad.crn").write_text(BAD)
    proc = run_cli(cli, "check", "bad.crn", cwd=tmp_path)
    assert proc.returncode == 2
    with pytest.raises(crnkit.ParseError) as info:
        crnkit.Network.from_file(tmp_path / "bad.crn")
    # The CLI names the file as given; compare from the position on.
    cli_message = proc.stderr.strip().removeprefix("error: ")
    assert cli_message.split(":", 1)[1] == str(info.value).split(":", 1)[1]


@pytest.mark.parametrize(
    "text,cls,kind",
    [
        ("species: X = 0\n0 -> X @ 1 1\n", crnkit.ParseError, "syntax"),
        ("species: X = 0, X = 1\n0 -> X @ 1\n", crnkit.ParseError, "duplicate_name"),
        ("species: X = 0\n0 -> X @ -1\n", crnkit.ParseError, "invalid_rate"),
        ("species: X = 1.5\n0 -> X @ 1\n", crnkit.ParseError, "invalid_count"),
        ("species: X = 0\n", crnkit.ParseError, "empty_network"),
    ],
)
def test_model_errors(text, cls, kind):
    with pytest.raises(cls) as info:
        crnkit.Network.from_string(text)
    assert info.value.kind == kind


def test_other_formats_are_located():
    with pytest.raises(crnkit.ParseError) as info:
        crnkit.Network.from_string('{"species": [}', format="json", name="m.json")
    assert info.value.file == "m.json" and info.value.line == 1 and info.value.kind == "json"
    with pytest.raises(crnkit.ParseError) as info:
        crnkit.Network.from_string("x", format="toml", name="m.toml")
    assert info.value.file == "m.toml" and info.value.kind == "toml"
    with pytest.raises(crnkit.SettingError, match="format = yaml"):
        crnkit.Network.from_string("x", format="yaml")


def test_unknown_names_in_settings(models):
    net = crnkit.Network.from_file(models / "immigration_death.crn")
    with pytest.raises(crnkit.ModelError, match="unknown parameter `k`") as info:
        net.with_parameters(k=1.0)
    assert info.value.kind == "unknown_parameter"
    with pytest.raises(crnkit.ModelError, match="unknown species `Y`"):
        net.with_initial(Y=1)
    with pytest.raises(crnkit.ModelError, match="invalid rate"):
        net.with_parameters(mu=-1)


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(until=-1, every=1), "invalid setting until = -1: the end time must be finite and >= 0"),
        (dict(until=1, every=0), "invalid setting every = 0"),
        (dict(until=1, every=1, runs=0), "invalid setting runs = 0: at least one run is needed"),
        (dict(until=1, every=1, method="fast"), "invalid setting method = fast"),
        (dict(until=1, every=1, threads=0), "invalid setting threads = 0"),
    ],
)
def test_settings(models, kw, message):
    with pytest.raises(crnkit.SettingError) as info:
        crnkit.simulate(models / "immigration_death.crn", **kw)
    assert str(info.value).startswith(message)
    assert info.value.kind == "invalid_setting"


def test_files_and_state_spaces(models, tmp_path):
    with pytest.raises(crnkit.FileError) as info:
        crnkit.Network.from_file(tmp_path / "missing.crn")
    assert isinstance(info.value, OSError) and info.value.filename.endswith("missing.crn")
    assert str(info.value).startswith(str(tmp_path / "missing.crn") + ": ")
    (tmp_path / "m.yaml").write_text("x")
    with pytest.raises(crnkit.UnsupportedError, match="unknown model format"):
        crnkit.Network.from_file(tmp_path / "m.yaml")
    with pytest.raises(crnkit.StateSpaceError, match="more than 5 states") as info:
        crnkit.solve(models / "immigration_death.crn", until=1, every=1, max_states=5)
    assert info.value.kind == "too_many_states"
    yule = crnkit.Network.from_string("species: X = 1\nX -> 2 X @ 1\n", name="yule.crn")
    with pytest.raises(crnkit.StateSpaceError, match="max_work") as info:
        crnkit.solve(yule, until=10, every=10, max_work=1e8)
    assert info.value.kind == "work_limit"


def test_too_deep_is_a_located_parse_error():
    text = "species: X = 0\n0 -> X @ " + "(" * 9000 + "1" + ")" * 9000 + "\n"
    with pytest.raises(crnkit.ParseError, match="nested too deeply") as e:
        crnkit.Network.from_string(text, name="deep.crn")
    assert e.value.kind == "too_deep" and e.value.file == "deep.crn" and e.value.line == 2
