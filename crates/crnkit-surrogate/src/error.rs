//! The surrogate's error type.
//!
//! Every fallible function of this crate returns [`Result<T>`]. Failures of the layers below
//! (the network, the CME and SSA teachers, files, checkpoints) arrive unchanged as
//! [`Error::Model`]; candle's failures keep candle's error as their
//! [`source`](std::error::Error::source), with the step that failed in the message. Messages
//! name the library's settings (`dt`, `runs`, `samples`), never a command-line option.

use std::fmt;

/// `Result` with the surrogate's [`Error`] as the error type.
pub type Result<T> = std::result::Result<T, Error>;

/// Every error the surrogate reports.
/// `Debug` shows the same text as `Display`, so `fn main() -> Result<(), Error>` prints a
/// readable message.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of a lower layer: the network, a CME or SSA solve, a file, a checkpoint.
    #[error(transparent)]
    Model(#[from] crnkit_core::Error),
    /// A tensor operation failed in candle; `what` names the step.
    #[error("surrogate: {what}: {source}")]
    Candle {
        /// The step that failed, e.g. `forward pass`.
        what: String,
        /// candle's error.
        #[source]
        source: candle_core::Error,
    },
    /// A weights file (safetensors) cannot be written or read, or does not fit the
    /// architecture.
    #[error("surrogate: {path}: {reason}")]
    Weights {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
        /// candle's error, when candle failed to write or parse the file.
        #[source]
        source: Option<candle_core::Error>,
    },
    /// A weight that the architecture needs is not in the model's weight map.
    #[error("surrogate: missing weight `{name}`")]
    MissingWeight {
        /// The weight's name, e.g. `s0.l0.weight`.
        name: String,
    },
    /// The model's weight map is unusable: a thread panicked while holding it.
    #[error("surrogate: weight map lock poisoned")]
    Poisoned,
    /// A model card (`card.json`) cannot be parsed or written.
    #[error("surrogate: {path}: invalid model card: {source}")]
    CardFile {
        /// The card's file (or `<memory>` when serialising).
        path: String,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// No surrogate of this name ships with crnkit.
    #[error("surrogate: no built-in surrogate `{name}`; built in: {known}")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names shipped, comma-separated.
        known: String,
    },
    /// A model card is inconsistent: another format, a network that does not parse, species,
    /// caps or prompt length that disagree.
    #[error("surrogate: {reason}")]
    Card {
        /// What disagrees.
        reason: String,
    },
    /// A parameter box, an initial-state box, a time range or an architecture cannot define
    /// a model (empty, repeated names, ranges with lo ≥ hi, lengths that disagree).
    #[error("surrogate: {reason}")]
    InvalidModel {
        /// What is wrong.
        reason: String,
    },
    /// A setting is out of range.
    #[error("surrogate: invalid setting {name} = {value}: {reason}")]
    InvalidSetting {
        /// The setting, by its name in the library's configuration (e.g. `dt`, `samples`).
        name: &'static str,
        /// The value given.
        value: String,
        /// What is required.
        reason: String,
    },
    /// A query does not fit the surrogate: a parameter, species or count it does not know,
    /// a count above its cap, a value that is not a number, a time that is not finite.
    #[error("surrogate: {reason}")]
    InvalidQuery {
        /// What is wrong with the query.
        reason: String,
    },
    /// Slices or tensors of the wrong length or shape were passed to the model.
    #[error("surrogate: {what}: expected {expected}, found {found}")]
    Shape {
        /// The argument, e.g. `prompt`.
        what: String,
        /// The length or shape required.
        expected: String,
        /// The length or shape given.
        found: String,
    },
    /// Enumerating the box of caps would take too many states.
    #[error("surrogate: enumerating {size} states exceeds the limit of {limit}; sample instead")]
    TooManyStates {
        /// States on the box of caps.
        size: usize,
        /// The limit ([`MAX_ENUMERATED_STATES`](crate::MAX_ENUMERATED_STATES)).
        limit: usize,
    },
    /// A query, data set or trajectory lies outside the surrogate's trained domain where
    /// that was not allowed (strict trajectories, inference data).
    #[error("surrogate: {reason}")]
    OutsideDomain {
        /// What lies outside, and where.
        reason: String,
    },
    /// Observed or teacher data are malformed or do not fit the model (species, counts,
    /// times).
    #[error("surrogate: {reason}")]
    Data {
        /// What is wrong with the data.
        reason: String,
    },
    /// Training or inference cannot go on (no training pairs, divergence, a likelihood that
    /// is not finite).
    #[error("surrogate: {reason}")]
    Failed {
        /// Why it stopped.
        reason: String,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// The error of a lower layer, if this is one ([`Error::Model`]).
    pub fn model(&self) -> Option<&crnkit_core::Error> {
        match self {
            Error::Model(e) => Some(e),
            _ => None,
        }
    }
}

/// Turns candle's errors into [`Error::Candle`] with the step `what`: `.map_err(candle("…"))`.
pub(crate) fn candle(what: &'static str) -> impl Fn(candle_core::Error) -> Error {
    move |source| Error::Candle {
        what: what.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, Architecture, Model};
    use candle_core::{Device, Tensor};
    use std::error::Error as _;

    #[test]
    fn a_shape_error_keeps_candles_error_as_its_source() {
        let a = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let e = a.matmul(&b).map_err(candle("forward pass")).unwrap_err();
        assert!(matches!(e, Error::Candle { ref what, .. } if what == "forward pass"));
        let src = e.source().expect("a source");
        let c = src
            .downcast_ref::<candle_core::Error>()
            .expect("candle's error");
        assert!(c.to_string().contains("shape mismatch"), "{c}");
        assert!(
            e.to_string().starts_with("surrogate: forward pass: "),
            "{e}"
        );
        assert_eq!(format!("{e:?}"), e.to_string());
    }

    #[test]
    fn a_garbage_weights_file_names_the_file_and_keeps_candles_error() {
        let dir = std::env::temp_dir().join(format!("crnkit-err-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        std::fs::write(&path, b"not a safetensors file at all").unwrap();
        let arch = Architecture {
            prompt_dim: 3,
            caps: vec![4],
            hidden: 8,
            activation: Activation::Silu,
        };
        let mut model = Model::new(arch, 1).unwrap();
        let e = model.load_weights(&path).unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        match &e {
            Error::Weights { path: p, .. } => assert_eq!(p, &path.display().to_string()),
            other => panic!("expected a weights error, got {other}"),
        }
        assert!(
            e.to_string().contains("not a valid safetensors file"),
            "{e}"
        );
        let src = e.source().expect("a source");
        assert!(src.downcast_ref::<candle_core::Error>().is_some(), "{src}");
    }

    #[test]
    fn lower_layer_errors_pass_through_unchanged() {
        let core = crnkit_core::Error::EmptyNetwork;
        let text = core.to_string();
        let e: Error = core.into();
        assert_eq!(e.to_string(), text);
        assert!(matches!(e.model(), Some(crnkit_core::Error::EmptyNetwork)));
    }
}
