//! The sweep description: what a TOML sweep file holds, as serde types (a Python dict
//! deserialises into the same [`SweepSpec`]).
//!
//! ```toml
//! network = "../models/autoregulated_gene.crn"   # relative to this file, or "builtin:NAME"
//! seed = 1
//! replicates = 100
//! shard_size = 1000            # a hint: points per shard (`Sweep::suggested_shards`)
//!
//! [time]
//! until = 10
//! every = 1
//!
//! [points]
//! kind = "lhs"                 # grid | list | lhs | halton
//! n = 10000
//! parameters = [
//!   { name = "kp", lo = 5, hi = 50, scale = "log" },
//!   { name = "kdeg", lo = 0.5, hi = 2 },
//! ]
//!
//! [ssa]                        # SSA ensemble statistics (runs = replicates)
//! [cme]                        # CME transient means and sds
//! max_states = 100000
//! [ode]                        # the mass-action ODE
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole sweep: the network, the points, the initial states, what to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// A model file, relative to the sweep file's folder (any format `crnkit_io` reads),
    /// or `builtin:NAME` for a bundled model (`crnkit_core::models`). One of `network` and
    /// `crn` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The network as `.crn` text, inline (for a description built in a program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crn: Option<String>,
    /// The master seed: point p's replicate r draws from a stream that depends only on
    /// (seed, p, r).
    #[serde(default)]
    pub seed: u64,
    /// SSA runs per point (default 1).
    #[serde(default = "one")]
    pub replicates: u64,
    /// Points per shard, a hint for how many shards to run (changes no result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_size: Option<u64>,
    /// The output times.
    pub time: TimeSpec,
    /// The parameter points.
    pub points: PointsSpec,
    /// Initial counts by species name for every point (the model's own otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub initial: BTreeMap<String, u64>,
    /// A list of initial states crossed with the parameter points: each parameter point
    /// is run from each of them (on top of `initial`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_states: Vec<BTreeMap<String, u64>>,
    /// SSA ensemble statistics (mean and sd per species and time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssa: Option<SsaSpec>,
    /// CME transient means and sds (finite state projection), and the error bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cme: Option<CmeSpec>,
    /// The deterministic (mass-action ODE) limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ode: Option<OdeSpec>,
    /// Entropy production and free energy (every reaction needs a reverse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thermo: Option<ThermoSpec>,
    /// The largest output table (bytes of values, points × times × columns × 8) and the
    /// largest in-memory design accepted. Default 64 GiB. Changes no result.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
}

fn one() -> u64 {
    1
}

/// The default of [`SweepSpec::max_bytes`]: 64 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 30;

fn default_max_bytes() -> u64 {
    DEFAULT_MAX_BYTES
}

/// The time grid 0, every, 2·every, … up to `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    /// End time.
    pub until: f64,
    /// Output interval.
    pub every: f64,
}

/// How parameters vary over a sweep's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum PointsSpec {
    /// Every combination of the axes' values; the last parameter varies fastest.
    Grid {
        /// One axis per parameter: `values`, or `lo`, `hi`, `n` and `scale`.
        parameters: Vec<Axis>,
    },
    /// Explicit points: `values[p]` holds point p's value of each of `names`.
    List {
        /// The parameters, in the order of each point's values.
        names: Vec<String>,
        /// One row per point.
        values: Vec<Vec<f64>>,
    },
    /// A Latin hypercube of `n` points on the box (each parameter's range cut in n strata
    /// of equal width — in log space on a log scale — with exactly one point in each).
    Lhs {
        /// Number of points.
        n: u64,
        /// Seed of the design (default: the sweep's seed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        /// One range per parameter: `lo`, `hi`, `scale`.
        parameters: Vec<Axis>,
    },
    /// The first `n` points of the Halton sequence (bases 2, 3, 5, …; index 0, the
    /// corner, skipped) on the box: low discrepancy, deterministic.
    Halton {
        /// Number of points.
        n: u64,
        /// One range per parameter: `lo`, `hi`, `scale`.
        parameters: Vec<Axis>,
    },
}

/// One parameter's values: a list, or `n` values from `lo` to `hi` on a scale (grids), or
/// a range `lo`..`hi` on a scale (designs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// The parameter's name in the network.
    pub name: String,
    /// Explicit values (grids only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// Lower end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lo: Option<f64>,
    /// Upper end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi: Option<f64>,
    /// Number of values from `lo` to `hi`, both included (grids only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    /// Linear (default) or logarithmic spacing.
    #[serde(default)]
    pub scale: Scale,
}

/// Spacing of values on an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Equal differences.
    #[default]
    Linear,
    /// Equal ratios (lo > 0).
    Log,
}

/// SSA settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsaSpec {
    /// `auto` (default), `direct`, `next-reaction` or `rejection`.
    #[serde(default = "auto")]
    pub method: String,
}

fn auto() -> String {
    "auto".into()
}

/// CME settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmeSpec {
    /// L1 tolerance of the projection (default 1e-8).
    #[serde(default = "cme_tol")]
    pub tol: f64,
    /// Largest projection (default 10^6 states).
    #[serde(default = "cme_max_states")]
    pub max_states: usize,
}

fn cme_tol() -> f64 {
    1e-8
}

fn cme_max_states() -> usize {
    1_000_000
}

impl Default for CmeSpec {
    fn default() -> Self {
        CmeSpec {
            tol: cme_tol(),
            max_states: cme_max_states(),
        }
    }
}

/// ODE settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdeSpec {
    /// Relative tolerance (default 1e-8).
    #[serde(default = "ode_tol")]
    pub rtol: f64,
    /// Absolute tolerance (default 1e-8).
    #[serde(default = "ode_tol")]
    pub atol: f64,
}

fn ode_tol() -> f64 {
    1e-8
}

impl Default for OdeSpec {
    fn default() -> Self {
        OdeSpec {
            rtol: ode_tol(),
            atol: ode_tol(),
        }
    }
}

/// Entropy-production settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermoSpec {
    /// `cme` (default: exact σ, F from the CME) or `ode` (the deterministic limit).
    #[serde(default = "thermo_method")]
    pub method: String,
}

fn thermo_method() -> String {
    "cme".into()
}

impl Default for ThermoSpec {
    fn default() -> Self {
        ThermoSpec {
            method: thermo_method(),
        }
    }
}

impl SweepSpec {
    /// Parse a TOML sweep description; `file` names it in errors.
    ///
    /// ```
    /// use crnkit_sweep::SweepSpec;
    ///
    /// let spec = SweepSpec::from_toml_str(
    ///     r#"
    ///     network = "builtin:immigration_death"
    ///     time = { until = 5, every = 1 }
    ///     points = { kind = "grid", parameters = [{ name = "alpha", values = [1, 2] }] }
    ///     [ssa]
    ///     "#,
    ///     "doc.toml",
    /// )?;
    /// assert_eq!(spec.replicates, 1);
    /// assert!(SweepSpec::from_toml_str("network = 3", "bad.toml").is_err());
    /// # Ok::<(), crnkit_sweep::Error>(())
    /// ```
    pub fn from_toml_str(text: &str, file: &str) -> crate::Result<SweepSpec> {
        toml::from_str(text).map_err(|e| crate::Error::Description {
            file: file.to_string(),
            message: e.to_string(),
        })
    }

    /// Parse a JSON sweep description (the same fields as TOML); `file` names it in errors.
    pub fn from_json_str(text: &str, file: &str) -> crate::Result<SweepSpec> {
        serde_json::from_str(text).map_err(|e| crate::Error::Description {
            file: file.to_string(),
            message: e.to_string(),
        })
    }
}
