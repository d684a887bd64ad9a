//! `crnkit convert`: convert a model between formats (chosen by the extensions).

use std::path::PathBuf;

use clap::Args;

/// Convert a model between formats, chosen by the extensions: from .crn, .json, .toml,
/// BioNetGen .net or SBML .xml to .crn, .json, .toml or SBML Level 3 Version 2 (.xml,
/// .sbml; kinetic laws are propensities, see docs/sbml.md).
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
    crnkit::io::write_network(&net, &output)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}
