//! Parameter sweeps of crnkit's solvers that split into shards with identical results:
//! a sweep description (TOML, JSON or a serde value), seeds that depend only on (master
//! seed, point, replicate), shards written atomically as Parquet with the sweep's hash and
//! a checksum, and a merge that refuses a missing, duplicated, foreign or damaged shard by
//! name.
//!
//! ```
//! use crnkit_sweep::{Shard, Sweep, merge};
//!
//! let dir = std::env::temp_dir().join(format!("crnkit-sweep-lib-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let sweep = Sweep::from_toml_str(
//!     r#"
//!     network = "builtin:immigration_death"
//!     seed = 7
//!     replicates = 20
//!     time = { until = 3, every = 1 }
//!     points = { kind = "lhs", n = 5, parameters = [{ name = "alpha", lo = 0.5, hi = 5, scale = "log" }] }
//!     [ssa]
//!     "#,
//!     &dir,
//!     "doc.toml",
//! )?;
//! // Three shards, run anywhere in any order, then merged...
//! for i in [2, 0, 1] {
//!     sweep.write_shard(&dir, Shard::new(i, 3)?, &Default::default())?;
//! }
//! merge(&dir, &dir.join("merged.parquet"), None)?;
//! // ...are byte for byte the sweep computed in one go.
//! sweep.write_all(&dir.join("whole.parquet"), &Default::default())?;
//! assert_eq!(std::fs::read(dir.join("merged.parquet"))?, std::fs::read(dir.join("whole.parquet"))?);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The format, the columns and the seeds are described in the repository's
//! `docs/sweeps.md`.
#![warn(missing_docs)]

mod compute;
pub mod design;
mod error;
mod files;
mod merge;
mod spec;
mod sweep;
mod table;

pub use compute::point_seed;
pub use error::{Error, Result};
pub use files::{FORMAT, FORMAT_VERSION, FileInfo, ROW_GROUP_ROWS, Shard, read_info, read_table};
pub use merge::{MergeReport, merge, shard_files};
pub use spec::{
    Axis, CmeSpec, DEFAULT_MAX_BYTES, OdeSpec, PointsSpec, Scale, SsaSpec, SweepSpec, ThermoSpec,
    TimeSpec,
};
pub use sweep::Sweep;
pub use table::{Checksum, Column, ColumnKind, Layout, Table};

/// Compute shard `shard` of the sweep described by TOML `text` (a `network` path relative
/// to `base`) on the current rayon pool and return its rows: the one call a worker of a
/// distributed run (a Dask task, a Slurm array task) needs.
///
/// ```
/// let text = "network = 'builtin:birth_death'\ntime = { until = 1, every = 1 }\n\
///             points = { kind = 'grid', parameters = [{ name = 'lambda', values = [1, 2, 3, 4] }] }\n[ode]";
/// let t = crnkit_sweep::compute_shard(text, std::path::Path::new("."), "1/2".parse()?)?;
/// assert_eq!(t.column("point").unwrap().as_u64(), Some(&[2, 2, 3, 3][..]));
/// # Ok::<(), crnkit_sweep::Error>(())
/// ```
pub fn compute_shard(text: &str, base: &std::path::Path, shard: Shard) -> Result<Table> {
    let sweep = Sweep::from_toml_str(text, base, "<sweep>")?;
    sweep.compute(shard.points(sweep.points()), &Default::default())
}
