//! `crnkit distill CONFIG.toml`: [`crnkit_surrogate::config`] (the file's format, its
//! checks and the run) with this crate's model readers ([`crate::io::read_network`]) and
//! terminal bars ([`crate::bars`]).

// The surrogate's error keeps candle's error unboxed (see `crnkit_surrogate`).
#![allow(clippy::result_large_err)]

pub use crnkit_surrogate::config::*;

use std::path::Path;

use super::Result;

/// Run the distillation in `path` (see [`Resolved::run`]): model files read by
/// [`crate::io::read_network`], a bar on standard error for training and a line on the
/// teacher when `progress`.
pub fn run(path: &Path, out: Option<&Path>, fresh: bool, progress: bool) -> Result<DistillSummary> {
    let read = |p: &Path| crate::io::read_network(p);
    let r = prepare(path, out, &read, crate::bars::bars(progress))?;
    if progress {
        eprintln!("{}", r.describe());
    }
    r.run(fresh)
}
