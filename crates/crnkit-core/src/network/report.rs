//! A summary of a network and its analysis, as text and as JSON (`crnkit check`).

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::Network;
use super::analysis::Analysis;
use super::balance::describe_cycle;
use super::expr::format_number as num;
use crate::error::Result;

/// One reaction of a [`CheckReport`].
#[derive(Debug, Clone, Serialize)]
pub struct ReactionSummary {
    /// Label, or `#n`.
    pub name: String,
    /// Equation, e.g. `A + 2 X <-> 3 X`.
    pub equation: String,
    /// Forward rate expression.
    pub rate: String,
    /// Forward rate value.
    pub rate_value: f64,
    /// Reverse rate expression.
    pub reverse: Option<String>,
    /// Reverse rate value.
    pub reverse_value: Option<f64>,
    /// The general propensity law, when the reaction has one (then the rate is unused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propensity: Option<String>,
}

/// A cycle with non-zero affinity.
#[derive(Debug, Clone, Serialize)]
pub struct CycleSummary {
    /// The cycle in words, e.g. `ab + bc + ca`.
    pub description: String,
    /// (reaction name, multiplicity; negative = backwards).
    pub reactions: Vec<(String, i64)>,
    /// Σ α ln K.
    pub affinity: f64,
}

impl CycleSummary {
    fn new(net: &Network, c: &super::balance::Cycle) -> CycleSummary {
        CycleSummary {
            description: describe_cycle(net, c),
            reactions: c
                .reactions
                .iter()
                .map(|&(r, m)| (net.reaction_name(r), m))
                .collect(),
            affinity: c.affinity,
        }
    }
}

/// Everything `crnkit check` reports about a model.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Species names in order.
    pub species: Vec<String>,
    /// Initial counts in species order.
    pub initial_state: Vec<u64>,
    /// Names of the constant (chemostatted) species.
    pub constant_species: Vec<String>,
    /// Parameter values by name, in definition order.
    #[serde(serialize_with = "ordered_map")]
    pub parameters: Vec<(String, f64)>,
    /// System volume Ω.
    pub volume: f64,
    /// Number of reactions (a reversible pair counts once).
    pub reactions: usize,
    /// Number of irreversible channels.
    pub channels: usize,
    /// The reactions.
    pub reaction_list: Vec<ReactionSummary>,
    /// Events, one `.crn` line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Rank of the effective stoichiometric matrix.
    pub rank: usize,
    /// Basis of conservation laws, integer vectors over `species`.
    pub conservation_laws: Vec<Vec<i64>>,
    /// Whether the basis is non-negative.
    pub conservation_laws_nonnegative: bool,
    /// Conserved totals Σ c_i x_i(0), one per law.
    pub conserved_totals: Vec<i64>,
    /// Complexes of the effective network.
    pub complexes: Vec<String>,
    /// Number of linkage classes.
    pub linkage_classes: usize,
    /// Deficiency.
    pub deficiency: i64,
    /// Weak reversibility.
    pub weakly_reversible: bool,
    /// Detailed balance.
    pub detailed_balanced: bool,
    /// Least-squares residual of the Wegscheider test.
    pub detailed_balance_residual: f64,
    /// Why detailed balance fails.
    pub detailed_balance_reason: Option<String>,
    /// A cycle that violates detailed balance.
    pub violating_cycle: Option<CycleSummary>,
    /// Every basis cycle with its affinity (kT): the driving forces. A network with a
    /// non-zero affinity is driven (held out of equilibrium, e.g. by chemostats).
    pub cycle_affinities: Vec<CycleSummary>,
    /// Free energies (kT) of the non-constant species when balanced, in species order.
    #[serde(serialize_with = "ordered_opt_map")]
    pub free_energies: Option<Vec<(String, f64)>>,
    /// Notes from reading the model.
    pub notes: Vec<String>,
    /// Parts of the analysis not computed because of a size limit, each saying why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_computed: Vec<String>,
}

impl CheckReport {
    /// Analyse `net` and summarise.
    pub fn new(net: &Network) -> Result<CheckReport> {
        let a: Analysis = net.analyze()?;
        let names = net.species_names();
        let init = net.initial_state();
        let db = &a.detailed_balance;
        Ok(CheckReport {
            species: names.iter().map(|s| s.to_string()).collect(),
            initial_state: init.clone(),
            constant_species: net
                .species()
                .filter(|s| s.constant)
                .map(|s| s.name.clone())
                .collect(),
            parameters: net
                .parameters()
                .iter()
                .map(|p| (p.name.clone(), p.value))
                .collect(),
            volume: net.volume(),
            reactions: net.num_reactions(),
            channels: net.num_channels(),
            reaction_list: net
                .reactions()
                .enumerate()
                .map(|(r, rx)| ReactionSummary {
                    name: net.reaction_name(r),
                    equation: net.equation(r),
                    rate: rx.forward.expr.to_string(),
                    rate_value: rx.forward.value,
                    reverse: rx.reverse.as_ref().map(|x| x.expr.to_string()),
                    reverse_value: rx.reverse.as_ref().map(|x| x.value),
                    propensity: rx.propensity.as_ref().map(|e| e.to_string()),
                })
                .collect(),
            events: net
                .events()
                .iter()
                .map(|e| e.to_crn_line(&net.species_names()))
                .collect(),
            rank: a.rank,
            conserved_totals: a
                .conservation
                .laws
                .iter()
                .map(|c| {
                    c.iter()
                        .zip(&init)
                        .map(|(&ci, &x)| ci.saturating_mul(x as i64))
                        .sum()
                })
                .collect(),
            conservation_laws: a.conservation.laws.clone(),
            conservation_laws_nonnegative: a.conservation.nonnegative,
            complexes: a
                .complexes
                .iter()
                .map(|c| c.display(&names).to_string())
                .collect(),
            linkage_classes: a.linkage_classes.len(),
            deficiency: a.deficiency,
            weakly_reversible: a.weakly_reversible,
            detailed_balanced: db.balanced,
            detailed_balance_residual: db.residual,
            detailed_balance_reason: db.reason.clone(),
            violating_cycle: db
                .violating_cycle
                .as_ref()
                .map(|c| CycleSummary::new(net, c)),
            cycle_affinities: db
                .cycles
                .iter()
                .map(|c| CycleSummary::new(net, c))
                .collect(),
            free_energies: db.free_energies.as_ref().map(|g| {
                g.iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (names[i].to_string(), v)))
                    .collect()
            }),
            notes: net.notes().to_vec(),
            not_computed: a.skipped.clone(),
        })
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn ordered_map<S: Serializer>(v: &[(String, f64)], s: S) -> std::result::Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, x) in v {
        m.serialize_entry(k, x)?;
    }
    m.end()
}

fn ordered_opt_map<S: Serializer>(
    v: &Option<Vec<(String, f64)>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => ordered_map(v, s),
        None => s.serialize_none(),
    }
}

fn law_text(law: &[i64], species: &[String]) -> String {
    let mut out = String::new();
    for (i, &c) in law.iter().enumerate() {
        if c == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push_str(if c < 0 { " - " } else { " + " });
        } else if c < 0 {
            out.push('-');
        }
        if c.abs() != 1 {
            out.push_str(&format!("{} ", c.abs()));
        }
        out.push_str(&species[i]);
    }
    out
}

impl CheckReport {
    /// Write the model: species, parameters, volume, reactions and events.
    fn fmt_model(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let species: Vec<String> = self
            .species
            .iter()
            .zip(&self.initial_state)
            .map(|(s, n)| {
                let c = if self.constant_species.contains(s) {
                    " (constant)"
                } else {
                    ""
                };
                format!("{s} = {n}{c}")
            })
            .collect();
        writeln!(
            f,
            "species ({}): {}",
            self.species.len(),
            species.join(", ")
        )?;
        if !self.parameters.is_empty() {
            let ps: Vec<String> = self
                .parameters
                .iter()
                .map(|(k, v)| format!("{k} = {}", num(*v)))
                .collect();
            writeln!(f, "parameters ({}): {}", ps.len(), ps.join(", "))?;
        }
        writeln!(f, "volume: {}", num(self.volume))?;
        writeln!(
            f,
            "reactions: {} ({} channels)",
            self.reactions, self.channels
        )?;
        for r in &self.reaction_list {
            if let Some(law) = &r.propensity {
                writeln!(f, "  {:<14} {:<28} @ propensity {law}", r.name, r.equation)?;
                continue;
            }
            match (&r.reverse, r.reverse_value) {
                (Some(rev), Some(rv)) => writeln!(
                    f,
                    "  {:<14} {:<28} @ {} = {}, {} = {}",
                    r.name,
                    r.equation,
                    r.rate,
                    num(r.rate_value),
                    rev,
                    num(rv)
                )?,
                _ => writeln!(
                    f,
                    "  {:<14} {:<28} @ {} = {}",
                    r.name,
                    r.equation,
                    r.rate,
                    num(r.rate_value)
                )?,
            }
        }
        if !self.events.is_empty() {
            writeln!(f, "events ({}):", self.events.len())?;
            for e in &self.events {
                writeln!(f, "  {e}")?;
            }
        }
        Ok(())
    }

    /// Write the structural analysis: rank, conservation laws, complexes and deficiency.
    fn fmt_structure(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "stoichiometric rank: {}", self.rank)?;
        let dim = self.species.len() - self.constant_species.len() - self.rank;
        if self.conservation_laws.len() < dim {
            writeln!(f, "conservation laws: {dim}, not listed (see below)")?;
        } else if self.conservation_laws.is_empty() {
            writeln!(f, "conservation laws: none")?;
        } else {
            writeln!(
                f,
                "conservation laws ({}{}):",
                self.conservation_laws.len(),
                if self.conservation_laws_nonnegative {
                    ", non-negative basis"
                } else {
                    ", no non-negative basis exists"
                }
            )?;
            for (law, total) in self.conservation_laws.iter().zip(&self.conserved_totals) {
                writeln!(f, "  {} = {}", law_text(law, &self.species), total)?;
            }
        }
        writeln!(
            f,
            "complexes: {}; linkage classes: {}; deficiency: {}; weakly reversible: {}",
            self.complexes.len(),
            self.linkage_classes,
            self.deficiency,
            if self.weakly_reversible { "yes" } else { "no" }
        )?;
        Ok(())
    }

    /// Write the thermodynamics: detailed balance, cycle affinities and free energies.
    fn fmt_thermodynamics(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detailed_balanced {
            writeln!(
                f,
                "detailed balance: yes (residual {:.3e})",
                self.detailed_balance_residual
            )?;
        } else {
            writeln!(f, "detailed balance: no")?;
            if let Some(reason) = &self.detailed_balance_reason {
                writeln!(f, "  {reason}")?;
            }
        }
        if !self.cycle_affinities.is_empty() {
            let driven = self
                .cycle_affinities
                .iter()
                .any(|c| c.affinity.abs() > 1e-9);
            writeln!(
                f,
                "cycle affinities (kT): {} ({})",
                self.cycle_affinities
                    .iter()
                    .map(|c| format!("{}: {:.6}", c.description, c.affinity))
                    .collect::<Vec<_>>()
                    .join("; "),
                if driven {
                    "driven: held out of equilibrium"
                } else {
                    "no driving: equilibrium"
                }
            )?;
        }
        if let Some(g) = &self.free_energies {
            let gs: Vec<String> = g.iter().map(|(s, v)| format!("{s} = {v:.6}")).collect();
            writeln!(f, "free energies (kT, minimum-norm): {}", gs.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_model(f)?;
        self.fmt_structure(f)?;
        self.fmt_thermodynamics(f)?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        for n in &self.not_computed {
            writeln!(f, "not computed: {n}")?;
        }
        Ok(())
    }
}
