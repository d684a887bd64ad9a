//! numpy arrays from Rust vectors (moved, not copied element by element), and the
//! dictionaries the Python layer reads.

use numpy::ndarray::{Array, IxDyn};
use numpy::{Element, IntoPyArray};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A numpy array of `shape` holding `data` (row-major).
pub fn array<'py, T: Element>(
    py: Python<'py>,
    data: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let a = Array::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| PyValueError::new_err(format!("array shape {shape:?}: {e}")))?;
    Ok(a.into_pyarray(py).into_any())
}

/// Rows of equal length, flattened.
pub fn flatten<T: Copy>(rows: &[Vec<T>]) -> Vec<T> {
    rows.iter().flat_map(|r| r.iter().copied()).collect()
}

/// Ragged rows (per time and species: a marginal) padded with zeros to the longest.
pub fn pad<T: Copy + Default>(rows: &[&[T]]) -> (Vec<T>, usize) {
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let mut out = vec![T::default(); rows.len() * width];
    for (k, r) in rows.iter().enumerate() {
        out[k * width..k * width + r.len()].copy_from_slice(r);
    }
    (out, width)
}

/// A dictionary to fill.
pub fn dict(py: Python<'_>) -> Bound<'_, PyDict> {
    PyDict::new(py)
}
