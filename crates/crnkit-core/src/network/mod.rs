//! Reaction networks: species, parameters, reactions, stored as a petgraph bipartite graph.
//!
//! A [`Network`] is the source of truth for a model. Its graph has one node per species and
//! one per reaction; an edge species → reaction carries the reactant stoichiometry, an edge
//! reaction → species the product stoichiometry. A reaction may carry a reverse rate, in
//! which case it stands for a reversible pair. Networks come from the `.crn` model language
//! ([`Network::from_crn_str`]), JSON/TOML files ([`NetworkSpec`]) or the
//! [`NetworkBuilder`], and are compiled into flat arrays ([`CompiledNetwork`]) for hot loops.
//!
//! # Propensity convention
//!
//! For a reaction channel r with reactant stoichiometry ν_r, rate constant k_r and system
//! volume Ω, the propensity in state x is
//!
//! a_r(x) = k_r · Ω^(1−|ν_r|) · Π_i (x_i)_(ν_ir),
//!
//! where (x)_n = x(x−1)…(x−n+1) is the falling factorial and |ν_r| = Σ_i ν_ir. There is no
//! 1/ν! factor: with this convention the deterministic flux is k_r Π_i c_i^(ν_ir) and the
//! Anderson–Craciun–Kurtz product-form stationary distribution holds with the same k_r
//! (Anderson, Craciun, Kurtz, Bull. Math. Biol. 72:1947, 2010,
//! doi:10.1007/s11538-010-9517-4).

mod analysis;
mod balance;
mod builder;
mod compiled;
mod event;
mod expr;
pub(crate) mod lex;
mod linalg;
mod params;
mod parse;
pub mod program;
mod report;
mod spec;
mod write;

pub use analysis::{Analysis, Complex, ConservationLaws};
pub use balance::{Cycle, DetailedBalance, ThermodynamicBuilder};
pub use builder::NetworkBuilder;
pub use compiled::CompiledNetwork;
pub use event::{CmpOp, Condition, Event, MAX_CASCADE, TIME};
pub use expr::{BinOp, Expr, Func, MAX_EXPR_DEPTH};
pub use report::{CheckReport, CycleSummary, ReactionSummary};
pub use spec::count as spec_count;
pub use spec::{
    Assignments, EventSpec, NetworkSpec, ObservableSpec, ParameterSpec, ReactionSpec, SpeciesSpec,
    Terms,
};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::error::{Error, Result};

/// The error for `what` on a reaction with a propensity law.
pub(crate) fn law_refusal(what: &str, reaction: &str) -> Error {
    Error::Unsupported {
        feature: format!(
            "{what} for reaction {reaction} with a general propensity law (mass action only; \
             simulate it with the exact simulators)"
        ),
    }
}

/// The error for `what` on a network with events.
pub(crate) fn event_refusal(what: &str, event: &str) -> Error {
    Error::Unsupported {
        feature: format!(
            "{what} for a network with events (event `{event}`; simulate it with the exact \
             simulators)"
        ),
    }
}

/// The largest count accepted, 2^53 − 1: every count and its successor are exact in `f64`.
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// A chemical species.
#[derive(Debug, Clone, PartialEq)]
pub struct Species {
    /// Unique name.
    pub name: String,
    /// Initial copy number.
    pub initial: u64,
    /// Constant (boundary) species: its count never changes; it acts as a chemostat whose
    /// count enters propensities.
    pub constant: bool,
}

/// A named parameter defined by an expression of earlier parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Unique name.
    pub name: String,
    /// Definition as written.
    pub expr: Expr,
    /// Current value.
    pub value: f64,
}

/// A rate constant: its expression and current value.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// Expression of parameters as written.
    pub expr: Expr,
    /// Current value (finite, ≥ 0).
    pub value: f64,
}

/// A reaction (or reversible pair). Its reactants and products are the graph's edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    /// Optional unique label.
    pub label: Option<String>,
    /// Forward mass-action rate constant.
    pub forward: Rate,
    /// Reverse rate constant, for a reversible pair.
    pub reverse: Option<Rate>,
    /// A general propensity law: when set, the channel's propensity is this expression of
    /// species counts and parameters instead of mass action (the reaction is irreversible
    /// and `forward` is 1). Its value must be finite and ≥ 0 in every state reached.
    pub propensity: Option<Expr>,
}

/// An observable: a named sum of species counts with positive integer weights (e.g. the
/// total of a protein over all its complexes, or a BioNetGen group).
#[derive(Debug, Clone, PartialEq)]
pub struct Observable {
    /// Unique name.
    pub name: String,
    /// (species index, weight), sorted as declared.
    pub terms: Vec<Term>,
}

/// A node of the bipartite network graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A species node.
    Species(Species),
    /// A reaction node.
    Reaction(Reaction),
}

/// A chemical reaction network.
///
/// Build one with [`NetworkBuilder`], parse the `.crn` language with
/// [`Network::from_crn_str`] / `crnkit_io::read_network`, or make a detailed-balanced one from
/// free energies with [`ThermodynamicBuilder`].
#[derive(Debug, Clone)]
pub struct Network {
    volume: Rate,
    parameters: Vec<Parameter>,
    graph: DiGraph<Node, u32>,
    species: Vec<NodeIndex>,
    reactions: Vec<NodeIndex>,
    observables: Vec<Observable>,
    events: Vec<Event>,
    /// The events compiled (validated when the network was built).
    compiled_events: program::Events,
    /// Each reaction's compiled propensity law, if it has one.
    laws: Vec<Option<program::Code>>,
    notes: Vec<String>,
}

impl PartialEq for Network {
    /// Two networks are equal when they have the same species, parameters, reactions (with
    /// the same stoichiometry and rate expressions) and volume, in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.to_spec() == other.to_spec()
    }
}

/// A reactant or product: species index and stoichiometric coefficient.
pub type Term = (usize, u32);

impl Network {
    /// Start building a network in Rust.
    pub fn builder() -> NetworkBuilder {
        NetworkBuilder::new()
    }

    /// Number of species.
    pub fn num_species(&self) -> usize {
        self.species.len()
    }

    /// Number of reactions (a reversible pair counts once).
    pub fn num_reactions(&self) -> usize {
        self.reactions.len()
    }

    /// Number of irreversible reaction channels (a reversible pair counts twice).
    pub fn num_channels(&self) -> usize {
        self.reactions
            .iter()
            .map(|&n| 1 + usize::from(self.reaction_node(n).reverse.is_some()))
            .sum()
    }

    /// The species, in declaration order.
    pub fn species(&self) -> impl ExactSizeIterator<Item = &Species> + '_ {
        self.species.iter().map(|&n| match &self.graph[n] {
            Node::Species(s) => s,
            Node::Reaction(_) => unreachable!("species index points at a species node"),
        })
    }

    /// Species `i`.
    pub fn species_at(&self, i: usize) -> Result<&Species> {
        let n = *self.species.get(i).ok_or(Error::IndexOutOfRange {
            kind: "species",
            index: i,
            len: self.species.len(),
        })?;
        match &self.graph[n] {
            Node::Species(s) => Ok(s),
            Node::Reaction(_) => unreachable!("species index points at a species node"),
        }
    }

    /// Species names in order.
    pub fn species_names(&self) -> Vec<&str> {
        self.species().map(|s| s.name.as_str()).collect()
    }

    /// Index of the species called `name`.
    pub fn species_index(&self, name: &str) -> Option<usize> {
        self.species().position(|s| s.name == name)
    }

    /// Initial state (counts in species order).
    pub fn initial_state(&self) -> Vec<u64> {
        self.species().map(|s| s.initial).collect()
    }

    /// The parameters, in definition order.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// Value of the parameter called `name`.
    pub fn parameter(&self, name: &str) -> Option<f64> {
        self.parameters
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value)
    }

    /// System volume Ω (default 1).
    pub fn volume(&self) -> f64 {
        self.volume.value
    }

    /// The volume's expression as written.
    pub fn volume_expr(&self) -> &Expr {
        &self.volume.expr
    }

    fn reaction_node(&self, n: NodeIndex) -> &Reaction {
        match &self.graph[n] {
            Node::Reaction(r) => r,
            Node::Species(_) => unreachable!("reaction index points at a reaction node"),
        }
    }

    /// The reactions, in order.
    pub fn reactions(&self) -> impl ExactSizeIterator<Item = &Reaction> + '_ {
        self.reactions.iter().map(|&n| self.reaction_node(n))
    }

    /// Reaction `r`.
    pub fn reaction(&self, r: usize) -> Result<&Reaction> {
        let n = *self.reactions.get(r).ok_or(Error::IndexOutOfRange {
            kind: "reaction",
            index: r,
            len: self.reactions.len(),
        })?;
        Ok(self.reaction_node(n))
    }

    fn terms(&self, r: usize, dir: Direction) -> Vec<Term> {
        let Some(&n) = self.reactions.get(r) else {
            return Vec::new();
        };
        let mut out: Vec<Term> = self
            .graph
            .edges_directed(n, dir)
            .map(|e| {
                let other = if dir == Direction::Incoming {
                    e.source()
                } else {
                    e.target()
                };
                (self.species_position(other), *e.weight())
            })
            .collect();
        out.sort_unstable();
        out
    }

    fn species_position(&self, n: NodeIndex) -> usize {
        // Species are added first and in order, so the node index is the species index.
        debug_assert_eq!(self.species[n.index()], n);
        n.index()
    }

    /// Reactants of reaction `r` as (species index, coefficient), sorted by species.
    pub fn reactants(&self, r: usize) -> Vec<Term> {
        self.terms(r, Direction::Incoming)
    }

    /// Products of reaction `r` as (species index, coefficient), sorted by species.
    pub fn products(&self, r: usize) -> Vec<Term> {
        self.terms(r, Direction::Outgoing)
    }

    /// The bipartite species ⇄ reaction graph (edge weight = stoichiometric coefficient).
    pub fn graph(&self) -> &DiGraph<Node, u32> {
        &self.graph
    }

    /// The observables.
    pub fn observables(&self) -> &[Observable] {
        &self.observables
    }

    /// Notes recorded while reading the model (e.g. species declared implicitly).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// A readable name for reaction `r`: its label, or its equation.
    pub fn reaction_name(&self, r: usize) -> String {
        match self.reaction(r) {
            Ok(Reaction { label: Some(l), .. }) => l.clone(),
            Ok(_) => format!("#{} ({})", r + 1, self.equation(r)),
            Err(_) => format!("#{}", r + 1),
        }
    }

    /// The equation of reaction `r`, e.g. `A + 2 X <-> 3 X`.
    pub fn equation(&self, r: usize) -> String {
        let reversible = self.reaction(r).is_ok_and(|x| x.reverse.is_some());
        let (lhs, rhs) = (self.reactants(r), self.products(r));
        // Only the species of this reaction are named (listing all costs O(species)).
        let name = |i: usize| self.species_at(i).map_or("?", |s| s.name.as_str());
        let arrow = if reversible { "<->" } else { "->" };
        format!(
            "{} {arrow} {}",
            write::side_with(&lhs, name),
            write::side_with(&rhs, name)
        )
    }

    /// The events, in declaration order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub(crate) fn law(&self, r: usize) -> Option<&program::Code> {
        self.laws.get(r).and_then(Option::as_ref)
    }

    pub(crate) fn compiled_events(&self) -> &program::Events {
        &self.compiled_events
    }

    /// Does some reaction have a general propensity law (not mass action)?
    pub fn has_propensity_laws(&self) -> bool {
        self.reactions().any(|r| r.propensity.is_some())
    }

    /// Refuse networks that are not plain mass action without events, for analyses that need
    /// one (`what` names the analysis in the error).
    pub fn require_mass_action(&self, what: &str) -> Result<()> {
        if let Some(r) = (0..self.num_reactions())
            .find(|&r| self.reaction(r).is_ok_and(|x| x.propensity.is_some()))
        {
            return Err(law_refusal(what, &self.reaction_name(r)));
        }
        match self.events.first() {
            Some(ev) => Err(event_refusal(what, &ev.name)),
            None => Ok(()),
        }
    }

    /// Change the value of parameter `name` and re-evaluate everything that depends on it.
    ///
    /// On error (unknown name, a parameter or rate becoming invalid) the network is left
    /// unchanged.
    pub fn set_parameter(&mut self, name: &str, value: f64) -> Result<()> {
        self.set_parameters(&[(name, value)])
    }

    /// Set the initial count of species `i`.
    pub fn set_initial(&mut self, i: usize, count: u64) -> Result<()> {
        let len = self.species.len();
        let n = *self.species.get(i).ok_or(Error::IndexOutOfRange {
            kind: "species",
            index: i,
            len,
        })?;
        if count > MAX_COUNT {
            return Err(Error::InvalidCount {
                species: self.species_at(i)?.name.clone(),
                value: count.to_string(),
            });
        }
        if let Node::Species(s) = &mut self.graph[n] {
            s.initial = count;
        }
        Ok(())
    }

    /// Compile into flat arrays for simulation.
    pub fn compile(&self) -> CompiledNetwork {
        CompiledNetwork::new(self)
    }

    /// Structural and thermodynamic analysis (stoichiometry, conservation laws, deficiency,
    /// weak reversibility, detailed balance).
    pub fn analyze(&self) -> Result<Analysis> {
        Analysis::of(self)
    }

    /// Parse a network from `.crn` text; `file` names it in error messages.
    pub fn from_crn_str(text: &str, file: &str) -> Result<Network> {
        parse::parse_crn(text, file)
    }

    /// Write the network in the `.crn` model language.
    pub fn to_crn_string(&self) -> String {
        write::write_crn(self)
    }

    /// Write a model file; the format follows the extension (`.crn`, `.json`, `.toml`).
    /// The file is written to a temporary name and renamed, so it is never left half-written.
    pub fn to_file(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("crn") => self.to_crn_string(),
            Some("json") => self.to_spec().to_json_string(),
            Some("toml") => self.to_spec().to_toml_string()?,
            _ => return Err(Error::UnknownFormat { path: shown }),
        };
        crate::fs::write_atomic(path, text.as_bytes())
    }

    /// The serialisable description of this network.
    pub fn to_spec(&self) -> NetworkSpec {
        let names = self.species_names();
        let term_map = |terms: Vec<Term>| -> Vec<(String, u32)> {
            terms
                .into_iter()
                .map(|(i, c)| (names[i].to_string(), c))
                .collect()
        };
        NetworkSpec {
            volume: self.volume.expr.clone(),
            parameters: self
                .parameters
                .iter()
                .map(|p| ParameterSpec {
                    name: p.name.clone(),
                    value: p.expr.clone(),
                })
                .collect(),
            species: self
                .species()
                .map(|s| SpeciesSpec {
                    name: s.name.clone(),
                    initial: s.initial as f64,
                    constant: s.constant,
                })
                .collect(),
            reactions: (0..self.num_reactions())
                .map(|r| {
                    let rx = self.reaction_node(self.reactions[r]);
                    ReactionSpec {
                        label: rx.label.clone(),
                        reactants: spec::Terms(term_map(self.reactants(r))),
                        products: spec::Terms(term_map(self.products(r))),
                        rate: rx.forward.expr.clone(),
                        reverse: rx.reverse.as_ref().map(|x| x.expr.clone()),
                        propensity: rx.propensity.clone(),
                    }
                })
                .collect(),
            observables: self
                .observables
                .iter()
                .map(|o| ObservableSpec {
                    name: o.name.clone(),
                    terms: spec::Terms(term_map(o.terms.clone())),
                })
                .collect(),
            events: self
                .events
                .iter()
                .map(|e| EventSpec {
                    name: e.name.clone(),
                    trigger: e.trigger.clone(),
                    initial_value: e.initial_value,
                    assign: Assignments(
                        e.assignments
                            .iter()
                            .map(|(i, x)| (names[*i].to_string(), x.clone()))
                            .collect(),
                    ),
                })
                .collect(),
        }
    }
}
