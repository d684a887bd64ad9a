//! `crnkit sbml-suite`: run the SBML Test Suite's stochastic cases (DSMTS) in DIR (one folder per case):

use std::path::PathBuf;

use clap::Args;

/// Run the SBML Test Suite's stochastic cases (DSMTS) in DIR (one folder per case):
/// simulate each, apply the suite's mean and sd tests at every output time, and print
/// a table per case with the totals.
/// SBML encodings of the DSMTS cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    /// Level 3 Version 2.
    L3v2,
    /// Level 2 Version 4.
    L2v4,
    /// Both.
    Both,
}

#[derive(Args)]
pub struct SbmlSuiteArgs {
    /// Folder holding the case folders (00001, 00002, ...).
    pub dir: PathBuf,
    /// Runs per case.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// Seed (case i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// SBML versions to run: l3v2, l2v4 or both.
    #[arg(long, value_enum, default_value_t = Level::Both)]
    pub level: Level,
    /// Only these cases (comma-separated folder names).
    #[arg(long)]
    pub cases: Option<String>,
}

/// Run `crnkit sbml-suite`.
pub fn run(a: SbmlSuiteArgs) -> crnkit::Result<()> {
    let SbmlSuiteArgs {
        dir,
        runs,
        seed,
        level,
        cases,
    } = a;
    let levels: &[&str] = match level {
        Level::Both => &["l3v2", "l2v4"],
        Level::L3v2 => &["l3v2"],
        Level::L2v4 => &["l2v4"],
    };
    let reports = match cases {
        None => crnkit::io::dsmts::run_suite(&dir, levels, runs, seed)?,
        Some(list) => {
            let mut out = Vec::new();
            for (i, c) in list.split(',').map(str::trim).enumerate() {
                for (j, l) in levels.iter().enumerate() {
                    out.push(crnkit::io::dsmts::run_case(
                        &dir.join(c),
                        l,
                        runs,
                        seed.wrapping_add((i * levels.len() + j) as u64),
                    )?);
                }
            }
            out
        }
    };
    if reports.is_empty() {
        return Err(crnkit::error::ModelError::InvalidSetting {
            name: "suite folder",
            value: dir.display().to_string(),
            reason: "no DSMTS case folders (NNNNN/ with NNNNN-sbml-l3v2.xml) were found in it",
        }
        .into());
    }
    print!("{}", crnkit::io::dsmts::table(&reports));
    Ok(())
}
