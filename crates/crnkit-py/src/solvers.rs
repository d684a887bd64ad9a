//! `simulate`, `solve`, `ode` and `thermo`: each runs the library off the interpreter
//! ([`crate::run::detached`]) and returns a dictionary of numpy arrays and metadata that
//! `crnkit/_datasets.py` turns into an `xarray.Dataset`.

use std::collections::HashMap;

use crnkit_core::Error;
use crnkit_sim::cme::{self, FspOptions, StationarySolution, TransientSolution};
use crnkit_sim::ssa::{EnsembleConfig, EnsembleResult, Method, TimeGrid};
use crnkit_sim::thermo::{Thermo, ThermoConfig, ThermoMethod};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{array, dict, flatten, pad};
use crate::errors::IntoPy;
use crate::network::Network;
use crate::run::detached;

/// Run `f` on a rayon pool of `threads` workers, refusing 0 as the CLI does; `None` uses
/// rayon's global pool (all cores), started once per process, so that a small call pays
/// for no thread start-up.
pub(crate) fn in_pool<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> crnkit_core::Result<T> + Send,
) -> crnkit_core::Result<T> {
    let Some(t) = threads else {
        return f();
    };
    if t == 0 {
        return Err(Error::InvalidSetting {
            name: "threads",
            value: "0".into(),
            reason: "at least one thread is needed",
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(t)
        .build()
        .map_err(|e| Error::Unsupported {
            feature: format!("thread pool: {e}"),
        })?;
    pool.install(f)
}

/// Simulate an ensemble of exact SSA trajectories (see `crnkit.simulate`).
#[pyfunction]
#[pyo3(signature = (net, until, every, runs = 1, seed = 0, method = "auto", threads = None,
    keep = 0, histograms = false, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn simulate<'py>(
    py: Python<'py>,
    net: &Network,
    until: f64,
    every: f64,
    runs: u64,
    seed: u64,
    method: &str,
    threads: Option<usize>,
    keep: usize,
    histograms: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let method: Method = method.parse().py_err(py)?;
    let net = net.compiled();
    let result = detached(py, progress.as_ref(), |reporter| {
        let cfg = EnsembleConfig {
            until,
            every,
            runs,
            seed,
            method,
            keep_trajectories: keep,
            histograms,
            progress: reporter.clone(),
        };
        in_pool(threads, || cfg.run(net))
    })?;
    ensemble_dict(py, &result)
}

/// The arrays of an ensemble result.
fn ensemble_dict<'py>(py: Python<'py>, r: &EnsembleResult) -> PyResult<Bound<'py, PyDict>> {
    let times = r.grid.times().to_vec();
    let (nt, nc, ns) = (times.len(), r.columns.len(), r.num_species);
    let d = dict(py);
    let mut mean = Vec::with_capacity(nt * nc);
    let mut sd = Vec::with_capacity(nt * nc);
    for k in 0..nt {
        for c in 0..nc {
            mean.push(r.mean(k, c));
            sd.push(r.sd(k, c));
        }
    }
    d.set_item("time", array(py, times, &[nt])?)?;
    d.set_item("columns", r.columns.clone())?;
    d.set_item("num_species", ns)?;
    d.set_item("mean", array(py, mean, &[nt, nc])?)?;
    d.set_item("sd", array(py, sd, &[nt, nc])?)?;
    let kept = r.trajectories.len();
    if kept > 0 {
        d.set_item(
            "trajectories",
            array(py, flatten(&r.trajectories), &[kept, nt, ns])?,
        )?;
    }
    if let Some(h) = &r.histograms {
        let width = h
            .iter()
            .filter_map(|m| m.keys().next_back())
            .max()
            .map_or(1, |&m| m as usize + 1);
        let mut counts = vec![0u64; h.len() * width];
        for (cell, m) in h.iter().enumerate() {
            for (&v, &c) in m {
                counts[cell * width + v as usize] = c;
            }
        }
        d.set_item("histograms", array(py, counts, &[nt, ns, width])?)?;
    }
    d.set_item("method", r.method.to_string())?;
    d.set_item("seed", r.seed)?;
    d.set_item("runs", r.runs())?;
    d.set_item("events", r.events)?;
    d.set_item("absorbed", r.absorbed)?;
    Ok(d)
}

/// Per-species bounds from `{species: count}`.
fn bounds_of(
    net: &crnkit_core::Network,
    bounds: Option<HashMap<String, u32>>,
) -> crnkit_core::Result<Vec<Option<u32>>> {
    let mut out = vec![None; net.num_species()];
    for (name, v) in bounds.unwrap_or_default() {
        let i = net
            .species_index(&name)
            .ok_or(Error::UnknownSpecies { name: name.clone() })?;
        if v >= u32::MAX - 1 {
            return Err(Error::InvalidSetting {
                name: "bounds",
                value: format!("{name}={v}"),
                reason: "a bound is a count below 2^32 − 2",
            });
        }
        out[i] = Some(v);
    }
    Ok(out)
}

/// What `solve` computed.
enum Solved {
    Transient(Box<TransientSolution>),
    Stationary(StationarySolution),
}

/// Solve the chemical master equation (see `crnkit.solve`).
#[pyfunction]
#[pyo3(signature = (net, until = None, every = None, stationary = false, tol = 1e-8,
    max_states = 10_000_000, bounds = None, fixed = false, threads = None, progress = None,
    max_work = cme::DEFAULT_MAX_WORK))]
#[allow(clippy::too_many_arguments)]
pub fn solve<'py>(
    py: Python<'py>,
    net: &Network,
    until: Option<f64>,
    every: Option<f64>,
    stationary: bool,
    tol: f64,
    max_states: usize,
    bounds: Option<HashMap<String, u32>>,
    fixed: bool,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    max_work: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let net = &net.inner;
    let bounds = bounds_of(net, bounds).py_err(py)?;
    let grid = if stationary {
        None
    } else {
        let (until, every) = required_grid(until, every).py_err(py)?;
        Some(TimeGrid::new(until, every).py_err(py)?)
    };
    let solved = detached(py, progress.as_ref(), |reporter| {
        let opts = FspOptions {
            tol,
            max_states,
            max_work,
            bounds,
            adaptive: !fixed,
            progress: reporter.clone(),
        };
        let compiled = net.compile();
        in_pool(threads, || match &grid {
            Some(grid) => {
                cme::solve_transient(&compiled, grid, &opts).map(|s| Solved::Transient(Box::new(s)))
            }
            None => cme::stationary(&compiled, &opts).map(Solved::Stationary),
        })
    })?;
    match solved {
        Solved::Transient(s) => transient_dict(py, &s),
        Solved::Stationary(s) => stationary_dict(py, net, &s),
    }
}

/// `until` and `every` of a transient solve, both required.
fn required_grid(until: Option<f64>, every: Option<f64>) -> crnkit_core::Result<(f64, f64)> {
    let missing = |name| Error::InvalidSetting {
        name,
        value: "None".into(),
        reason: "a transient solve needs until and every (or stationary=True)",
    };
    Ok((
        until.ok_or(missing("until"))?,
        every.ok_or(missing("every"))?,
    ))
}

/// The arrays of a transient CME solution.
fn transient_dict<'py>(py: Python<'py>, s: &TransientSolution) -> PyResult<Bound<'py, PyDict>> {
    let (nt, nc, ns) = (s.times.len(), s.columns.len(), s.num_species);
    let d = dict(py);
    d.set_item("time", array(py, s.times.clone(), &[nt])?)?;
    d.set_item("columns", s.columns.clone())?;
    d.set_item("num_species", ns)?;
    d.set_item("mean", array(py, flatten(&s.mean), &[nt, nc])?)?;
    d.set_item("sd", array(py, flatten(&s.sd), &[nt, nc])?)?;
    d.set_item("error_bound", array(py, s.error_bound.clone(), &[nt])?)?;
    let states: Vec<u64> = s.states.iter().map(|&n| n as u64).collect();
    d.set_item("states", array(py, states, &[nt])?)?;
    let rows: Vec<&[f64]> = s
        .marginals
        .iter()
        .flat_map(|per_species| per_species.iter().map(Vec::as_slice))
        .collect();
    let (marg, width) = pad(&rows);
    d.set_item("marginals", array(py, marg, &[nt, ns, width])?)?;
    d.set_item(
        "covariance",
        array(py, flatten(&s.covariance), &[nt, ns, ns])?,
    )?;
    d.set_item("matvecs", s.stats.matvecs)?;
    d.set_item("work", s.stats.work)?;
    d.set_item("max_states", s.stats.max_states)?;
    Ok(d)
}

/// The arrays of a stationary CME solution.
fn stationary_dict<'py>(
    py: Python<'py>,
    net: &crnkit_core::Network,
    s: &StationarySolution,
) -> PyResult<Bound<'py, PyDict>> {
    let dist = &s.distribution;
    let ns = net.num_species();
    let cov = dist.covariance();
    let sd: Vec<f64> = (0..ns).map(|i| cov[i * ns + i].max(0.0).sqrt()).collect();
    let marginals: Vec<Vec<f64>> = (0..ns).map(|i| dist.marginal(i)).collect();
    let rows: Vec<&[f64]> = marginals.iter().map(Vec::as_slice).collect();
    let (marg, width) = pad(&rows);
    let d = dict(py);
    d.set_item(
        "columns",
        net.species_names()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )?;
    d.set_item("num_species", ns)?;
    d.set_item("mean", array(py, dist.means(), &[ns])?)?;
    d.set_item("sd", array(py, sd, &[ns])?)?;
    d.set_item("marginals", array(py, marg, &[ns, width])?)?;
    d.set_item("covariance", array(py, cov, &[ns, ns])?)?;
    d.set_item("states", dist.space().len())?;
    d.set_item("residual", s.residual)?;
    d.set_item("boundary_mass", s.boundary_mass)?;
    d.set_item("outflow", s.outflow)?;
    Ok(d)
}

/// Integrate the deterministic limit (see `crnkit.ode`).
#[pyfunction]
#[pyo3(signature = (net, until, every, rtol = 1e-8, atol = 1e-8, progress = None))]
pub fn ode<'py>(
    py: Python<'py>,
    net: &Network,
    until: f64,
    every: f64,
    rtol: f64,
    atol: f64,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let net = &net.inner;
    let sol = detached(py, progress.as_ref(), |reporter| {
        let compiled = net.compile();
        let grid = TimeGrid::new(until, every)?;
        let x0: Vec<f64> = compiled.initial_state().iter().map(|&v| v as f64).collect();
        crnkit_sim::thermo::ode::integrate_cancellable(&compiled, &x0, &grid, rtol, atol, reporter)
    })?;
    let (nt, ns) = (sol.times.len(), sol.species.len());
    let d = dict(py);
    d.set_item("time", array(py, sol.times.clone(), &[nt])?)?;
    d.set_item("columns", sol.species.clone())?;
    d.set_item("num_species", ns)?;
    d.set_item("amount", array(py, flatten(&sol.states), &[nt, ns])?)?;
    Ok(d)
}

/// Entropy production and free energy over time (see `crnkit.thermo`).
#[pyfunction]
#[pyo3(signature = (net, until, every, method = "cme", runs = 10_000, seed = 0, tol = 1e-10,
    max_states = 10_000_000, pair_catalysed = false, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn thermo<'py>(
    py: Python<'py>,
    net: &Network,
    until: f64,
    every: f64,
    method: &str,
    runs: u64,
    seed: u64,
    tol: f64,
    max_states: usize,
    pair_catalysed: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let method: ThermoMethod = method.parse().py_err(py)?;
    let net = &net.inner;
    let th = detached(py, progress.as_ref(), |reporter| {
        let cfg = ThermoConfig {
            until,
            every,
            method,
            runs,
            seed,
            fsp: FspOptions {
                tol,
                max_states,
                progress: reporter.clone(),
                ..FspOptions::default()
            },
            progress: reporter.clone(),
            pair_catalysed,
        };
        crnkit_sim::thermo::thermo(net, &cfg)
    })?;
    thermo_dict(py, &th)
}

/// The series of a thermodynamics result.
fn thermo_dict<'py>(py: Python<'py>, th: &Thermo) -> PyResult<Bound<'py, PyDict>> {
    let nt = th.times().len();
    let d = dict(py);
    d.set_item("time", array(py, th.times().to_vec(), &[nt])?)?;
    d.set_item(
        "entropy_production_rate",
        array(py, th.entropy_production_rate(), &[nt])?,
    )?;
    d.set_item(
        "total_entropy_produced",
        array(py, th.total_entropy_produced(), &[nt])?,
    )?;
    d.set_item("free_energy", array(py, th.free_energy(), &[nt])?)?;
    let reactions = th.reactions().to_vec();
    let nr = reactions.len();
    let mut per = vec![0.0; nt * nr];
    for (j, name) in reactions.iter().enumerate() {
        let s = th.reaction_entropy_production(name).py_err(py)?;
        for (k, v) in s.into_iter().enumerate() {
            per[k * nr + j] = v;
        }
    }
    d.set_item("reactions", reactions)?;
    d.set_item("reaction_entropy_production", array(py, per, &[nt, nr])?)?;
    method_series(py, th, &d)?;
    Ok(d)
}

/// The series only one method has.
fn method_series(py: Python<'_>, th: &Thermo, d: &Bound<'_, PyDict>) -> PyResult<()> {
    let nt = th.times().len();
    let col = |v: Vec<f64>| array(py, v, &[nt]);
    match th {
        Thermo::Cme(s) => {
            d.set_item("method", "cme")?;
            d.set_item("error_bound", col(s.error_bound.clone())?)?;
            d.set_item("total_medium_entropy", col(s.total_medium_entropy.clone())?)?;
            let pick = |f: fn(&crnkit_sim::thermo::cme_entropy::CmeThermo) -> f64| {
                s.values.iter().map(f).collect::<Vec<f64>>()
            };
            d.set_item("system_entropy", col(pick(|v| v.system_entropy))?)?;
            d.set_item("medium_entropy_flow", col(pick(|v| v.medium_entropy_flow))?)?;
            if let Some(w) = &s.work {
                d.set_item("work_rate", col(w.iter().map(|x| x.0).collect())?)?;
                d.set_item(
                    "internal_free_energy",
                    col(w.iter().map(|x| x.1).collect())?,
                )?;
            }
        }
        Thermo::Ssa(s) => {
            d.set_item("method", "ssa")?;
            let split = |v: &[(f64, f64)]| {
                (
                    v.iter().map(|m| m.0).collect::<Vec<f64>>(),
                    v.iter().map(|m| m.1).collect::<Vec<f64>>(),
                )
            };
            for (name, series) in [
                ("total_entropy", &s.total_entropy),
                ("medium_entropy", &s.medium_entropy),
                ("exp_minus_total_entropy", &s.exp_minus_total_entropy),
            ] {
                let (m, sd) = split(series);
                d.set_item(format!("{name}_mean"), col(m)?)?;
                d.set_item(format!("{name}_sd"), col(sd)?)?;
            }
        }
        Thermo::Ode(s) => {
            d.set_item("method", "ode")?;
            d.set_item("columns", s.species.clone())?;
            d.set_item(
                "amount",
                array(py, flatten(&s.amounts), &[nt, s.species.len()])?,
            )?;
        }
    }
    Ok(())
}
