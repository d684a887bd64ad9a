//! Sweeps: a description's facts and the rows of a range of its points (`crnkit.sweep`
//! runs the ranges here, or one per task on a Dask cluster).

use std::path::{Path, PathBuf};

use crnkit_sweep::{Column, Error as SweepError, Sweep, SweepSpec};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{array, dict};
use crate::errors::{exception, to_py};
use crate::run::detached;
use crate::solvers::in_pool;

/// The Python exception for a sweep error: a model error as every other, the sweep's own
/// as `ParseError` (the description), `FileError` (writing) or `SettingError`.
fn sweep_err(py: Python<'_>, e: &SweepError) -> PyErr {
    if let SweepError::Model(model) = e {
        return to_py(py, model);
    }
    let (class, kind) = match e {
        SweepError::Description { .. } => ("ParseError", "sweep_description"),
        SweepError::Write { .. } => ("FileError", "io"),
        SweepError::Point { .. } => ("SimulationError", "point"),
        SweepError::TooLarge { .. } => ("SettingError", "too_large"),
        _ => ("SettingError", "invalid_setting"),
    };
    exception(py, class, kind, &e.to_string())
}

/// Read a description: `format` is `toml` or `json`; relative network paths resolve
/// against `base`; `file` names it in errors.
fn load(text: &str, format: &str, base: &Path, file: &str) -> crnkit_sweep::Result<Sweep> {
    let spec = match format {
        "json" => SweepSpec::from_json_str(text, file)?,
        _ => SweepSpec::from_toml_str(text, file)?,
    };
    Sweep::new(spec, base)
}

/// The facts of a sweep description: `points`, `times`, `parameters`, `columns` (the
/// table's, in order), `species`, `hash`, `suggested_shards`.
#[pyfunction]
#[pyo3(signature = (text, format, base, file = "<sweep>"))]
pub fn sweep_info<'py>(
    py: Python<'py>,
    text: &str,
    format: &str,
    base: PathBuf,
    file: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let sweep = py
        .detach(|| load(text, format, &base, file))
        .map_err(|e| sweep_err(py, &e))?;
    let d = dict(py);
    d.set_item("points", sweep.points())?;
    d.set_item(
        "times",
        array(py, sweep.times().to_vec(), &[sweep.times().len()])?,
    )?;
    d.set_item("parameters", sweep.parameter_names().to_vec())?;
    d.set_item("columns", sweep.layout().names().to_vec())?;
    let net = sweep.network();
    d.set_item("species", net.species_names().to_vec())?;
    d.set_item("hash", sweep.hash())?;
    d.set_item("suggested_shards", sweep.suggested_shards())?;
    Ok(d)
}

/// The rows of points `start..end` (ordered by point, then time) as one numpy array per
/// column (`uint64` or `float64`), computed with the GIL released on `threads` threads
/// (`None`: all cores); the numbers do not depend on it.
#[pyfunction]
#[pyo3(signature = (text, format, base, start, end, file = "<sweep>", threads = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep_rows<'py>(
    py: Python<'py>,
    text: &str,
    format: &str,
    base: PathBuf,
    start: u64,
    end: u64,
    file: &str,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let sweep = py
        .detach(|| load(text, format, &base, file))
        .map_err(|e| sweep_err(py, &e))?;
    let mut failed: Option<SweepError> = None;
    let table = detached(py, progress.as_ref(), |reporter| {
        in_pool(threads, || {
            sweep.compute(start..end, reporter).map_err(|e| match e {
                SweepError::Model(m) => m,
                other => {
                    let message = other.to_string();
                    failed = Some(other);
                    crnkit_core::Error::Numerical {
                        what: "sweep",
                        reason: message,
                    }
                }
            })
        })
    });
    let table = match (table, failed) {
        (_, Some(e)) => return Err(sweep_err(py, &e)),
        (t, None) => t?,
    };
    let d = dict(py);
    let rows = table.rows();
    let names = table.layout().names().to_vec();
    for (name, column) in names.iter().zip(table.into_columns()) {
        let a = match column {
            Column::U64(v) => array(py, v, &[rows])?,
            Column::F64(v) => array(py, v, &[rows])?,
        };
        d.set_item(name, a)?;
    }
    Ok(d)
}
