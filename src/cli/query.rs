//! `crnkit query`: moments, log-probabilities, marginals, joints or samples of a distilled
//! surrogate.

use std::path::PathBuf;

use clap::Args;
use crnkit::error::{ModelError, SurrogateError};

/// Arguments of `crnkit query`.
#[derive(Args)]
pub struct QueryArgs {
    /// Folder written by `crnkit distill` (card.json, model.safetensors), or builtin:NAME
    /// for a surrogate shipped with crnkit (listed by `crnkit models`).
    pub model_dir: PathBuf,
    /// Rates: NAME=VALUE,... (every parameter of the box) or values in box order.
    #[arg(long, allow_hyphen_values = true)]
    pub rates: String,
    /// Initial counts: SPECIES=COUNT,... or counts in model order (default: the card's).
    #[arg(long)]
    pub x0: Option<String>,
    /// Time.
    #[arg(long, allow_hyphen_values = true)]
    pub t: f64,
    /// Log-probabilities of these states (counts in model order, states separated by `;`).
    #[arg(long, conflicts_with_all = ["marginal", "sample", "joint"])]
    pub state: Option<String>,
    /// The marginal distribution of this species (CSV n,p).
    #[arg(long, conflicts_with_all = ["sample", "joint"])]
    pub marginal: Option<String>,
    /// Draw this many samples (CSV, one row per sample).
    #[arg(long, conflicts_with = "joint")]
    pub sample: Option<usize>,
    /// The joint distribution on the box of caps (CSV <S1>,...,p).
    #[arg(long)]
    pub joint: bool,
    /// Seed of --sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Refuse rates, initial counts or times outside the trained domain (default: warn).
    #[arg(long)]
    pub strict: bool,
    /// Write the CSV here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// CSV of states (flat, one row of counts per state) with a header of the species names
/// and `suffix`, each row followed by its entry of `extra`.
fn states_csv(species: &[String], suffix: &str, states: &[u32], extra: &[String]) -> String {
    let names: Vec<String> = species
        .iter()
        .map(|s| crnkit::io::results::csv_field(s).into_owned())
        .collect();
    let mut csv = format!("{}{suffix}\n", names.join(","));
    for (row, e) in states.chunks_exact(species.len().max(1)).zip(extra) {
        let r: Vec<String> = row.iter().map(u32::to_string).collect();
        csv.push_str(&format!("{}{e}\n", r.join(",")));
    }
    csv
}

/// Run `crnkit query`.
pub fn run(a: QueryArgs) -> crnkit::Result<()> {
    use crnkit::surrogate::{Surrogate, query as q};
    let s = Surrogate::open(&a.model_dir)?;
    let species = s.card.species.clone();
    let params = q::parse_rates(&a.rates, &s.card.prompt.params.names)?;
    let x0 = match &a.x0 {
        Some(text) => q::parse_counts(text, &species, s.initial())?,
        None => s.initial().to_vec(),
    };
    let outside = s.outside(&params, &x0, a.t)?;
    if !outside.is_empty() {
        if a.strict {
            return Err(SurrogateError::OutsideDomain {
                reason: format!(
                    "outside the trained domain (--strict): {}",
                    outside.join("; ")
                ),
            }
            .into());
        }
        for line in &outside {
            eprintln!("warning: {line}; the surrogate extrapolates");
        }
    }
    let mut csv = String::new();
    if let Some(text) = &a.state {
        let states = q::parse_states(text, &species)?;
        let lp = s.log_prob_at(&states, &params, &x0, a.t)?;
        let extra: Vec<String> = lp.iter().map(|l| format!(",{l},{}", l.exp())).collect();
        csv = states_csv(&species, ",log_prob,prob", &states, &extra);
    } else if let Some(name) = &a.marginal {
        let i = s.species_index(name).map_err(|e| match e {
            SurrogateError::InvalidQuery { reason } => SurrogateError::InvalidQuery {
                reason: format!("--marginal: {reason}"),
            },
            e => e,
        })?;
        let m = s.marginal_at(i, &params, &x0, a.t)?;
        csv.push_str(&format!("{},p\n", crnkit::io::results::csv_field(name)));
        for (n, p) in m.iter().enumerate() {
            csv.push_str(&format!("{n},{p}\n"));
        }
    } else if let Some(n) = a.sample {
        let xs = s.sample_at(n, &params, &x0, a.t, a.seed)?;
        csv = states_csv(&species, "", &xs, &vec![String::new(); n]);
    } else if a.joint {
        let (states, p) = s.joint_at(&params, &x0, a.t)?;
        let extra: Vec<String> = p.iter().map(|pk| format!(",{pk}")).collect();
        csv = states_csv(&species, ",p", &states, &extra);
    } else {
        let m = q::moments(&s, &params, &x0, a.t)?;
        csv.push_str("species,mean,sd\n");
        for (name, (mean, sd)) in species.iter().zip(m) {
            let name = crnkit::io::results::csv_field(name);
            csv.push_str(&format!("{name},{mean},{sd}\n"));
        }
    }
    match &a.out {
        Some(path) => std::fs::write(path, csv).map_err(|source| {
            ModelError::Io {
                path: path.display().to_string(),
                source,
            }
            .into()
        }),
        None => {
            print!("{csv}");
            Ok(())
        }
    }
}
