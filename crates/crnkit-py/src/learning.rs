//! `learn`: a learning job — a TOML file, or a dict of the same structure — run by
//! `crnkit_learn` off the interpreter ([`crate::run::detached`]); it returns the learning
//! curve as numpy arrays and the learned networks, which `crnkit.learn` turns into a
//! `LearnResult` with an `xarray.Dataset`.
//!
//! A dict is written as TOML text (one dotted key per line) and read by the job file's
//! parser, so that it is checked exactly as a file is (unknown keys, wrong types and
//! missing sections are refused by name, the excerpt showing the whole key). With an
//! output folder the job writes the files of `crnkit learn` ([`job::run_in`]: curve,
//! learned network, learning network, summary, and a checkpoint while it runs) but no
//! figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crnkit_core::{Error, Network as CoreNetwork};
use crnkit_learn::job::{self, JobConfig};
use crnkit_learn::{ChannelKind, LearnMethod, LearnOutcome, LearnSettings, learn as learn_job};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::arrays::{array, dict};
use crate::errors::IntoPy;
use crate::network::Network;
use crate::run::detached;

/// The file name errors give a job passed as a dict.
const DICT_NAME: &str = "<dict>";

/// Run a learning job (see `crnkit.learn`): `job` is a TOML file path or a dict; `out` an
/// optional folder for the command line's files.
#[pyfunction]
#[pyo3(signature = (job, out = None, progress = None))]
pub fn learn<'py>(
    py: Python<'py>,
    job: &Bound<'py, PyAny>,
    out: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (cfg, base) = job_of(py, job)?;
    let learned = detached(py, progress.as_ref(), |reporter| {
        run(&cfg, &base, out.as_deref(), reporter.clone())
    })?;
    learned_dict(py, &learned)
}

/// A parsed job and the folder its relative paths start from: the file's folder, or the
/// working directory for a dict.
fn job_of(py: Python<'_>, job: &Bound<'_, PyAny>) -> PyResult<(JobConfig, PathBuf)> {
    if let Ok(d) = job.cast::<PyDict>() {
        let mut text = String::new();
        dotted(&table_of(d, "")?, "", &mut text);
        let cfg = job::parse(&text, DICT_NAME).py_err(py)?;
        return Ok((cfg, PathBuf::new()));
    }
    let path: PathBuf = job.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "a job is a TOML file path or a dict, not {}",
            type_name(job)
        ))
    })?;
    let text = std::fs::read_to_string(&path)
        .map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })
        .py_err(py)?;
    let cfg = job::parse(&text, &path.display().to_string()).py_err(py)?;
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    Ok((cfg, base))
}

/// A table as TOML text with one dotted key per line (`learn.epsilon = 1.0`), so that an
/// error's excerpt shows the whole key; empty tables stay (`learn = {}`).
fn dotted(table: &toml::Table, prefix: &str, out: &mut String) {
    for (k, v) in table {
        let bare = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = if bare {
            format!("{prefix}{k}")
        } else {
            format!("{prefix}{}", toml::Value::String(k.clone()))
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => dotted(t, &format!("{key}."), out),
            _ => out.push_str(&format!("{key} = {v}\n")),
        }
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

/// A dict as a TOML table; `at` is the dotted key of the dict (empty at the top). `None`
/// values are left out (TOML has no null: a key set to `None` is a key not given).
fn table_of(d: &Bound<'_, PyDict>, at: &str) -> PyResult<toml::Table> {
    let mut table = toml::Table::new();
    for (k, v) in d.iter() {
        let key: String = k.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "job keys are strings, not {} (in `{at}`)",
                type_name(&k)
            ))
        })?;
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        if let Some(value) = value_of(&v, &path)? {
            table.insert(key, value);
        }
    }
    Ok(table)
}

/// A Python value as a TOML value: bool, int, float, str (and `os.PathLike`), dict, list,
/// tuple or numpy array; `None` is no value.
fn value_of(v: &Bound<'_, PyAny>, path: &str) -> PyResult<Option<toml::Value>> {
    use toml::Value;
    if v.is_none() {
        return Ok(None);
    }
    let value =
        if let Ok(b) = v.cast::<PyBool>() {
            Value::Boolean(b.is_true())
        } else if v.is_instance_of::<PyInt>() {
            Value::Integer(v.extract()?)
        } else if v.is_instance_of::<PyFloat>() {
            Value::Float(v.extract()?)
        } else if let Ok(s) = v.cast::<PyString>() {
            Value::String(s.to_string())
        } else if let Ok(d) = v.cast::<PyDict>() {
            Value::Table(table_of(d, path)?)
        } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
            let mut items = Vec::new();
            for (i, item) in v.try_iter()?.enumerate() {
                let at = format!("{path}[{i}]");
                items.push(value_of(&item?, &at)?.ok_or_else(|| {
                    PyTypeError::new_err(format!("job key `{at}`: None in a list"))
                })?);
            }
            Value::Array(items)
        } else if v.hasattr("__fspath__")? {
            Value::String(v.call_method0("__fspath__")?.extract()?)
        } else if v.hasattr("tolist")? {
            // numpy arrays and scalars
            return value_of(&v.call_method0("tolist")?, path);
        } else {
            return Err(PyTypeError::new_err(format!(
                "job key `{path}`: a {} cannot be a job value (bool, int, float, str, path, \
             dict or list)",
                type_name(v)
            )));
        };
    Ok(Some(value))
}

/// What a job produced, with the networks built on the worker thread.
struct Learned {
    outcome: LearnOutcome,
    settings: LearnSettings,
    /// The model at the learned free energies (none when they are not finite).
    network: Option<CoreNetwork>,
    /// The learning network (chemical methods).
    learning_network: Option<CoreNetwork>,
    seconds: f64,
}

/// Learn the job: with `out`, as `crnkit learn --out` does without figures
/// ([`job::run_in`]); without, with no files and no checkpoint.
fn run(
    cfg: &JobConfig,
    base: &Path,
    out: Option<&Path>,
    progress: crnkit_core::progress::Reporter,
) -> crnkit_core::Result<Learned> {
    let start = Instant::now();
    let read = |p: &Path| crnkit_io::read_network(p);
    let settings = cfg.settings();
    let outcome = match out {
        Some(dir) => job::run_in(cfg, base, &read, dir, progress)?.0,
        None => {
            let (model, environment) = cfg.inputs(base, &read)?;
            let with_progress = LearnSettings {
                progress,
                ..settings.clone()
            };
            learn_job(&model, environment, &with_progress)?
        }
    };
    let network = if outcome.learned.iter().all(|g| g.is_finite()) {
        Some(outcome.learned_network()?)
    } else {
        None
    };
    let learning_network = if settings.method.is_chemical() {
        Some(outcome.learner.learning_network(settings.seed)?.network)
    } else {
        None
    };
    Ok(Learned {
        outcome,
        settings,
        network,
        learning_network,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The method's name in a job file (`limit` is a separate setting there).
fn method_name(m: LearnMethod) -> &'static str {
    match m {
        LearnMethod::Exact => "exact",
        LearnMethod::Sampled => "sampled",
        LearnMethod::Chemical | LearnMethod::ChemicalLimit => "chemical",
    }
}

/// The settings that fixed the result, as a dict.
fn settings_dict<'py>(py: Python<'py>, s: &LearnSettings) -> PyResult<Bound<'py, PyDict>> {
    let d = dict(py);
    d.set_item("method", method_name(s.method))?;
    d.set_item("limit", s.method == LearnMethod::ChemicalLimit)?;
    for (name, v) in [
        ("epsilon", s.epsilon),
        ("delta", s.delta),
        ("p_volume", s.p_volume),
        ("clamp_rate", s.clamp_rate),
        ("clamp_strength", s.clamp_strength),
        ("token_rate", s.token_rate),
        ("until", s.until),
        ("every", s.every),
        ("jitter", s.jitter),
        ("burn_in", s.burn_in),
        ("learning_rate", s.learning_rate),
    ] {
        d.set_item(name, v)?;
    }
    d.set_item("copies", s.copies)?;
    d.set_item("seed", s.seed)?;
    d.set_item("cost", s.cost)?;
    d.set_item("runs", s.runs)?;
    d.set_item("max_iters", s.max_iters)?;
    d.set_item("max_states", s.max_states)?;
    Ok(d)
}

/// The curve's arrays (the columns of `curve.csv`), the networks and the totals.
fn learned_dict<'py>(py: Python<'py>, l: &Learned) -> PyResult<Bound<'py, PyDict>> {
    let c = &l.outcome.curve;
    let (nt, np) = (c.points.len(), c.names.len());
    let d = dict(py);
    let column = |f: &dyn Fn(usize) -> f64| (0..nt).map(f).collect::<Vec<f64>>();
    d.set_item("time", array(py, column(&|k| c.points[k].time), &[nt])?)?;
    d.set_item("kl", array(py, column(&|k| c.points[k].kl), &[nt])?)?;
    d.set_item(
        "entropy_produced",
        array(py, column(&|k| c.points[k].sigma.total()), &[nt])?,
    )?;
    for (i, kind) in ChannelKind::ALL.into_iter().enumerate() {
        let values = column(&|k| c.points[k].sigma.to_array()[i]);
        d.set_item(format!("sigma_{}", kind.name()), array(py, values, &[nt])?)?;
    }
    let per_parameter = |f: &dyn Fn(usize) -> Vec<f64>| (0..nt).flat_map(f).collect::<Vec<f64>>();
    d.set_item(
        "G",
        array(py, per_parameter(&|k| c.effective(k)), &[nt, np])?,
    )?;
    d.set_item(
        "P",
        array(py, per_parameter(&|k| c.points[k].p.clone()), &[nt, np])?,
    )?;
    d.set_item(
        "free",
        array(py, per_parameter(&|k| c.points[k].free.clone()), &[nt, np])?,
    )?;
    d.set_item(
        "clamped",
        array(
            py,
            per_parameter(&|k| c.points[k].clamped.clone()),
            &[nt, np],
        )?,
    )?;
    if c.balance.len() == nt && nt > 0 {
        let balance = c.balance.iter().flat_map(|r| r.iter().copied()).collect();
        d.set_item("energy_balance", array(py, balance, &[nt, 2])?)?;
    }
    d.set_item("method", c.method.clone())?;
    d.set_item("parameters", c.names.clone())?;
    d.set_item("initial_kl", l.outcome.initial_divergence())?;
    d.set_item("final_kl", l.outcome.final_divergence())?;
    d.set_item("learned", l.outcome.learned.clone())?;
    d.set_item("start", l.outcome.start.clone())?;
    let entropy = dict(py);
    if let Some(last) = c.points.last() {
        for (kind, v) in last.sigma.by_kind() {
            entropy.set_item(kind.name(), v)?;
        }
        entropy.set_item("total", last.sigma.total())?;
    }
    d.set_item("entropy", entropy)?;
    let wrap = |n: &Option<CoreNetwork>| -> PyResult<Option<Py<Network>>> {
        n.clone()
            .map(|inner| Py::new(py, Network::from(inner)))
            .transpose()
    };
    d.set_item("network", wrap(&l.network)?)?;
    d.set_item("learning_network", wrap(&l.learning_network)?)?;
    d.set_item("settings", settings_dict(py, &l.settings)?)?;
    d.set_item("seconds", l.seconds)?;
    Ok(d)
}
