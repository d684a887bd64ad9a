//! Building networks in Rust.

use super::spec::{Assignments, EventSpec, Terms};
use super::{Condition, Expr, Network, NetworkSpec, ParameterSpec, ReactionSpec, SpeciesSpec};
use crate::error::Result;

/// A checked builder for [`Network`]: collect parts, then [`NetworkBuilder::build`]
/// validates everything at once.
///
/// ```
/// use crnkit_core::network::{Expr, Network};
/// let net = Network::builder()
///     .parameter("k", 0.5)
///     .species("A", 100)
///     .species("B", 0)
///     .reversible(&[("A", 1)], &[("B", 1)], Expr::var("k"), 0.25)
///     .build()?;
/// assert_eq!(net.num_channels(), 2);
/// # Ok::<(), crnkit_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct NetworkBuilder {
    spec: NetworkSpec,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            volume: Expr::Num(1.0),
            parameters: Vec::new(),
            species: Vec::new(),
            reactions: Vec::new(),
            observables: Vec::new(),
            events: Vec::new(),
        }
    }
}

fn terms(list: &[(&str, u32)]) -> Terms {
    Terms(list.iter().map(|(n, c)| (n.to_string(), *c)).collect())
}

impl NetworkBuilder {
    /// An empty builder (volume 1).
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the system volume Ω.
    pub fn volume(mut self, volume: impl Into<Expr>) -> Self {
        self.spec.volume = volume.into();
        self
    }

    /// Define a parameter (a number or an expression of earlier parameters).
    pub fn parameter(mut self, name: &str, value: impl Into<Expr>) -> Self {
        self.spec.parameters.push(ParameterSpec {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }

    /// Declare a species with its initial count.
    pub fn species(mut self, name: &str, initial: u64) -> Self {
        self.spec.species.push(SpeciesSpec {
            name: name.to_string(),
            initial: initial as f64,
            constant: false,
        });
        self
    }

    /// Declare a constant (chemostatted) species.
    pub fn constant_species(mut self, name: &str, count: u64) -> Self {
        self.spec.species.push(SpeciesSpec {
            name: name.to_string(),
            initial: count as f64,
            constant: true,
        });
        self
    }

    /// Add an irreversible reaction `reactants -> products` with rate constant `rate`.
    pub fn reaction(
        mut self,
        reactants: &[(&str, u32)],
        products: &[(&str, u32)],
        rate: impl Into<Expr>,
    ) -> Self {
        self.spec.reactions.push(ReactionSpec {
            label: None,
            reactants: terms(reactants),
            products: terms(products),
            rate: rate.into(),
            reverse: None,
            propensity: None,
        });
        self
    }

    /// Add a reversible pair `reactants <-> products`.
    pub fn reversible(
        mut self,
        reactants: &[(&str, u32)],
        products: &[(&str, u32)],
        forward: impl Into<Expr>,
        reverse: impl Into<Expr>,
    ) -> Self {
        self.spec.reactions.push(ReactionSpec {
            label: None,
            reactants: terms(reactants),
            products: terms(products),
            rate: forward.into(),
            reverse: Some(reverse.into()),
            propensity: None,
        });
        self
    }

    /// Add an irreversible reaction whose propensity is a general law: an expression of
    /// species counts and parameters (e.g. a Hill function), not mass action.
    pub fn reaction_with_propensity(
        mut self,
        reactants: &[(&str, u32)],
        products: &[(&str, u32)],
        propensity: impl Into<Expr>,
    ) -> Self {
        self.spec.reactions.push(ReactionSpec {
            label: None,
            reactants: terms(reactants),
            products: terms(products),
            rate: Expr::Num(1.0),
            reverse: None,
            propensity: Some(propensity.into()),
        });
        self
    }

    /// Add an event: when `trigger` becomes true, set each species to its expression.
    pub fn event(mut self, name: &str, trigger: Condition, assignments: &[(&str, Expr)]) -> Self {
        self.spec.events.push(EventSpec {
            name: name.to_string(),
            trigger,
            initial_value: true,
            assign: Assignments(
                assignments
                    .iter()
                    .map(|(n, e)| (n.to_string(), e.clone()))
                    .collect(),
            ),
        });
        self
    }

    /// Label the most recently added reaction.
    pub fn label(mut self, label: &str) -> Self {
        if let Some(r) = self.spec.reactions.last_mut() {
            r.label = Some(label.to_string());
        }
        self
    }

    /// Add a fully described reaction.
    pub fn add_reaction(mut self, reaction: ReactionSpec) -> Self {
        self.spec.reactions.push(reaction);
        self
    }

    /// Add an observable: a named sum of species counts with integer weights.
    pub fn observable(mut self, name: &str, terms: &[(&str, u32)]) -> Self {
        self.spec.observables.push(super::ObservableSpec {
            name: name.to_string(),
            terms: self::terms(terms),
        });
        self
    }

    /// Validate and build (see [`NetworkSpec::build`] for the errors).
    pub fn build(self) -> Result<Network> {
        self.spec.build()
    }

    /// The description collected so far.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }
}
