"""The Datasets built by the fast constructor are those of xarray's public one."""

from __future__ import annotations

import pytest
import xarray as xr

import crnkit

NET = "species: A = 10, B = 0\nflip: A <-> B @ 1, 2\nobservables: total = A + B"


@pytest.mark.parametrize(
    "call",
    [
        lambda n: crnkit.simulate(n, until=2, every=0.5, runs=20, seed=1, trajectories=3,
                                  histograms=True),
        lambda n: crnkit.solve(n, until=2, every=0.5),
        lambda n: crnkit.solve(n, stationary=True),
        lambda n: crnkit.ode(n, until=2, every=0.5),
        lambda n: crnkit.thermo(n, until=2, every=0.5, method="cme"),
        lambda n: crnkit.thermo(n, until=2, every=0.5, method="ssa", runs=50),
        lambda n: crnkit.thermo(n, until=2, every=0.5, method="ode"),
    ],
)
def test_fast_construction_is_identical(call, monkeypatch):
    net = crnkit.Network.from_string(NET)
    fast = call(net)
    monkeypatch.setattr(crnkit, "_DIRECT", False)
    public = call(net)
    assert fast.identical(public)
    for name in fast.variables:
        assert fast[name].dtype == public[name].dtype, name
    assert list(fast.xindexes) == list(public.xindexes)
    # The result behaves as any Dataset: selection by label, arithmetic, alignment.
    assert isinstance(fast, xr.Dataset)
    if "species" in fast.dims:
        assert fast.sel(species="A").sizes.get("species") is None


def test_inconsistent_sizes_are_refused():
    with pytest.raises(ValueError, match="dimension time"):
        crnkit._dataset({"a": (("time",), [1.0, 2.0])}, {"time": [0.0]})


def test_shared_indexes_cannot_be_changed_through_a_result():
    """Results share their dimension indexes; changing one result's coordinates in place
    is refused, or changes a copy, never what the next result gets."""
    net = crnkit.Network.from_string("species: X = 0\n0 -> X @ 10\nX -> 0 @ 1")
    a = crnkit.simulate(net, until=2, every=1, runs=3)
    for change in (
        lambda: a.time.values.__setitem__(0, 5.0),
        lambda: a["time"].data.__setitem__(0, 5.0),
        lambda: a.variables["species"].values.__setitem__(0, "Y"),
        lambda: a["time"].__setitem__(0, 5.0),
    ):
        try:
            change()
        except (ValueError, TypeError):
            pass
    b = crnkit.simulate(net, until=2, every=1, runs=3)
    for ds in (a, b):
        assert list(ds.time.values) == [0.0, 1.0, 2.0]
        assert list(ds.species.values) == ["X"]
    c = b.assign_coords(time=[0.0, 10.0, 20.0])
    assert list(c.time.values) == [0.0, 10.0, 20.0]
    assert list(crnkit.simulate(net, until=2, every=1, runs=3).time.values) == [0.0, 1.0, 2.0]
