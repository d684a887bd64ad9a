//! `crnkit distill`: distil a neural surrogate of a network's CME as configured in CONFIG (TOML): design,

use std::path::PathBuf;

use std::io::IsTerminal;

use clap::Args;

/// Distil a neural surrogate of a network's CME as configured in CONFIG (TOML): design,
/// teacher, training with checkpoints (an interrupted run resumes), held-out accuracy.
#[derive(Args)]
pub struct DistillArgs {
    /// Configuration file (TOML; see docs/surrogate.md).
    pub config: PathBuf,
    /// Override the output folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Ignore an existing checkpoint and start again.
    #[arg(long)]
    pub fresh: bool,
}

/// Run `crnkit distill`.
pub fn run(a: DistillArgs) -> crnkit::Result<()> {
    let DistillArgs { config, out, fresh } = a;
    let s = crnkit::surrogate::config::run(
        &config,
        out.as_deref(),
        fresh,
        std::io::stderr().is_terminal(),
    )?;
    let m = &s.metrics;
    println!(
        "distilled in {:.1} s teacher + {:.1} s training ({} epochs, best {}, stop: {:?}{}); held-out joint Hellinger median {:.4}, p90 {:.4}, max {:.4} over {} points × {} times; written to {}",
        m.teacher_seconds,
        m.train_seconds,
        m.epochs_run,
        m.best_epoch,
        s.stop,
        s.resumed_from
            .map(|e| format!(", resumed after epoch {e}"))
            .unwrap_or_default(),
        m.hellinger_median,
        m.hellinger_p90,
        m.hellinger_max,
        m.val_points,
        m.times.len(),
        s.dir.display()
    );
    Ok(())
}
