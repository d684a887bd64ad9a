//! Stochastic chemical reaction networks that learn: write a network, analyse its structure
//! and thermodynamics, simulate it exactly, solve its chemical master equation, measure what
//! it costs, let it learn a target distribution, and query a trained surrogate.
//!
//! This crate is the facade of a workspace in layers; each module re-exports a layer:
//!
//! | module | what | crate |
//! |---|---|---|
//! | [`network`], [`rng`], [`grid`], [`fs`], [`progress`], [`models`] | networks (the `.crn` language, specs, builder, analysis, compiled form, events), random streams, time grids, atomic writes, progress reports, bundled models | `crnkit-core` |
//! | [`error`] | one error type per layer and their union [`Error`] (`ModelError`, `SurrogateError`) | `crnkit-core`, `crnkit-surrogate` |
//! | [`ssa`], [`cme`], [`thermo`] | exact simulation, the chemical master equation, thermodynamics | `crnkit-sim` |
//! | `io` | any model file into a [`Network`] (`.crn`, JSON, TOML, BioNetGen, SBML), result files (`io::results`: CSV, JSON), the DSMTS runner | `crnkit-io` (feature `io`) |
//! | `learn` | chemical learning (`learn::learn` with `LearnSettings`: every method, no files), and `learn::job` (TOML jobs) | `crnkit-learn` (feature `learn`) |
//! | `surrogate` | neural distillation, queries, inference, and `surrogate::config` | `crnkit-surrogate` (feature `surrogate`) |
//! | `sweep` | parameter sweeps in shards (TOML descriptions, Parquet shards, merge) | `crnkit-sweep` (feature `sweep`) |
//! | `plot`, [`bars`] | figures (PNG, SVG) and terminal progress bars | this crate |
//!
//! The [`prelude`] holds the entry points. A program that only simulates can depend on
//! `crnkit-sim` alone (no candle, plotters, argmin, clap or indicatif).
//!
//! ```
//! use crnkit::prelude::*;
//!
//! let net = Network::from_crn_str("species: A = 10, B = 0\nA <-> B @ 1, 2", "ab.crn")?;
//! assert!(net.analyze()?.detailed_balance.balanced);
//! let cfg = EnsembleConfig { until: 3.0, every: 1.0, runs: 500, seed: 1, ..Default::default() };
//! let result = cfg.run(&net)?;
//! // E[A] relaxes from 10 towards 10 · 2/3.
//! assert!(result.mean_of("A", 3)? < 10.0);
//! # Ok::<(), crnkit::Error>(())
//! ```
//!
//! The guides (model language, simulation, CME, thermodynamics, learning, surrogate, SBML,
//! architecture, benchmarks) are in the repository's `docs/` folder.
#![warn(missing_docs)]

pub use crnkit_core::{fs, grid, models, network, progress, rng};
pub use crnkit_sim::{cme, ssa, thermo};

/// Model files: any supported format into a [`Network`], SBML and BioNetGen import, result
/// files (CSV, JSON), the DSMTS suite runner (the `crnkit-io` crate).
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

/// Parameter sweeps in shards with identical results, as Parquet files, and their merge
/// (the `crnkit-sweep` crate; `crnkit sweep` and `crnkit merge` on the command line).
#[cfg(feature = "sweep")]
pub mod sweep {
    pub use crnkit_sweep::*;
}

pub mod bars;
pub mod error;
#[cfg(feature = "plot")]
pub mod plot;

pub use error::{Error, Location, Result};
pub use network::{CompiledNetwork, Network, NetworkBuilder, ThermodynamicBuilder};

/// The entry points a newcomer needs in one import: networks, ensembles, CME solves,
/// thermodynamics, series read by name, model files and result files, and learning
/// (`learn` with `LearnSettings`, the generative model, environment and learning curve).
///
/// The prelude brings crnkit's `Result<T>` (error type [`Error`]), which
/// shadows the standard two-parameter `Result`: a program's `main` is
/// `fn main() -> Result<()>` (or `-> Result<(), crnkit::Error>` without the prelude), and
/// prints the error's message, with the caret view for a file error, when it fails.
///
/// ```no_run
/// use crnkit::prelude::*;
///
/// fn main() -> Result<()> {
///     let net = crnkit::models::bundled("vilar")?; // names: crnkit::models::BUNDLED
///     let mut cfg = EnsembleConfig::default();
///     (cfg.until, cfg.runs) = (50.0, 100);
///     println!("{:?}", cfg.run(&net)?.means_of("R")?);
///     Ok(())
/// }
/// ```
///
/// ```
/// use crnkit::prelude::*;
///
/// let net = Network::from_crn_str("species: A = 10, B = 0\nflip: A <-> B @ 1, 2", "ab.crn")?;
/// let ssa = EnsembleConfig { until: 2.0, runs: 100, method: Method::Direct, ..Default::default() }.run(&net)?;
/// let cme = solve_transient(&net, &TimeGrid::new(2.0, 1.0)?, &FspOptions::default())?;
/// let th = thermo(&net, &ThermoConfig { until: 2.0, ..Default::default() })?;
/// assert!((ssa.mean_of("A", 2)? - cme.mean_of("A", 2)?).abs() < 1.0);
/// assert_eq!(th.reactions(), ["flip"]);
/// assert!(cme.to_csv().starts_with("time,A-mean,A-sd,B-mean,B-sd,fsp_error,states\n"));
/// # Ok::<(), crnkit::Error>(())
/// ```
pub mod prelude {
    pub use crate::cme::{
        FspOptions, solve_transient, solve_transient_from, solve_transient_with, stationary,
    };
    pub use crate::error::{Error, ModelError, Result};
    pub use crate::grid::{Series, TimeGrid};
    #[cfg(feature = "io")]
    pub use crate::io::read_network;
    #[cfg(feature = "io")]
    pub use crate::io::results::{
        ToCsv, ToJson, write_histograms_csv, write_json, write_trajectories_csv,
    };
    #[cfg(feature = "learn")]
    pub use crate::learn::{
        ChannelKind, EntropyAccounts, Environment, GenerativeModel, LearnMethod, LearnOutcome,
        LearnSettings, LearningCurve, LimitMode, RunConfig, Target, learn,
    };
    pub use crate::network::{
        Analysis, CompiledNetwork, Expr, Network, NetworkBuilder, ThermodynamicBuilder,
    };
    pub use crate::rng::{Rng, stream};
    pub use crate::ssa::{EnsembleConfig, EnsembleResult, Method};
    pub use crate::thermo::{Thermo, ThermoConfig, ThermoMethod, thermo};
    pub use crnkit_sim::AsCompiled;
}

/// The "In Rust" sections of the guides in `docs/` run as doctests.
#[cfg(all(doctest, feature = "io", feature = "learn", feature = "surrogate"))]
mod guides {
    #[doc = include_str!("../README.md")]
    mod readme {}
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
    #[doc = include_str!("../docs/sbml.md")]
    mod sbml {}
    #[doc = include_str!("../docs/surrogate.md")]
    mod surrogate {}
    #[cfg(feature = "sweep")]
    #[doc = include_str!("../docs/sweeps.md")]
    mod sweeps {}
    #[doc = include_str!("../docs/testing.md")]
    mod testing {}
    #[doc = include_str!("../docs/benchmarks.md")]
    mod benchmarks {}
}
