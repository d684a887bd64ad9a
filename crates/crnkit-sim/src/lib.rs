//! The solvers of crnkit: exact stochastic simulation ([`ssa`]), the chemical master
//! equation ([`cme`]) and thermodynamics ([`thermo`]) of a `crnkit_core::Network`.
//!
//! ```
//! use crnkit_core::Network;
//! use crnkit_sim::ssa::{EnsembleConfig, Method};
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
