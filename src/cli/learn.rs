//! `crnkit learn`: learn a target distribution with a detailed-balanced network (exact L-BFGS, sampled

use std::path::PathBuf;

use std::io::IsTerminal;

use clap::Args;

/// Learn a target distribution with a detailed-balanced network (exact L-BFGS, sampled
/// gradients, or the fully chemical learner), as described by a TOML job file. Writes
/// curve.csv, learned.crn, summary.json and figures to the job's output folder; an
/// interrupted chemical run resumes from its checkpoint.
#[derive(Args)]
pub struct LearnArgs {
    /// Job file (TOML).
    pub config: PathBuf,
    /// Override the job's output folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `crnkit learn`.
pub fn run(a: LearnArgs) -> crnkit::Result<()> {
    let LearnArgs { config, out } = a;
    let text =
        std::fs::read_to_string(&config).map_err(|source| crnkit::error::ModelError::Io {
            path: config.display().to_string(),
            source,
        })?;
    let mut job = crnkit::learn::job::parse(&text, &config.display().to_string())?;
    if let Some(o) = out {
        job.output.dir = o.display().to_string();
    }
    let base = config.parent().unwrap_or(std::path::Path::new("."));
    let s = crnkit::learn::job::run_config(&job, base, std::io::stderr().is_terminal())?;
    println!(
        "{}: D(Q||P) {:.6} -> {:.6} nats, entropy produced per copy {:.6e}, {:.2} s; outputs in {}",
        s.method,
        s.initial_kl,
        s.final_kl,
        s.entropy_produced,
        s.seconds,
        s.dir.display()
    );
    Ok(())
}
