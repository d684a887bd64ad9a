//! The serialisable description of a network (JSON / TOML model files) and its validation.
//!
//! [`NetworkSpec::build`] is the single place where a network description is checked; the
//! builder, the `.crn` parser and the file readers all go through it.
//!
//! ```toml
//! volume = 1.0
//! [[parameters]]
//! name = "k1"
//! value = 0.03
//! [[species]]
//! name = "X"
//! initial = 250
//! [[reactions]]
//! rate = "2 * k1"
//! reverse = 0.5
//! [reactions.reactants]
//! X = 2
//! [reactions.products]
//! X = 3
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::program::{Code, Events, Scope};
use super::{
    Condition, Event, Expr, MAX_COUNT, Network, Node, Observable, Parameter, Rate, Reaction,
    Species,
};
use crate::error::{Error, Result};

fn default_volume() -> Expr {
    Expr::Num(1.0)
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

fn one() -> Expr {
    Expr::Num(1.0)
}

fn is_one(e: &Expr) -> bool {
    *e == Expr::Num(1.0)
}

/// A whole network, as stored in JSON or TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// System volume Ω (a number or an expression of parameters).
    #[serde(default = "default_volume")]
    pub volume: Expr,
    /// Parameters in definition order; each may use the ones before it.
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    /// Species in order.
    #[serde(default)]
    pub species: Vec<SpeciesSpec>,
    /// Reactions in order.
    #[serde(default)]
    pub reactions: Vec<ReactionSpec>,
    /// Observables: named weighted sums of species counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observables: Vec<ObservableSpec>,
    /// Events (see [`Event`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventSpec>,
}

/// An event, as stored in JSON or TOML:
///
/// ```toml
/// [[events]]
/// name = "reset"
/// trigger = "time >= 25"
/// [events.assign]
/// X = 50
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// Unique name.
    pub name: String,
    /// The trigger condition (text, see [`Condition`]).
    pub trigger: Condition,
    /// The trigger's value before the start (default true: no firing at the start).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub initial_value: bool,
    /// Species → new count (an expression of species, parameters and `time`), in order.
    #[serde(default)]
    pub assign: Assignments,
}

/// Event assignments: species name → expression, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assignments(pub Vec<(String, Expr)>);

impl Serialize for Assignments {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, e) in &self.0 {
            map.serialize_entry(name, e)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Assignments {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Assignments;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a map from species name to an expression")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Assignments, A::Error> {
                let mut out = Vec::new();
                while let Some((name, e)) = m.next_entry::<String, Expr>()? {
                    out.push((name, e));
                }
                Ok(Assignments(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// An observable: a named sum of species counts with positive integer weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservableSpec {
    /// Name.
    pub name: String,
    /// Species and weights.
    pub terms: Terms,
}

/// A parameter definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// Name.
    pub name: String,
    /// A number or an expression of earlier parameters.
    pub value: Expr,
}

/// A species declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeciesSpec {
    /// Name.
    pub name: String,
    /// Initial count (must be a non-negative integer < 2^53).
    #[serde(default, serialize_with = "serialize_count")]
    pub initial: f64,
    /// Constant (boundary / chemostatted) species.
    #[serde(default, skip_serializing_if = "is_false")]
    pub constant: bool,
}

fn serialize_count<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && *v >= 0.0 && *v <= MAX_COUNT as f64 {
        s.serialize_u64(*v as u64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Reactants or products: species name → stoichiometric coefficient, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terms(pub Vec<(String, u32)>);

impl Serialize for Terms {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, c) in &self.0 {
            map.serialize_entry(name, c)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Terms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Terms;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a map from species name to a positive integer coefficient"
                )
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Terms, A::Error> {
                let mut out = Vec::new();
                while let Some((name, c)) = m.next_entry::<String, f64>()? {
                    let c = stoichiometry(c, &format!("{c}")).map_err(serde::de::Error::custom)?;
                    out.push((name, c));
                }
                Ok(Terms(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A reaction or reversible pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionSpec {
    /// Optional unique label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Reactants (may be empty).
    #[serde(default)]
    pub reactants: Terms,
    /// Products (may be empty).
    #[serde(default)]
    pub products: Terms,
    /// Forward rate constant (default 1; must stay 1 with a `propensity` law).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub rate: Expr,
    /// Reverse rate constant (makes it a reversible pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<Expr>,
    /// A general propensity law: an expression of species counts and parameters used
    /// instead of mass action (irreversible reactions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propensity: Option<Expr>,
}

/// Check a stoichiometric coefficient: a positive integer that fits in `u32`.
pub(crate) fn stoichiometry(value: f64, text: &str) -> Result<u32> {
    if value.is_finite() && value.fract() == 0.0 && value >= 1.0 && value <= u32::MAX as f64 {
        Ok(value as u32)
    } else {
        Err(Error::NonIntegerStoichiometry {
            value: text.to_string(),
        })
    }
}

/// Check an initial count: a non-negative integer ≤ [`MAX_COUNT`].
pub fn count(species: &str, value: f64, text: &str) -> Result<u64> {
    if value.is_finite() && value.fract() == 0.0 && value >= 0.0 && value <= MAX_COUNT as f64 {
        Ok(value as u64)
    } else {
        Err(Error::InvalidCount {
            species: species.to_string(),
            value: text.to_string(),
        })
    }
}

/// Check a name for use as a species, parameter or label.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidName {
            name: name.to_string(),
            reason: "names must not be empty",
        });
    }
    if name.contains('\n') || name.contains('\r') {
        return Err(Error::InvalidName {
            name: name.to_string(),
            reason: "names must not contain line breaks",
        });
    }
    Ok(())
}

/// Evaluate `expr` against the parameters defined so far.
pub(crate) fn eval_with(
    expr: &Expr,
    params: &[Parameter],
    species: &[SpeciesSpec],
    all_params: &[ParameterSpec],
) -> Result<f64> {
    expr.eval(&|name| params.iter().find(|p| p.name == name).map(|p| p.value))
        .map_err(|e| match e {
            Error::UnknownParameter { name, .. } => {
                let hint = if species.iter().any(|s| s.name == name) {
                    " (it is a species; rate expressions may use parameters only)".to_string()
                } else if all_params.iter().any(|p| p.name == name) {
                    " (parameters must be defined before they are used)".to_string()
                } else {
                    String::new()
                };
                Error::UnknownParameter { name, hint }
            }
            other => other,
        })
}

/// Compile the propensity law of reaction `reaction` and check it at the initial state.
pub(crate) fn compile_law(
    law: &Expr,
    reaction: &str,
    species: &HashMap<&str, usize>,
    params: &dyn Fn(&str) -> Option<f64>,
    initial: &[u64],
) -> Result<Code> {
    let scope = Scope {
        species,
        params,
        context: format!("the propensity of reaction {reaction}"),
        allow_time: false,
    };
    let code = Code::compile(law, &scope)?;
    let a0 = code.eval(initial, 0.0);
    if !(a0.is_finite() && a0 >= 0.0) {
        return Err(Error::InvalidPropensity {
            reaction: reaction.to_string(),
            value: a0,
            state: "the initial state".into(),
        });
    }
    Ok(code)
}

/// How errors name reaction `r`: its label, or `#r+1` (1-based) without one.
pub(crate) fn described(label: Option<&String>, r: usize) -> String {
    match label {
        Some(l) => l.clone(),
        None => format!("#{}", r + 1),
    }
}

/// Check a rate value.
pub(crate) fn rate(reaction: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidRate {
            reaction: reaction.to_string(),
            value,
        })
    }
}

impl NetworkSpec {
    /// Parse a JSON model; `file` names it in errors.
    pub fn from_json_str(text: &str, file: &str) -> Result<NetworkSpec> {
        serde_json::from_str(text).map_err(|e| Error::Json {
            file: file.to_string(),
            line: e.line(),
            col: e.column(),
            msg: e.to_string(),
        })
    }

    /// Parse a TOML model; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<NetworkSpec> {
        toml::from_str(text).map_err(|e| Error::Toml {
            file: file.to_string(),
            msg: e.to_string(),
        })
    }

    /// Pretty JSON.
    pub fn to_json_string(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// TOML.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::Toml {
            file: "<output>".into(),
            msg: e.to_string(),
        })
    }

    /// Validate and build the network.
    ///
    /// Errors: [`Error::InvalidName`], [`Error::DuplicateName`], [`Error::UnknownParameter`],
    /// [`Error::InvalidParameter`], [`Error::InvalidCount`], [`Error::UnknownSpecies`],
    /// [`Error::EmptyReaction`], [`Error::InvalidRate`], [`Error::InvalidVolume`],
    /// [`Error::EmptyNetwork`].
    pub fn build(&self) -> Result<Network> {
        let params = self.build_parameters()?;
        let volume = eval_with(&self.volume, &params, &self.species, &self.parameters)?;
        if !(volume.is_finite() && volume > 0.0) {
            return Err(Error::InvalidVolume { value: volume });
        }

        let param_names: HashSet<&str> = params.iter().map(|p| p.name.as_str()).collect();
        let param_value = |name: &str| params.iter().find(|p| p.name == name).map(|p| p.value);
        let mut graph: DiGraph<Node, u32> = DiGraph::new();
        let (species_nodes, index) = self.build_species(&param_names, &mut graph)?;

        if self.reactions.is_empty() {
            return Err(Error::EmptyNetwork);
        }
        let (laws, reaction_nodes) =
            self.build_reactions(&params, &index, &species_nodes, &mut graph)?;
        let observables = self.build_observables(&index)?;
        let events = self.build_events(&index, &param_names)?;
        // Compiling checks every name, and that the clock is used as events allow.
        let compiled_events = Events::compile(&events, &index, &param_value)?;
        Ok(Network {
            events,
            compiled_events,
            laws,
            observables,
            volume: Rate {
                expr: self.volume.clone(),
                value: volume,
            },
            parameters: params,
            graph,
            species: species_nodes,
            reactions: reaction_nodes,
            notes: Vec::new(),
        })
    }

    /// Check and evaluate the parameters in definition order.
    fn build_parameters(&self) -> Result<Vec<Parameter>> {
        let mut params: Vec<Parameter> = Vec::with_capacity(self.parameters.len());
        for p in &self.parameters {
            check_name(&p.name)?;
            if params.iter().any(|q| q.name == p.name) {
                return Err(Error::DuplicateName {
                    kind: "parameter",
                    name: p.name.clone(),
                });
            }
            let value = eval_with(&p.value, &params, &self.species, &self.parameters)?;
            if !value.is_finite() {
                return Err(Error::InvalidParameter {
                    name: p.name.clone(),
                    value,
                });
            }
            params.push(Parameter {
                name: p.name.clone(),
                expr: p.value.clone(),
                value,
            });
        }
        Ok(params)
    }

    /// Check the species and add their nodes; returns the nodes and the name → index map.
    fn build_species(
        &self,
        param_names: &HashSet<&str>,
        graph: &mut DiGraph<Node, u32>,
    ) -> Result<(Vec<NodeIndex>, HashMap<&str, usize>)> {
        let mut species_nodes = Vec::with_capacity(self.species.len());
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(self.species.len());
        for (i, s) in self.species.iter().enumerate() {
            check_name(&s.name)?;
            if index.insert(s.name.as_str(), i).is_some() {
                return Err(Error::DuplicateName {
                    kind: "species",
                    name: s.name.clone(),
                });
            }
            if param_names.contains(s.name.as_str()) {
                return Err(Error::DuplicateName {
                    kind: "name (used for a species and a parameter)",
                    name: s.name.clone(),
                });
            }
            let initial = count(&s.name, s.initial, &format!("{}", s.initial))?;
            species_nodes.push(graph.add_node(Node::Species(Species {
                name: s.name.clone(),
                initial,
                constant: s.constant,
            })));
        }
        Ok((species_nodes, index))
    }

    /// Check the reactions and add their nodes and edges; returns the laws and the nodes.
    fn build_reactions(
        &self,
        params: &[Parameter],
        index: &HashMap<&str, usize>,
        species_nodes: &[NodeIndex],
        graph: &mut DiGraph<Node, u32>,
    ) -> Result<(Vec<Option<Code>>, Vec<NodeIndex>)> {
        let species_initial: Vec<u64> = species_nodes
            .iter()
            .map(|&n| match &graph[n] {
                Node::Species(s) => s.initial,
                Node::Reaction(_) => 0,
            })
            .collect();
        let mut labels: HashSet<&str> = HashSet::new();
        let mut laws: Vec<Option<Code>> = Vec::with_capacity(self.reactions.len());
        let mut reaction_nodes = Vec::with_capacity(self.reactions.len());
        for (r, rx) in self.reactions.iter().enumerate() {
            if let Some(label) = &rx.label {
                check_name(label)?;
                if !labels.insert(label.as_str()) {
                    return Err(Error::DuplicateName {
                        kind: "reaction label",
                        name: label.clone(),
                    });
                }
            }
            let built = self.build_reaction(r, rx, params, index, &species_initial)?;
            laws.push(built.law);
            let node = graph.add_node(Node::Reaction(built.reaction));
            for (i, c) in built.reactants {
                graph.add_edge(species_nodes[i], node, c);
            }
            for (i, c) in built.products {
                graph.add_edge(node, species_nodes[i], c);
            }
            reaction_nodes.push(node);
        }
        Ok((laws, reaction_nodes))
    }

    /// Check one reaction `rx` (number `r`): its terms, rates and propensity law.
    fn build_reaction(
        &self,
        r: usize,
        rx: &ReactionSpec,
        params: &[Parameter],
        index: &HashMap<&str, usize>,
        species_initial: &[u64],
    ) -> Result<BuiltReaction> {
        let param_value = |name: &str| params.iter().find(|p| p.name == name).map(|p| p.value);
        let reactants = merge_terms(&rx.reactants, index)?;
        let products = merge_terms(&rx.products, index)?;
        let describe = || described(rx.label.as_ref(), r);
        if reactants.is_empty() && products.is_empty() {
            return Err(Error::EmptyReaction {
                reaction: describe(),
            });
        }
        let fwd = eval_with(&rx.rate, params, &self.species, &self.parameters)?;
        let fwd = rate(&describe(), fwd)?;
        let law = if let Some(law) = &rx.propensity {
            if rx.reverse.is_some() || !is_one(&rx.rate) {
                return Err(Error::Unsupported {
                    feature: format!(
                        "a rate constant or reverse rate on reaction {} with a propensity \
                         law (the law is the whole propensity of one irreversible channel)",
                        describe()
                    ),
                });
            }
            let code = compile_law(law, &describe(), index, &param_value, species_initial)?;
            Some(code)
        } else {
            None
        };
        let reverse = match &rx.reverse {
            Some(e) => {
                let v = eval_with(e, params, &self.species, &self.parameters)?;
                Some(Rate {
                    expr: e.clone(),
                    value: rate(&format!("{} (reverse)", describe()), v)?,
                })
            }
            None => None,
        };
        let reaction = Reaction {
            label: rx.label.clone(),
            forward: Rate {
                expr: rx.rate.clone(),
                value: fwd,
            },
            reverse,
            propensity: rx.propensity.clone(),
        };
        Ok(BuiltReaction {
            law,
            reaction,
            reactants,
            products,
        })
    }

    /// Check the observables and merge repeated species in each.
    fn build_observables(&self, index: &HashMap<&str, usize>) -> Result<Vec<Observable>> {
        let mut observables: Vec<Observable> = Vec::with_capacity(self.observables.len());
        for o in &self.observables {
            check_name(&o.name)?;
            if observables.iter().any(|q| q.name == o.name) {
                return Err(Error::DuplicateName {
                    kind: "observable",
                    name: o.name.clone(),
                });
            }
            let mut terms: Vec<(usize, u32)> = Vec::new();
            for (name, w) in &o.terms.0 {
                let i = lookup(index, name)?;
                match terms.iter_mut().find(|(j, _)| *j == i) {
                    Some((_, acc)) => {
                        *acc = acc
                            .checked_add(*w)
                            .ok_or(Error::Overflow("observable weight"))?
                    }
                    None => terms.push((i, *w)),
                }
            }
            observables.push(Observable {
                name: o.name.clone(),
                terms,
            });
        }
        Ok(observables)
    }

    /// Check the events and resolve their assignment targets (compiled separately).
    fn build_events(
        &self,
        index: &HashMap<&str, usize>,
        param_names: &HashSet<&str>,
    ) -> Result<Vec<Event>> {
        let mut events: Vec<Event> = Vec::with_capacity(self.events.len());
        for e in &self.events {
            check_name(&e.name)?;
            if events.iter().any(|q| q.name == e.name) {
                return Err(Error::DuplicateName {
                    kind: "event",
                    name: e.name.clone(),
                });
            }
            if e.assign.0.is_empty() {
                return Err(Error::InvalidEvent {
                    event: e.name.clone(),
                    reason: "it assigns nothing".into(),
                });
            }
            let mut assignments: Vec<(usize, Expr)> = Vec::with_capacity(e.assign.0.len());
            for (name, value) in &e.assign.0 {
                let i = match index.get(name.as_str()) {
                    Some(&i) => i,
                    None if param_names.contains(name.as_str()) => {
                        return Err(Error::Unsupported {
                            feature: format!(
                                "event `{}` assigns parameter `{name}` (events may assign \
                                 species counts only)",
                                e.name
                            ),
                        });
                    }
                    None => lookup(index, name)?,
                };
                if assignments.iter().any(|(j, _)| *j == i) {
                    return Err(Error::DuplicateName {
                        kind: "event assignment",
                        name: format!("{name} (in event `{}`)", e.name),
                    });
                }
                assignments.push((i, value.clone()));
            }
            // Assignments are simultaneous: keep them in species order, so that every file
            // format (TOML sorts its keys) gives the same network.
            assignments.sort_by_key(|(i, _)| *i);
            events.push(Event {
                name: e.name.clone(),
                trigger: e.trigger.clone(),
                assignments,
                initial_value: e.initial_value,
            });
        }
        Ok(events)
    }
}

/// One checked reaction, before its node and edges are added.
struct BuiltReaction {
    /// The compiled propensity law, if it has one.
    law: Option<Code>,
    /// The reaction node's contents.
    reaction: Reaction,
    /// Reactant species indices and coefficients.
    reactants: Vec<(usize, u32)>,
    /// Product species indices and coefficients.
    products: Vec<(usize, u32)>,
}

/// The index of species `name`, or [`Error::UnknownSpecies`].
fn lookup(index: &HashMap<&str, usize>, name: &str) -> Result<usize> {
    index
        .get(name)
        .copied()
        .ok_or_else(|| Error::UnknownSpecies {
            name: name.to_string(),
        })
}

/// Resolve reaction terms to species indices, adding the coefficients of repeated species.
fn merge_terms(terms: &Terms, index: &HashMap<&str, usize>) -> Result<Vec<(usize, u32)>> {
    let mut out: Vec<(usize, u32)> = Vec::new();
    for (name, c) in &terms.0 {
        let i = lookup(index, name)?;
        if *c == 0 {
            return Err(Error::NonIntegerStoichiometry { value: "0".into() });
        }
        match out.iter_mut().find(|(j, _)| *j == i) {
            Some((_, acc)) => {
                *acc = acc
                    .checked_add(*c)
                    .ok_or(Error::Overflow("stoichiometric coefficient"))?;
            }
            None => out.push((i, *c)),
        }
    }
    Ok(out)
}
