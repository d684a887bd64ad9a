//! Errors: one type per layer, and their union [`Error`].
//!
//! * [`ModelError`] (`crnkit_core::Error`): networks, the `.crn` language and the other model
//!   files (with `file:line:col` and a caret, see [`ModelError::Parse`]), simulation, the
//!   CME, thermodynamics, result files, checkpoints and learning.
//! * `SurrogateError` (`crnkit_surrogate::Error`, feature `surrogate`): neural distillation,
//!   queries and inference; candle's errors stay its sources, and an error of the layers
//!   below it is a [`ModelError`] inside it.
//! * `SweepError` (`crnkit_sweep::Error`, feature `sweep`): sweep descriptions, a point that
//!   failed (with its index), and shard files that are missing, duplicated, foreign or
//!   damaged; Parquet's errors stay its sources.
//! * [`Error`]: any of them, for code that uses several layers (`?` converts each), with
//!   [`Error::kind`] and [`Error::location`] looking through to the model error.
//!
//! Every `Debug` prints the same text as `Display`, so `fn main() -> Result<(), Error>`
//! shows a readable message.
//!
//! ```
//! use crnkit::error::{Error, ModelError};
//!
//! let e: Error = crnkit::Network::from_crn_str("A -> B @ 1\nA -> C @ k", "x.crn").unwrap_err().into();
//! assert!(matches!(e.kind(), Some(ModelError::UnknownParameter { .. })));
//! assert_eq!(e.location().map(|l| l.line), Some(2));
//! ```

use std::fmt;

/// The error of the model layers (core, sim, io, learn): `crnkit_core::Error`.
pub use crnkit_core::error::Error as ModelError;
pub use crnkit_core::error::Location;
/// The surrogate's error: `crnkit_surrogate::Error`.
#[cfg(feature = "surrogate")]
pub use crnkit_surrogate::Error as SurrogateError;
/// The sweep layer's error: `crnkit_sweep::Error`.
#[cfg(feature = "sweep")]
pub use crnkit_sweep::Error as SweepError;

/// `Result` with the union [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// `Result` with [`ModelError`] (`crnkit_core::Result`).
pub type ModelResult<T> = std::result::Result<T, ModelError>;

/// Any error crnkit reports: a model-layer, surrogate or sweep error.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Networks, model files, simulation, the CME, result files, checkpoints, learning.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Neural distillation, queries and inference (its lower-layer errors become
    /// [`Error::Model`]). Boxed: candle's error, kept whole as the source, is large.
    #[cfg(feature = "surrogate")]
    #[error(transparent)]
    Surrogate(Box<SurrogateError>),
    /// Sweep descriptions, shards and their merge (a model error inside a sweep becomes
    /// [`Error::Model`]; a failed point stays here, with its index).
    #[cfg(feature = "sweep")]
    #[error(transparent)]
    Sweep(Box<SweepError>),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "surrogate")]
impl From<SurrogateError> for Error {
    /// A surrogate error; one that came from a lower layer becomes [`Error::Model`].
    fn from(e: SurrogateError) -> Self {
        match e {
            SurrogateError::Model(m) => Error::Model(m),
            other => Error::Surrogate(Box::new(other)),
        }
    }
}

#[cfg(feature = "sweep")]
impl From<SweepError> for Error {
    /// A sweep error; one that came from a lower layer becomes [`Error::Model`].
    fn from(e: SweepError) -> Self {
        match e {
            SweepError::Model(m) => Error::Model(m),
            other => Error::Sweep(Box::new(other)),
        }
    }
}

impl Error {
    /// The innermost model error ([`ModelError::kind`]: what went wrong, without the file
    /// position), or `None` for an error of the surrogate's own.
    pub fn kind(&self) -> Option<&ModelError> {
        match self {
            Error::Model(e) => Some(e.kind()),
            #[cfg(feature = "surrogate")]
            Error::Surrogate(e) => e.model().map(ModelError::kind),
            #[cfg(feature = "sweep")]
            Error::Sweep(e) => e.model().map(ModelError::kind),
        }
    }

    /// The surrogate's error, if this is one.
    #[cfg(feature = "surrogate")]
    pub fn surrogate(&self) -> Option<&SurrogateError> {
        match self {
            Error::Surrogate(e) => Some(&**e),
            _ => None,
        }
    }

    /// Where the error was found, for errors that come from a model file.
    pub fn location(&self) -> Option<Location> {
        match self {
            Error::Model(e) => e.location(),
            #[cfg(feature = "surrogate")]
            Error::Surrogate(e) => e.model().and_then(ModelError::location),
            #[cfg(feature = "sweep")]
            Error::Sweep(e) => e.model().and_then(ModelError::location),
        }
    }

    /// The sweep layer's error, if this is one.
    #[cfg(feature = "sweep")]
    pub fn sweep(&self) -> Option<&SweepError> {
        match self {
            Error::Sweep(e) => Some(&**e),
            _ => None,
        }
    }
}
