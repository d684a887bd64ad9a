//! `crnkit ode`: integrate the deterministic (mass-action ODE) limit: amounts on a time grid.

use std::path::PathBuf;

use clap::Args;
use crnkit::io::results::ToCsv;

use super::common::emit;

/// Integrate the deterministic (mass-action ODE) limit: amounts on a time grid.
#[derive(Args)]
pub struct OdeArgs {
    /// Model file.
    pub model: PathBuf,
    /// End time.
    #[arg(long, allow_hyphen_values = true)]
    pub until: f64,
    /// Output interval.
    #[arg(long, allow_hyphen_values = true)]
    pub every: f64,
    /// Relative tolerance of the BDF integrator.
    #[arg(long, default_value_t = 1e-8)]
    pub rtol: f64,
    /// Absolute tolerance (molecules).
    #[arg(long, default_value_t = 1e-8)]
    pub atol: f64,
    /// Output CSV `time,<S1>,...,<O1>,...` (species, then observables; standard output
    /// without it).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `crnkit ode`.
pub fn run(a: OdeArgs) -> crnkit::Result<()> {
    let OdeArgs {
        model,
        until,
        every,
        rtol,
        atol,
        out,
    } = a;
    let net = crnkit::io::read_network(&model)?.compile();
    if let Some(path) = &out {
        crnkit::fs::check_writable(path)?;
    }
    let grid = crnkit::ssa::TimeGrid::new(until, every)?;
    let x0: Vec<f64> = net.initial_state().iter().map(|&v| v as f64).collect();
    let sol = crnkit::thermo::ode::integrate(&net, &x0, &grid, rtol, atol)?;
    emit(out.as_deref(), &sol.to_csv())?;
    Ok(())
}
