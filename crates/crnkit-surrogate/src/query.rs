//! Queries in text form, as `crnkit query` takes them, and moments from marginals.
//!
//! Rates are given either by name (`rho_b=40,sigma_u=0.5,...`, every parameter of the box
//! once) or as values in the box's order (`0.5,0.02,4,40`); counts by name (`P=10,Gb=0`,
//! unnamed species keep the default initial count) or as values in model order; states as
//! counts in model order separated by `;` (`0,12;1,30`).

use super::Surrogate;
use crate::error::{Error, Result};

fn bad(reason: String) -> Error {
    Error::InvalidQuery { reason }
}

fn split(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parameter values in box order from `text` (by name or positional).
pub fn parse_rates(text: &str, names: &[String]) -> Result<Vec<f64>> {
    let items = split(text);
    let num = |s: &str, what: &str| -> Result<f64> {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(format!("{what}: `{s}` is not a finite number")))
    };
    if items.iter().any(|s| s.contains('=')) {
        let mut out = vec![None; names.len()];
        for it in &items {
            let (k, v) = it
                .split_once('=')
                .ok_or_else(|| bad(format!("rates: `{it}` is not NAME=VALUE")))?;
            let (k, v) = (k.trim(), v.trim());
            let i = names.iter().position(|n| n == k).ok_or_else(|| {
                bad(format!(
                    "rates: `{k}` is not a parameter of the surrogate (its parameters: {})",
                    names.join(", ")
                ))
            })?;
            if out[i].is_some() {
                return Err(bad(format!("rates: `{k}` is given twice")));
            }
            out[i] = Some(num(v, k)?);
        }
        match out.iter().position(Option::is_none) {
            Some(i) => Err(bad(format!("rates: `{}` is missing", names[i]))),
            None => Ok(out.into_iter().flatten().collect()),
        }
    } else {
        if items.len() != names.len() {
            return Err(bad(format!(
                "rates: expected {} values ({}), found {}",
                names.len(),
                names.join(", "),
                items.len()
            )));
        }
        items.iter().zip(names).map(|(s, n)| num(s, n)).collect()
    }
}

fn count(s: &str, what: &str) -> Result<u64> {
    s.parse::<u64>().map_err(|_| {
        bad(format!(
            "{what}: `{s}` is not a count (a non-negative integer)"
        ))
    })
}

/// Initial counts in model order from `text` (by name, over `default`, or positional).
pub fn parse_counts(text: &str, species: &[String], default: &[u64]) -> Result<Vec<u64>> {
    let items = split(text);
    if items.iter().any(|s| s.contains('=')) {
        let mut out = default.to_vec();
        for it in &items {
            let (k, v) = it
                .split_once('=')
                .ok_or_else(|| bad(format!("initial state: `{it}` is not SPECIES=COUNT")))?;
            let i = species.iter().position(|n| n == k.trim()).ok_or_else(|| {
                bad(format!(
                    "initial state: `{}` is not a species of the surrogate (its species: {})",
                    k.trim(),
                    species.join(", ")
                ))
            })?;
            out[i] = count(v.trim(), k.trim())?;
        }
        Ok(out)
    } else {
        if items.len() != species.len() {
            return Err(bad(format!(
                "initial state: expected {} counts ({}), found {}",
                species.len(),
                species.join(", "),
                items.len()
            )));
        }
        items
            .iter()
            .zip(species)
            .map(|(s, n)| count(s, n))
            .collect()
    }
}

/// States (flat, model order) from `text`: rows separated by `;`, counts by `,`.
pub fn parse_states(text: &str, species: &[String]) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for row in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        let items = split(row);
        if items.len() != species.len() {
            return Err(bad(format!(
                "state `{row}`: expected {} counts ({}), found {}",
                species.len(),
                species.join(", "),
                items.len()
            )));
        }
        for (s, n) in items.iter().zip(species) {
            let c = count(s, n)?;
            out.push(u32::try_from(c).map_err(|_| bad(format!("{n}: count {c} is too large")))?);
        }
    }
    if out.is_empty() {
        return Err(bad("no state given".into()));
    }
    Ok(out)
}

/// Mean and standard deviation of every species under q(· | params, x0, t), from the exact
/// marginals.
pub fn moments(s: &Surrogate, params: &[f64], x0: &[u64], t: f64) -> Result<Vec<(f64, f64)>> {
    (0..s.card.species.len())
        .map(|i| {
            let m = s.marginal_at(i, params, x0, t)?;
            let z: f64 = m.iter().sum();
            let mean = m.iter().enumerate().map(|(n, p)| n as f64 * p).sum::<f64>() / z;
            let var = m
                .iter()
                .enumerate()
                .map(|(n, p)| (n as f64 - mean).powi(2) * p)
                .sum::<f64>()
                / z;
            Ok((mean, var.max(0.0).sqrt()))
        })
        .collect()
}
