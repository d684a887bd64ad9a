//! `crnkit infer`: rates from snapshot data with a distilled surrogate (maximum likelihood,
//! Metropolis–Hastings).

use std::path::PathBuf;

use clap::Args;

/// Arguments of `crnkit infer`.
#[derive(Args)]
pub struct InferArgs {
    /// Folder written by `crnkit distill`, or builtin:NAME (a surrogate shipped with crnkit).
    pub model_dir: PathBuf,
    /// Snapshot data: header `time,<S1>,...` (every species once, any order).
    pub data: PathBuf,
    /// Parameters to infer (comma-separated; default: every parameter not fixed).
    #[arg(long)]
    pub free: Option<String>,
    /// Values of the other parameters: NAME=VALUE,...
    #[arg(long)]
    pub fix: Option<String>,
    /// Initial counts of every cell: SPECIES=COUNT,... or counts in model order.
    #[arg(long)]
    pub x0: Option<String>,
    /// Also sample the posterior (uniform prior on the box) by Metropolis–Hastings.
    #[arg(long)]
    pub mcmc: bool,
    /// Posterior samples per chain.
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
    /// Burn-in steps per chain (proposal tuned during them only).
    #[arg(long, default_value_t = 1000)]
    pub burn_in: usize,
    /// Chains.
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// Seed (starts and chains).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write fit.json (and posterior.csv with --mcmc) into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `crnkit infer`.
pub fn run(a: InferArgs) -> crnkit::Result<()> {
    use crnkit::surrogate::Surrogate;
    use crnkit::surrogate::inference::{Likelihood, MleConfig, read_snapshots};
    let s = Surrogate::open(&a.model_dir)?;
    let data = read_snapshots(&a.data, &s.card.species)?;
    let spec = inference_spec(&a, &s)?;
    let lik = Likelihood::new(&s, &data, &spec)?;
    let fit = lik.mle(&MleConfig {
        seed: a.seed,
        ..MleConfig::default()
    })?;
    println!(
        "maximum likelihood from {} cells ({} distinct rows): log-likelihood {:.3}, {} iterations",
        lik.num_cells(),
        lik.num_rows(),
        fit.log_likelihood,
        fit.iterations
    );
    println!("parameter,estimate,std_error,on_boundary");
    for j in 0..fit.names.len() {
        println!(
            "{},{},{},{}",
            fit.names[j], fit.estimate[j], fit.std_error[j], fit.on_boundary[j]
        );
    }
    let mut json = serde_json::json!({
        "cells": lik.num_cells(),
        "mle": {
            "names": fit.names,
            "estimate": fit.estimate,
            "std_error": fit.std_error,
            "log_likelihood": fit.log_likelihood,
            "iterations": fit.iterations,
            "on_boundary": fit.on_boundary,
        },
    });
    let mut posterior_csv = None;
    if a.mcmc {
        let (summary, csv) = run_mcmc(&a, &lik)?;
        json["mcmc"] = summary;
        posterior_csv = Some(csv);
    }
    if let Some(dir) = &a.out {
        let io = |source, p: &std::path::Path| crnkit::error::ModelError::Io {
            path: p.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        let text = serde_json::to_string_pretty(&json).map_err(|e| {
            crnkit::error::ModelError::Numerical {
                what: "fit.json",
                reason: format!("cannot serialise the fit: {e}"),
            }
        })?;
        crnkit::io::write_atomic(&dir.join("fit.json"), text.as_bytes())?;
        if let Some(csv) = posterior_csv {
            crnkit::io::write_atomic(&dir.join("posterior.csv"), csv.as_bytes())?;
        }
    }
    Ok(())
}

/// The free and fixed parameters and the initial state from `--free`, `--fix` and `--x0`.
fn inference_spec(
    a: &InferArgs,
    s: &crnkit::surrogate::Surrogate,
) -> crnkit::Result<crnkit::surrogate::inference::InferenceSpec> {
    use crnkit::error::SurrogateError;
    use crnkit::surrogate::inference::InferenceSpec;
    use crnkit::surrogate::query as q;
    let mut fixed = Vec::new();
    if let Some(text) = &a.fix {
        for item in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| SurrogateError::InvalidQuery {
                    reason: format!("--fix: `{item}` is not NAME=VALUE"),
                })?;
            let v: f64 = v.trim().parse().map_err(|_| SurrogateError::InvalidQuery {
                reason: format!("--fix: `{}` is not a number", v.trim()),
            })?;
            fixed.push((k.trim().to_string(), v));
        }
    }
    Ok(InferenceSpec {
        free: a
            .free
            .as_deref()
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        fixed,
        initial: match &a.x0 {
            Some(t) => Some(q::parse_counts(t, &s.card.species, s.initial())?),
            None => None,
        },
    })
}

/// Sample the posterior by Metropolis–Hastings and print its summary: the summary for
/// fit.json and the samples as posterior.csv.
fn run_mcmc(
    a: &InferArgs,
    lik: &crnkit::surrogate::inference::Likelihood<'_>,
) -> crnkit::Result<(serde_json::Value, String)> {
    use crnkit::surrogate::inference::McmcConfig;
    let post = lik.mcmc(&McmcConfig {
        chains: a.chains,
        burn_in: a.burn_in,
        samples: a.samples,
        seed: a.seed,
        ..McmcConfig::default()
    })?;
    println!(
        "Metropolis–Hastings: {} chains × {} samples, acceptance {:.3}",
        post.chains.len(),
        a.samples,
        post.acceptance
    );
    println!("parameter,mean,sd,q2.5,q50,q97.5,rhat");
    for p in &post.summary {
        println!(
            "{},{},{},{},{},{},{}",
            p.name, p.mean, p.sd, p.q025, p.q50, p.q975, p.rhat
        );
    }
    let summary = serde_json::json!({
        "acceptance": post.acceptance,
        "summary": post.summary.iter().map(|p| serde_json::json!({
            "name": p.name, "mean": p.mean, "sd": p.sd, "q025": p.q025,
            "q50": p.q50, "q975": p.q975, "rhat": p.rhat,
        })).collect::<Vec<_>>(),
    });
    let mut csv = format!("chain,step,{},log_likelihood\n", post.names.join(","));
    for (c, ch) in post.chains.iter().enumerate() {
        for (k, (x, l)) in ch.samples.iter().zip(&ch.log_likelihood).enumerate() {
            let v: Vec<String> = x.iter().map(f64::to_string).collect();
            csv.push_str(&format!("{c},{k},{},{l}\n", v.join(",")));
        }
    }
    Ok((summary, csv))
}
