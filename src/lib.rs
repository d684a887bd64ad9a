#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod cme;
pub mod error;
pub mod io;
pub mod learn;
pub mod models;
pub mod network;
pub mod plot;
pub mod rng;
pub mod ssa;
pub mod surrogate;
pub mod thermo;

pub use error::{Error, Location, Result};
pub use network::{CompiledNetwork, Network, NetworkBuilder, ThermodynamicBuilder};

/// The most used items in one import.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::network::{
        Analysis, CompiledNetwork, Expr, Network, NetworkBuilder, ThermodynamicBuilder,
    };
    pub use crate::rng::{Rng, stream};
}
