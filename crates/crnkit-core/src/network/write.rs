//! Writing networks in the `.crn` model language.

use super::expr::{format_name, format_number};
use super::{Expr, Network, Term};

const KEYWORDS: [&str; 4] = ["parameters", "species", "volume", "observables"];

/// One side of a reaction, e.g. `A + 2 X`, or `0` when empty.
pub(crate) fn side(terms: &[Term], names: &[&str]) -> String {
    side_with(terms, |i| names[i])
}

/// A side of a reaction, naming species through `name`.
pub(crate) fn side_with<'a>(terms: &[Term], name: impl Fn(usize) -> &'a str) -> String {
    if terms.is_empty() {
        return "0".to_string();
    }
    terms
        .iter()
        .map(|&(i, c)| {
            let n = format_name(name(i));
            if c == 1 { n } else { format!("{c} {n}") }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn label(l: &str) -> String {
    if KEYWORDS.contains(&l) {
        format!("\"{l}\"")
    } else {
        format_name(l)
    }
}

/// The whole network as `.crn` text; [`Network::from_crn_str`] reads it back to an equal
/// network.
pub(crate) fn write_crn(net: &Network) -> String {
    let mut out = String::new();
    let vol = net.volume_expr();
    if vol.constant_value() != Some(1.0) {
        out.push_str(&format!("volume: {vol}\n"));
    }
    for p in net.parameters() {
        out.push_str(&format!(
            "parameters: {} = {}\n",
            format_name(&p.name),
            p.expr
        ));
    }
    for s in net.species() {
        out.push_str(&format!(
            "species: {} = {}{}\n",
            format_name(&s.name),
            format_number(s.initial as f64),
            if s.constant { " constant" } else { "" }
        ));
    }
    let names = net.species_names();
    for (r, rx) in net.reactions().enumerate() {
        if let Some(l) = &rx.label {
            out.push_str(&label(l));
            out.push_str(": ");
        }
        let arrow = if rx.reverse.is_some() { "<->" } else { "->" };
        let rate = match &rx.propensity {
            Some(law) => format!("propensity {law}"),
            None => rate(&rx.forward.expr),
        };
        out.push_str(&format!(
            "{} {arrow} {} @ {rate}",
            side(&net.reactants(r), &names),
            side(&net.products(r), &names),
        ));
        if let Some(rev) = &rx.reverse {
            out.push_str(&format!(", {}", rev.expr));
        }
        out.push('\n');
    }
    for o in net.observables() {
        out.push_str(&format!(
            "observables: {} = {}\n",
            format_name(&o.name),
            side(&o.terms, &names)
        ));
    }
    for ev in net.events() {
        out.push_str(&ev.to_crn_line(&names));
        out.push('\n');
    }
    out
}

/// A rate constant after `@`. One that starts with a parameter named `propensity` followed
/// by more (e.g. `propensity - 1`) is put in parentheses, so that it does not read back as
/// the `propensity` keyword of a law.
fn rate(e: &Expr) -> String {
    let text = e.to_string();
    match text.strip_prefix("propensity") {
        Some(rest) if rest.starts_with(' ') => format!("({text})"),
        _ => text,
    }
}
