//! The `crnkit` command-line interface: parse, dispatch to `cli/<command>.rs`, report errors.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stochastic chemical reaction networks that learn.
#[derive(Parser)]
#[command(name = "crnkit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a model and report its structure: conservation laws, deficiency, weak
    /// reversibility, detailed balance and free energies.
    Check(cli::check::CheckArgs),
    /// Simulate an ensemble of exact stochastic trajectories and write their statistics.
    Simulate(cli::simulate::SimulateArgs),
    /// Solve the chemical master equation (finite state projection with a certified error
    /// bound): transient on a time grid, or the stationary distribution.
    Solve(cli::solve::SolveArgs),
    /// Integrate the deterministic (mass-action ODE) limit: amounts on a time grid.
    Ode(cli::ode::OdeArgs),
    /// Entropy production and free energy over time, from the CME, SSA paths or the ODE.
    Thermo(cli::thermo::ThermoArgs),
    /// Convert a model between formats (.crn, .json, .toml; chosen by the extensions).
    Convert(cli::convert::ConvertArgs),
    /// Learn a target distribution with a detailed-balanced network (exact L-BFGS, sampled
    /// gradients, or the fully chemical learner), as described by a TOML job file. Writes
    /// curve.csv, learned.crn, summary.json and figures to the job's output folder; an
    /// interrupted chemical run resumes from its checkpoint.
    Learn(cli::learn::LearnArgs),
    /// Run the SBML Test Suite's stochastic cases (DSMTS) in DIR (one folder per case):
    /// simulate each, apply the suite's mean and sd tests at every output time, and print
    /// a table per case with the totals.
    SbmlSuite(cli::sbml_suite::SbmlSuiteArgs),
    /// Distil a neural surrogate of a network's CME as configured in CONFIG (TOML): design,
    /// teacher, training with checkpoints (an interrupted run resumes), held-out accuracy.
    Distill(cli::distill::DistillArgs),
    /// Query a distilled surrogate: moments, log-probabilities of states, a marginal, the
    /// joint, or samples of P(x | rates, x0, t).
    Query(cli::query::QueryArgs),
    /// Infer rates from snapshot data (CSV `time,<S1>,<S2>,...`, one row per cell) with a
    /// distilled surrogate: maximum likelihood (L-BFGS, standard errors), and with --mcmc
    /// Metropolis–Hastings posterior intervals.
    Infer(cli::infer::InferArgs),
    /// Compute a parameter sweep described in TOML (docs/sweeps.md) on local threads, or
    /// one shard of it with --shard I/N (Slurm arrays, separate processes); Parquet files.
    Sweep(cli::sweep::SweepArgs),
    /// Check that a folder holds every shard of one sweep (a missing, duplicated, foreign
    /// or damaged shard is an error) and merge them into one Parquet file.
    Merge(cli::merge::MergeArgs),
    /// List the bundled example models, or print one as .crn text.
    Models(cli::models::ModelsArgs),
    /// Run the main job on the bundled models: analyse each, simulate the Vilar oscillator,
    /// solve the toggle switch's CME.
    Demo,
}

fn run(command: Command) -> crnkit::Result<()> {
    match command {
        Command::Check(a) => cli::check::run(a),
        Command::Simulate(a) => cli::simulate::run(a),
        Command::Solve(a) => cli::solve::run(a),
        Command::Ode(a) => cli::ode::run(a),
        Command::Thermo(a) => cli::thermo::run(a),
        Command::Convert(a) => cli::convert::run(a),
        Command::Learn(a) => cli::learn::run(a),
        Command::SbmlSuite(a) => cli::sbml_suite::run(a),
        Command::Distill(a) => cli::distill::run(a),
        Command::Query(a) => cli::query::run(a),
        Command::Infer(a) => cli::infer::run(a),
        Command::Sweep(a) => cli::sweep::run(a),
        Command::Merge(a) => cli::merge::run(a),
        Command::Models(a) => cli::models::run(a),
        Command::Demo => cli::demo::run(),
    }
}

/// Fix the worker-thread count that candle's CPU kernels read from the environment.
///
/// Without `RAYON_NUM_THREADS`, candle asks the operating system for the core count before
/// every matrix product (reading cgroup and `/proc` files), which made training about 1.5×
/// slower on small batches. The value chosen is rayon's own default, so nothing else changes.
fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: called first thing in `main`, before any other thread exists, so no
        // thread can read the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
}

fn main() -> ExitCode {
    pin_thread_count();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::common::with_hint(&e));
            ExitCode::from(2)
        }
    }
}
