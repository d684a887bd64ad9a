//! Library errors as Python exceptions.
//!
//! The classes live in the pure-Python module `crnkit.errors` (so that they can inherit
//! from `ValueError` or `OSError` as well as from `CrnkitError`); this module picks the
//! class of each [`Error`] kind, builds the exception with the library's message (the
//! text the command line prints after `error: `, without its flag hints) and sets its
//! attributes: `kind` (the error kind in snake case, e.g. `"unknown_species"`) and, for
//! errors located in a model file, `file`, `line` and `col`. Surrogate errors
//! (`crnkit_surrogate::Error`) map the same way ([`surrogate_to_py`]).

use crnkit_core::Error;
use crnkit_surrogate::Error as SurrogateError;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// The module `crnkit.errors`, imported once.
static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception class (in `crnkit.errors`) and the kind name of an error.
pub fn classify(e: &Error) -> (&'static str, &'static str) {
    match e {
        Error::Parse { .. } | Error::Json { .. } | Error::Toml { .. } => {
            ("ParseError", kind_name(e.kind()))
        }
        Error::InFile { source, .. } => classify(source),
        _ => (class_of(e), kind_name(e)),
    }
}

/// The class of an error that is not located in a file.
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::Syntax { .. } | Error::TooDeep { .. } => "ParseError",
        Error::TooManyStates { .. } | Error::WorkLimit { .. } => "StateSpaceError",
        Error::InvalidSetting { .. } | Error::IndexOutOfRange { .. } => "SettingError",
        Error::Io { .. } | Error::Locked { .. } => "FileError",
        Error::Unsupported { .. } | Error::UnknownFormat { .. } | Error::Irreversible { .. } => {
            "UnsupportedError"
        }
        Error::CountOutOfRange { .. }
        | Error::PropensityOverflow { .. }
        | Error::InvalidPropensity { .. }
        | Error::Overflow(_) => "SimulationError",
        Error::Numerical { .. } => "NumericalError",
        Error::Cancelled => "CancelledError",
        Error::UnknownSpecies { .. }
        | Error::UnknownParameter { .. }
        | Error::DuplicateName { .. }
        | Error::InvalidName { .. }
        | Error::InvalidRate { .. }
        | Error::InvalidParameter { .. }
        | Error::NonIntegerStoichiometry { .. }
        | Error::InvalidCount { .. }
        | Error::InvalidVolume { .. }
        | Error::RateCount { .. }
        | Error::EmptyReaction { .. }
        | Error::EmptyNetwork
        | Error::Expression(_)
        | Error::InvalidEvent { .. } => "ModelError",
        _ => "CrnkitError",
    }
}

/// The kind of an error in snake case.
fn kind_name(e: &Error) -> &'static str {
    match e {
        Error::Parse { .. } => "parse",
        Error::Syntax { .. } => "syntax",
        Error::TooDeep { .. } => "too_deep",
        Error::UnknownSpecies { .. } => "unknown_species",
        Error::UnknownParameter { .. } => "unknown_parameter",
        Error::DuplicateName { .. } => "duplicate_name",
        Error::InvalidName { .. } => "invalid_name",
        Error::InvalidRate { .. } => "invalid_rate",
        Error::InvalidParameter { .. } => "invalid_parameter",
        Error::NonIntegerStoichiometry { .. } => "non_integer_stoichiometry",
        Error::InvalidCount { .. } => "invalid_count",
        Error::InvalidVolume { .. } => "invalid_volume",
        Error::RateCount { .. } => "rate_count",
        Error::EmptyReaction { .. } => "empty_reaction",
        Error::EmptyNetwork => "empty_network",
        Error::Expression(_) => "expression",
        Error::Overflow(_) => "overflow",
        Error::CountOutOfRange { .. } => "count_out_of_range",
        Error::PropensityOverflow { .. } => "propensity_overflow",
        Error::InvalidPropensity { .. } => "invalid_propensity",
        Error::InvalidEvent { .. } => "invalid_event",
        Error::InvalidSetting { .. } => "invalid_setting",
        Error::TooManyStates { .. } => "too_many_states",
        Error::WorkLimit { .. } => "work_limit",
        Error::Numerical { .. } => "numerical",
        Error::Irreversible { .. } => "irreversible",
        Error::Unsupported { .. } => "unsupported",
        Error::IndexOutOfRange { .. } => "index_out_of_range",
        Error::Io { .. } => "io",
        Error::Locked { .. } => "locked",
        Error::Json { .. } => "json",
        Error::Toml { .. } => "toml",
        Error::UnknownFormat { .. } => "unknown_format",
        Error::Cancelled => "cancelled",
        _ => "other",
    }
}

/// The Python exception for a library error.
pub fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    if matches!(e, Error::Cancelled) {
        return PyKeyboardInterrupt::new_err("cancelled");
    }
    let (class, kind) = classify(e);
    let message = e.to_string();
    match build(py, class, kind, &message, e) {
        Ok(err) => err,
        Err(import_failed) => {
            let err = PyRuntimeError::new_err(message);
            err.set_cause(py, Some(import_failed));
            err
        }
    }
}

/// `crnkit.errors.<class>(message)` with its `kind`, for the errors of a layer above
/// core (sweeps) that carry no location.
pub fn exception(py: Python<'_>, class: &str, kind: &str, message: &str) -> PyErr {
    instantiate(py, class, kind, message)
        .map(PyErr::from_value)
        .unwrap_or_else(|import_failed| {
            let err = PyRuntimeError::new_err(message.to_string());
            err.set_cause(py, Some(import_failed));
            err
        })
}

/// Instantiate `crnkit.errors.<class>(message)` and set its `kind`.
fn instantiate<'py>(
    py: Python<'py>,
    class: &str,
    kind: &str,
    message: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let module = ERRORS.get_or_try_init(py, || py.import("crnkit.errors").map(|m| m.unbind()))?;
    let exc = module.bind(py).getattr(class)?.call1((message,))?;
    exc.setattr("kind", kind)?;
    Ok(exc)
}

/// Instantiate `crnkit.errors.<class>(message)` and set its attributes.
fn build(py: Python<'_>, class: &str, kind: &str, message: &str, e: &Error) -> PyResult<PyErr> {
    let exc = instantiate(py, class, kind, message)?;
    if let Some(at) = e.location() {
        exc.setattr("file", at.file)?;
        exc.setattr("line", at.line)?;
        exc.setattr("col", at.col)?;
    } else if let Error::Toml { file, .. } = e {
        exc.setattr("file", file)?;
    }
    if let Error::Io { path, .. }
    | Error::Locked { path, .. }
    | Error::UnknownFormat { path }
    | Error::InFile { file: path, .. } = e
    {
        exc.setattr("filename", path)?;
    }
    Ok(PyErr::from_value(exc))
}

/// `Result` of the library into `PyResult`.
pub trait IntoPy<T> {
    /// The library error as its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for crnkit_core::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e))
    }
}

/// The class (in `crnkit.errors`), kind name and file of a surrogate error of the
/// surrogate's own (not [`SurrogateError::Model`]).
fn classify_surrogate(e: &SurrogateError) -> (&'static str, &'static str, Option<&str>) {
    match e {
        SurrogateError::Weights { path, .. } => ("FileError", "weights", Some(path)),
        SurrogateError::CardFile { path, .. } => ("FileError", "card_file", Some(path)),
        SurrogateError::Card { .. } => ("SurrogateError", "card", None),
        SurrogateError::UnknownBuiltin { .. } => ("SurrogateError", "unknown_builtin", None),
        SurrogateError::MissingWeight { .. } => ("SurrogateError", "missing_weight", None),
        SurrogateError::Candle { .. } => ("SurrogateError", "candle", None),
        SurrogateError::Poisoned => ("SurrogateError", "poisoned", None),
        SurrogateError::Failed { .. } => ("SurrogateError", "failed", None),
        SurrogateError::InvalidModel { .. } => ("SettingError", "invalid_model", None),
        SurrogateError::InvalidSetting { .. } => ("SettingError", "invalid_setting", None),
        SurrogateError::InvalidQuery { .. } => ("QueryError", "invalid_query", None),
        SurrogateError::Shape { .. } => ("QueryError", "shape", None),
        SurrogateError::Data { .. } => ("QueryError", "data", None),
        SurrogateError::OutsideDomain { .. } => ("DomainError", "outside_domain", None),
        SurrogateError::TooManyStates { .. } => ("StateSpaceError", "too_many_states", None),
        _ => ("SurrogateError", "other", None),
    }
}

/// The Python exception for a surrogate error: a lower layer's error as [`to_py`] maps
/// it, the surrogate's own by their variant (weights and card files are
/// `FileError`s with `filename`).
pub fn surrogate_to_py(py: Python<'_>, e: &SurrogateError) -> PyErr {
    if let SurrogateError::Model(inner) = e {
        return to_py(py, inner);
    }
    let (class, kind, file) = classify_surrogate(e);
    let message = e.to_string();
    let built = instantiate(py, class, kind, &message).and_then(|exc| {
        if let Some(path) = file {
            exc.setattr("filename", path)?;
        }
        Ok(PyErr::from_value(exc))
    });
    built.unwrap_or_else(|import_failed| {
        let err = PyRuntimeError::new_err(message);
        err.set_cause(py, Some(import_failed));
        err
    })
}

/// `Result` of the surrogate into `PyResult` (a trait of its own, so that `py_err` on a
/// result whose error type is inferred stays unambiguous).
pub trait SurrogateIntoPy<T> {
    /// The surrogate error as its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> SurrogateIntoPy<T> for crnkit_surrogate::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| surrogate_to_py(py, &e))
    }
}
