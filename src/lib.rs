#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use crnkit_core::{error, fs, grid, models, network, progress, rng};
pub use crnkit_sim::{cme, ssa, thermo};

/// Model files: any supported format into a [`Network`], SBML and BioNetGen import, the
/// DSMTS suite runner (the `crnkit-io` crate).
#[cfg(feature = "io")]
pub mod io {
    pub use crnkit_io::*;
}

/// Chemical learning (the `crnkit-learn` crate), and [`job`](crate::learn::job): learning
/// jobs described in TOML.
#[cfg(feature = "learn")]
pub mod learn {
    pub use crnkit_learn::*;
    #[cfg(feature = "plot")]
    pub mod job;
}

/// Neural distillation (the `crnkit-surrogate` crate), and [`config`](crate::surrogate::config):
/// distillation runs described in TOML.
#[cfg(feature = "surrogate")]
pub mod surrogate {
    pub use crnkit_surrogate::*;
    pub mod config;
}

pub mod bars;
#[cfg(feature = "plot")]
pub mod plot;

pub use error::{Error, Location, Result};
pub use network::{CompiledNetwork, Network, NetworkBuilder, ThermodynamicBuilder};

/// The most used items in one import.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::grid::{Series, TimeGrid};
    #[cfg(feature = "io")]
    pub use crate::io::read_network;
    pub use crate::network::{
        Analysis, CompiledNetwork, Expr, Network, NetworkBuilder, ThermodynamicBuilder,
    };
    pub use crate::rng::{Rng, stream};
}

/// The "In Rust" sections of the guides in `docs/` run as doctests.
#[cfg(all(doctest, feature = "learn"))]
mod guides {
    #[doc = include_str!("../docs/analysis.md")]
    mod analysis {}
    #[doc = include_str!("../docs/model-language.md")]
    mod model_language {}
    #[doc = include_str!("../docs/simulation.md")]
    mod simulation {}
    #[doc = include_str!("../docs/cme.md")]
    mod cme {}
    #[doc = include_str!("../docs/thermodynamics.md")]
    mod thermodynamics {}
    #[doc = include_str!("../docs/learning.md")]
    mod learning {}
}
