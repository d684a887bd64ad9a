//! The solvers of crnkit: exact stochastic simulation ([`ssa`]), the chemical master
//! equation ([`cme`]) and thermodynamics ([`thermo`]) of a `crnkit_core::Network`.
//!
//! ```
//! use crnkit_core::Network;
//! use crnkit_sim::prelude::*;
//!
//! let net = Network::from_crn_str("species: X = 0\n0 -> X @ 5\nX -> 0 @ 1", "imm.crn")?;
//! let cfg = EnsembleConfig { until: 10.0, every: 1.0, runs: 2000, seed: 7, method: Method::Direct, ..Default::default() };
//! let result = cfg.run(&net)?;
//! // Poisson with mean 5 (1 - e^{-t}); at t = 10 the mean is 5 within a few standard errors.
//! let mean = result.mean(10, 0);
//! assert!((mean - 5.0).abs() < 5.0 * (5.0f64 / 2000.0).sqrt());
//! # Ok::<(), crnkit_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod cme;
pub mod ssa;
pub mod thermo;

use std::borrow::Cow;

use crnkit_core::network::{CompiledNetwork, Network};

/// What the solvers' entry points take: a [`Network`] (compiled on the call) or a
/// [`CompiledNetwork`] compiled beforehand (to compile once for many solves).
///
/// [`ssa::EnsembleConfig::run`], [`cme::solve_transient`], [`cme::solve_transient_with`],
/// [`cme::solve_transient_from`] and [`cme::stationary`] accept either; `thermo::thermo`
/// takes a [`Network`], whose description it needs (reaction names, the heat/work split).
///
/// ```
/// use crnkit_core::Network;
/// use crnkit_sim::cme::{FspOptions, stationary};
///
/// let net = Network::from_crn_str("species: A = 4, B = 0\nA <-> B @ 1, 1", "ab.crn")?;
/// let a = stationary(&net, &FspOptions::default())?;
/// let b = stationary(&net.compile(), &FspOptions::default())?;
/// assert_eq!(a.distribution.probabilities(), b.distribution.probabilities());
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub trait AsCompiled {
    /// The compiled form (borrowed when `self` is one already).
    fn as_compiled(&self) -> Cow<'_, CompiledNetwork>;
}

impl AsCompiled for Network {
    fn as_compiled(&self) -> Cow<'_, CompiledNetwork> {
        Cow::Owned(self.compile())
    }
}

impl AsCompiled for CompiledNetwork {
    fn as_compiled(&self) -> Cow<'_, CompiledNetwork> {
        Cow::Borrowed(self)
    }
}

/// The entry points in one import: ensembles, CME solves, thermodynamics, time grids and
/// series read by name.
pub mod prelude {
    pub use crate::AsCompiled;
    pub use crate::cme::{FspOptions, solve_transient, solve_transient_with, stationary};
    pub use crate::ssa::{EnsembleConfig, EnsembleResult, Method};
    pub use crate::thermo::{Thermo, ThermoConfig, ThermoMethod, thermo};
    pub use crnkit_core::grid::{Series, TimeGrid};
}
