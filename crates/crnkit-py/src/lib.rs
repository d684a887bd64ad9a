//! The native module of the `crnkit` Python package (`crnkit._lib`), built by maturin.
//!
//! It binds the layer crates directly (networks from `crnkit-core`, files from `crnkit-io`,
//! the solvers of `crnkit-sim`, learning jobs of `crnkit-learn`, the neural surrogate of
//! `crnkit-surrogate`) and returns plain data: numpy arrays filled from Rust vectors
//! without per-element Python objects, in dictionaries that the pure-Python layer
//! (`python/crnkit/`) turns into `xarray.Dataset`s. Long calls run on a worker thread with
//! the GIL released; the calling thread waits in short slices, checks for signals
//! (Ctrl-C → `KeyboardInterrupt`) and forwards progress to an optional callback
//! ([`run`]). Errors become the exception classes of `crnkit.errors` ([`errors`]).
#![warn(missing_docs)]

use pyo3::prelude::*;

mod arrays;
pub mod errors;
mod learning;
mod network;
pub mod run;
mod solvers;
mod surrogate;
mod sweep;

/// The module `crnkit._lib`.
#[pymodule]
fn _lib(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<network::Network>()?;
    m.add_function(wrap_pyfunction!(solvers::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::solve, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::ode, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::thermo, m)?)?;
    m.add_function(wrap_pyfunction!(learning::learn, m)?)?;
    m.add_class::<surrogate::Surrogate>()?;
    m.add_function(wrap_pyfunction!(surrogate::distill, m)?)?;
    m.add_function(wrap_pyfunction!(surrogate::builtin_surrogates, m)?)?;
    m.add_function(wrap_pyfunction!(surrogate::infer, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep_info, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep_rows, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
