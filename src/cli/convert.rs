//! `crnkit convert`: convert a model between formats (.crn, .json, .toml; chosen by the extensions).

use std::path::PathBuf;

use clap::Args;

/// Convert a model between formats (.crn, .json, .toml; chosen by the extensions).
#[derive(Args)]
pub struct ConvertArgs {
    /// Input model.
    pub input: PathBuf,
    /// Output model (written atomically).
    pub output: PathBuf,
}

/// Run `crnkit convert`.
pub fn run(a: ConvertArgs) -> crnkit::Result<()> {
    let ConvertArgs { input, output } = a;
    let net = crnkit::io::read_network(&input)?;
    net.to_file(&output)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}
