//! `crnkit check`: validate a model and report its structure: conservation laws, deficiency, weak

use std::path::PathBuf;

use clap::Args;
use crnkit::network::CheckReport;

/// Validate a model and report its structure: conservation laws, deficiency, weak
/// reversibility, detailed balance and free energies.
#[derive(Args)]
pub struct CheckArgs {
    /// Model file (.crn, .json, .toml or BioNetGen .net).
    pub model: PathBuf,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Run `crnkit check`.
pub fn run(a: CheckArgs) -> crnkit::Result<()> {
    let CheckArgs { model, json } = a;
    let net = crnkit::io::read_network(&model)?;
    let report = CheckReport::new(&net)?;
    if json {
        println!("{}", report.to_json());
    } else {
        println!("model: {}", model.display());
        print!("{report}");
    }
    Ok(())
}
