//! The `crnkit` command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crnkit::Network;
use crnkit::network::CheckReport;

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
    Check {
        /// Model file (.crn, .json or .toml).
        model: PathBuf,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Convert a model between formats (.crn, .json, .toml; chosen by the extensions).
    Convert {
        /// Input model.
        input: PathBuf,
        /// Output model (written atomically).
        output: PathBuf,
    },
    /// List the bundled example models, or print one as .crn text.
    Models {
        /// Print this model.
        name: Option<String>,
    },
    /// Run the main job on the bundled models: read, analyse and report each.
    Demo,
}

fn run(cli: Cli) -> crnkit::Result<()> {
    match cli.command {
        Command::Check { model, json } => {
            let net = Network::from_file(&model)?;
            let report = CheckReport::new(&net)?;
            if json {
                println!("{}", report.to_json());
            } else {
                println!("model: {}", model.display());
                print!("{report}");
            }
        }
        Command::Convert { input, output } => {
            let net = Network::from_file(&input)?;
            net.to_file(&output)?;
            eprintln!("wrote {}", output.display());
        }
        Command::Models { name } => match name {
            None => {
                for (n, text) in crnkit::models::BUNDLED {
                    let summary = text.lines().next().unwrap_or("").trim_start_matches("# ");
                    println!("{n:<20} {summary}");
                }
            }
            Some(n) => print!("{}", crnkit::models::bundled(&n)?.to_crn_string()),
        },
        Command::Demo => demo()?,
    }
    Ok(())
}

fn demo() -> crnkit::Result<()> {
    println!("crnkit demo: every bundled model, read from its .crn text and analysed.\n");
    for (name, _) in crnkit::models::BUNDLED {
        let net = crnkit::models::bundled(name)?;
        let report = CheckReport::new(&net)?;
        println!("== {name} ==");
        print!("{report}");
        println!();
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
