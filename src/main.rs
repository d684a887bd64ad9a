//! The `crnkit` command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crnkit::Network;
use crnkit::network::CheckReport;
use crnkit::ssa::{EnsembleConfig, Method};
use std::io::IsTerminal;

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
        /// Model file (.crn, .json, .toml or BioNetGen .net).
        model: PathBuf,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Simulate an ensemble of exact stochastic trajectories and write their statistics.
    Simulate {
        /// Model file (.crn, .json, .toml or BioNetGen .net).
        model: PathBuf,
        /// End time.
        #[arg(long, allow_hyphen_values = true)]
        until: f64,
        /// Sampling interval of the recorded grid.
        #[arg(long, allow_hyphen_values = true)]
        every: f64,
        /// Number of trajectories.
        #[arg(long, default_value_t = 1000)]
        runs: u64,
        /// Master seed (the same seed gives identical files, whatever the thread count).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// auto, direct, next-reaction or rejection.
        #[arg(long, default_value = "auto")]
        method: String,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Statistics: time,<S>-mean,<S>-sd,... (species, then observables).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Grid states of the first runs: run,time,<S1>,<S2>,...
        #[arg(long)]
        trajectories: Option<PathBuf>,
        /// How many runs --trajectories keeps.
        #[arg(long, default_value_t = 10)]
        keep: usize,
        /// Per-species histograms at every grid time: time,species,count,runs.
        #[arg(long)]
        histograms: Option<PathBuf>,
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
        Command::Simulate {
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
        } => {
            let net = Network::from_file(&model)?;
            let cfg = EnsembleConfig {
                until,
                every,
                runs,
                seed,
                method: method.parse::<Method>()?,
                keep_trajectories: if trajectories.is_some() { keep } else { 0 },
                histograms: histograms.is_some(),
                progress: std::io::stderr().is_terminal(),
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
                    result.write_stats_csv(path)?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{}", result.stats_csv()),
            }
            if let Some(path) = &trajectories {
                result.write_trajectories_csv(path)?;
                eprintln!("wrote {}", path.display());
            }
            if let Some(path) = &histograms {
                result.write_histograms_csv(path)?;
                eprintln!("wrote {}", path.display());
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
    println!("== exact simulation: Vilar oscillator, 400 runs to t = 100 ==");
    let net = crnkit::models::bundled("vilar")?;
    let cfg = EnsembleConfig {
        until: 100.0,
        every: 10.0,
        runs: 400,
        seed: 2024,
        method: Method::Auto,
        keep_trajectories: 0,
        histograms: false,
        progress: std::io::stderr().is_terminal(),
    };
    let start = std::time::Instant::now();
    let r = cfg.run(&net)?;
    let secs = start.elapsed().as_secs_f64();
    let (a, rep) = (r.column("A").unwrap_or(6), r.column("R").unwrap_or(7));
    println!(
        "{:>6}  {:>16}  {:>16}",
        "time", "A mean ± sd", "R mean ± sd"
    );
    for (k, t) in r.grid.times().iter().enumerate() {
        println!(
            "{t:>6}  {:>8.1} ± {:<6.1}  {:>8.1} ± {:<6.1}",
            r.mean(k, a),
            r.sd(k, a),
            r.mean(k, rep),
            r.sd(k, rep)
        );
    }
    println!(
        "method {}: {} events in {secs:.2} s ({:.1} M events/s on all threads)",
        r.method,
        r.events,
        r.events as f64 / secs / 1e6
    );
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
