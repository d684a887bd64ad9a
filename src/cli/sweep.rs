//! `crnkit sweep`: compute a parameter sweep, whole or one shard of it, as Parquet.

use std::path::PathBuf;

use clap::Args;
use crnkit::sweep::{Shard, Sweep};

use super::common::thread_pool;

/// Compute a parameter sweep described in TOML, whole or one shard of it, as Parquet.
#[derive(Args)]
pub struct SweepArgs {
    /// The sweep description (TOML; docs/sweeps.md).
    pub sweep: PathBuf,
    /// Compute only shard I of N (0-based, contiguous points): under Slurm,
    /// `--array=0-$((N-1))` and `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Output folder: DIR/shard-I-of-N.parquet with --shard, otherwise DIR/sweep.parquet.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// With --shard: do nothing when DIR already holds this shard complete and undamaged.
    #[arg(long)]
    pub skip_done: bool,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the sweep's size, hash and suggested shard count, and compute nothing.
    #[arg(long)]
    pub plan: bool,
}

/// Run `crnkit sweep`.
pub fn run(a: SweepArgs) -> crnkit::Result<()> {
    let sweep = Sweep::from_file(&a.sweep)?;
    if a.plan {
        print_plan(&sweep);
        return Ok(());
    }
    std::fs::create_dir_all(&a.out).map_err(|source| crnkit::error::ModelError::Io {
        path: a.out.display().to_string(),
        source,
    })?;
    let progress = crnkit::bars::on_terminal();
    let pool = thread_pool(a.threads)?;
    let start = std::time::Instant::now();
    let (path, points) = match a.shard {
        Some(shard) => {
            let path = a.out.join(shard.file_name());
            if a.skip_done && sweep.shard_done(&a.out, shard) {
                eprintln!("{} is complete: skipped", path.display());
                return Ok(());
            }
            let points = shard.points(sweep.points());
            pool.install(|| sweep.write_shard(&a.out, shard, &progress))?;
            (path, points.end - points.start)
        }
        None => {
            let path = a.out.join("sweep.parquet");
            pool.install(|| sweep.write_all(&path, &progress))?;
            (path, sweep.points())
        }
    };
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{points} points of sweep {} in {secs:.3} s ({:.1} points/s); wrote {}",
        sweep.hash(),
        points as f64 / secs.max(1e-9),
        path.display()
    );
    Ok(())
}

/// The `--plan` summary, one `key: value` per line (for scripts).
fn print_plan(sweep: &Sweep) {
    let (points, times, columns) = (sweep.points(), sweep.times().len(), sweep.layout().len());
    println!("hash: {}", sweep.hash());
    println!("points: {points}");
    println!("times: {times}");
    println!("columns: {columns}");
    println!("rows: {}", points as u128 * times as u128);
    println!(
        "values_bytes: {}",
        points as u128 * times as u128 * columns as u128 * 8
    );
    println!("shards: {}", sweep.suggested_shards());
    println!("columns_names: {}", sweep.layout().names().join(","));
}
