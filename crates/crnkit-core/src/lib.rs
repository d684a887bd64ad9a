//! The foundation of crnkit: chemical reaction networks as data.
//!
//! A [`Network`] holds species, parameters, reactions (mass action or general propensity
//! laws), observables and events; it is read from the `.crn` language, JSON or TOML
//! ([`network::NetworkSpec`]) or built in Rust ([`NetworkBuilder`]), validated once by
//! [`network::NetworkSpec::build`] with located errors, analysed (conservation laws,
//! deficiency, detailed balance) and compiled into flat arrays ([`CompiledNetwork`]) for the
//! solvers of `crnkit-sim`. Also here: the error type, the random streams that make
//! ensembles reproducible on any thread count, atomic writes and progress reports.
//!
//! ```
//! use crnkit_core::Network;
//!
//! let net = Network::from_crn_str("species: A = 10, B = 0\nA <-> B @ 1, 2", "ab.crn")?;
//! let analysis = net.analyze()?;
//! assert!(analysis.detailed_balance.balanced);
//! assert_eq!(analysis.conservation.laws, vec![vec![1, 1]]);
//! # Ok::<(), crnkit_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod checkpoint;
pub mod error;
pub mod fs;
pub mod grid;
pub mod models;
pub mod network;
pub mod progress;
pub mod rng;

pub use error::{Error, Location, Result};
pub use network::{CompiledNetwork, Network, NetworkBuilder, ThermodynamicBuilder};
