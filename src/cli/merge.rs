//! `crnkit merge`: check that a folder holds every shard of one sweep, and merge them.

use std::path::PathBuf;

use clap::Args;

/// Check that DIR holds every shard of one sweep, undamaged, and merge them into one file.
#[derive(Args)]
pub struct MergeArgs {
    /// The folder of shard-I-of-N.parquet files.
    pub dir: PathBuf,
    /// The merged file (default DIR/sweep.parquet).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The sweep description the shards must belong to (default: the sweep most shards
    /// belong to).
    #[arg(long, value_name = "SWEEP.toml")]
    pub sweep: Option<PathBuf>,
}

/// Run `crnkit merge`.
pub fn run(a: MergeArgs) -> crnkit::Result<()> {
    let out = a.out.unwrap_or_else(|| a.dir.join("sweep.parquet"));
    let expected = match &a.sweep {
        Some(path) => Some(crnkit::sweep::Sweep::from_file(path)?.hash().to_string()),
        None => None,
    };
    let report = crnkit::sweep::merge(&a.dir, &out, expected.as_deref())?;
    eprintln!(
        "merged {} shard(s) of sweep {}: {} points, {} rows; wrote {}",
        report.shards.len(),
        report.sweep_hash,
        report.points,
        report.rows,
        report.out.display()
    );
    Ok(())
}
