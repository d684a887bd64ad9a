//! `crnkit thermo`: entropy production and free energy over time, from the CME, SSA paths or the ODE.

use std::path::PathBuf;

use clap::Args;
use crnkit::cme::FspOptions;
use crnkit::io::results::ToCsv;

use super::common::{ThermoMethodArg, emit};

/// Entropy production and free energy over time, from the CME, SSA paths or the ODE.
#[derive(Args)]
pub struct ThermoArgs {
    /// Model file (every reaction needs a reverse).
    pub model: PathBuf,
    /// End time.
    #[arg(long, allow_hyphen_values = true)]
    pub until: f64,
    /// Output interval.
    #[arg(long, allow_hyphen_values = true)]
    pub every: f64,
    /// Where σ, S and F come from.
    #[arg(long, value_enum, default_value_t = ThermoMethodArg::Cme)]
    pub method: ThermoMethodArg,
    /// SSA runs.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// SSA seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CME tolerance.
    #[arg(long, default_value_t = 1e-10, allow_hyphen_values = true)]
    pub tol: f64,
    /// Largest CME projection.
    #[arg(long, default_value_t = 10_000_000)]
    pub max_states: usize,
    /// Pair one-way reactions whose reverse has other catalysts (learning networks:
    /// `S + P -> P` with `0 -> S`).
    #[arg(long)]
    pub pair_catalysed: bool,
    /// Output CSV (standard output without it).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `crnkit thermo`.
pub fn run(a: ThermoArgs) -> crnkit::Result<()> {
    let ThermoArgs {
        model,
        until,
        every,
        method,
        runs,
        seed,
        tol,
        max_states,
        pair_catalysed,
        out,
    } = a;
    let net = crnkit::io::read_network(&model)?;
    if let Some(path) = &out {
        crnkit::fs::check_writable(path)?;
    }
    let cfg = crnkit::thermo::ThermoConfig {
        until,
        every,
        method: method.into(),
        runs,
        seed,
        fsp: FspOptions {
            tol,
            max_states,
            ..FspOptions::default()
        },
        progress: crnkit::bars::on_terminal(),
        pair_catalysed,
    };
    let table = crnkit::thermo::thermo(&net, &cfg)?.to_csv();
    emit(out.as_deref(), &table)?;
    Ok(())
}
