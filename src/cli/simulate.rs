//! `crnkit simulate`: simulate an ensemble of exact stochastic trajectories and write their statistics.

use std::path::PathBuf;

use clap::Args;
use crnkit::io::results::{self, ToCsv};
use crnkit::ssa::{EnsembleConfig, Method};

use super::common::MethodArg;

/// Simulate an ensemble of exact stochastic trajectories and write their statistics.
#[derive(Args)]
pub struct SimulateArgs {
    /// Model file (.crn, .json, .toml or BioNetGen .net).
    pub model: PathBuf,
    /// End time.
    #[arg(long, allow_hyphen_values = true)]
    pub until: f64,
    /// Sampling interval of the recorded grid.
    #[arg(long, allow_hyphen_values = true)]
    pub every: f64,
    /// Number of trajectories.
    #[arg(long, default_value_t = 1000)]
    pub runs: u64,
    /// Master seed (the same seed gives identical files, whatever the thread count).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The exact method.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Statistics: time,<S>-mean,<S>-sd,... (species, then observables).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Grid states of the first runs: run,time,<S1>,<S2>,...
    #[arg(long)]
    pub trajectories: Option<PathBuf>,
    /// How many runs --trajectories keeps.
    #[arg(long, default_value_t = 10)]
    pub keep: usize,
    /// Per-species histograms at every grid time: time,species,count,runs.
    #[arg(long)]
    pub histograms: Option<PathBuf>,
}

/// Run `crnkit simulate`.
pub fn run(a: SimulateArgs) -> crnkit::Result<()> {
    let SimulateArgs {
        model,
        until,
        every,
        runs,
        seed,
        method,
        threads,
        out,
        trajectories,
        keep,
        histograms,
    } = a;
    let net = crnkit::io::read_network(&model)?;
    // Refuse an unwritable output before the runs, not after.
    for path in [&out, &trajectories, &histograms].into_iter().flatten() {
        crnkit::fs::check_writable(path)?;
    }
    let cfg = EnsembleConfig {
        until,
        every,
        runs,
        seed,
        method: Method::from(method),
        keep_trajectories: if trajectories.is_some() { keep } else { 0 },
        histograms: histograms.is_some(),
        progress: crnkit::bars::on_terminal(),
    };
    let start = std::time::Instant::now();
    let result = cfg.run_with_threads(&net, threads)?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} runs of {} with {} to t = {}: {} events in {:.3} s ({:.1} ns/event)",
        runs,
        model.display(),
        result.method,
        until,
        result.events,
        secs,
        secs * 1e9 / result.events.max(1) as f64
    );
    match &out {
        Some(path) => {
            result.write_csv(path)?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{}", result.to_csv()),
    }
    if let Some(path) = &trajectories {
        results::write_trajectories_csv(&result, path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &histograms {
        results::write_histograms_csv(&result, path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
