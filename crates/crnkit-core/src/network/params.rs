//! New parameter values without a rebuild: the graph, species, reactions and observables
//! stay; parameters, rate constants, the volume, propensity laws and events are
//! re-evaluated in place.

use std::collections::HashMap;

use super::program::Events;
use super::spec::{compile_law, described, eval_with, rate};
use super::{Expr, Network, Node, Parameter};
use crate::error::{Error, Result};

impl Network {
    /// Set parameters by name to new values and re-evaluate everything that depends on
    /// them: parameters defined by expressions of these, rate constants, the volume,
    /// propensity laws and events. The result is the network that editing the parameters
    /// in the model file would give, without re-parsing or re-building the graph. On error
    /// (an unknown name, a value that is not finite, a rate that becomes negative) the
    /// network is unchanged.
    ///
    /// ```
    /// use crnkit_core::Network;
    ///
    /// let mut net = Network::from_crn_str(
    ///     "parameters: k = 2, g = 0.5 * k\nspecies: X = 0\n0 -> X @ k\nX -> 0 @ g",
    ///     "bd.crn",
    /// )?;
    /// net.set_parameters(&[("k", 10.0)])?;
    /// assert_eq!(net.parameter("g"), Some(5.0));
    /// assert_eq!(net.reaction(1)?.forward.value, 5.0);
    /// # Ok::<(), crnkit_core::Error>(())
    /// ```
    pub fn set_parameters(&mut self, values: &[(&str, f64)]) -> Result<()> {
        for (name, _) in values {
            if !self.parameters.iter().any(|p| p.name == *name) {
                return Err(Error::UnknownParameter {
                    name: name.to_string(),
                    hint: String::new(),
                });
            }
        }
        let parameters = self.parameters_with(values)?;
        let volume = eval_with(&self.volume.expr, &parameters, &[], &[])?;
        if !(volume.is_finite() && volume > 0.0) {
            return Err(Error::InvalidVolume { value: volume });
        }
        let rates = self.rates_with(&parameters)?;
        let (laws, events) = self.programs_with(&parameters)?;
        for (&node, (fwd, rev)) in self.reactions.iter().zip(rates) {
            if let Node::Reaction(rx) = &mut self.graph[node] {
                rx.forward.value = fwd;
                if let (Some(r), Some(v)) = (rx.reverse.as_mut(), rev) {
                    r.value = v;
                }
            }
        }
        self.parameters = parameters;
        self.volume.value = volume;
        if let Some(laws) = laws {
            self.laws = laws;
        }
        if let Some(events) = events {
            self.compiled_events = events;
        }
        Ok(())
    }

    /// A copy with new parameter values (see [`Network::set_parameters`]).
    pub fn with_parameters(&self, values: &[(&str, f64)]) -> Result<Network> {
        let mut net = self.clone();
        net.set_parameters(values)?;
        Ok(net)
    }

    /// Replace every reaction's rate constants by numbers: `rates[r]` is reaction r's
    /// forward and reverse constant (the reverse only for a reversible reaction). As with
    /// [`Network::set_parameters`], nothing else is rebuilt and on error the network is
    /// unchanged.
    pub fn set_rate_constants(&mut self, rates: &[(f64, Option<f64>)]) -> Result<()> {
        if rates.len() != self.reactions.len() {
            return Err(Error::IndexOutOfRange {
                kind: "rate constants for reaction",
                index: rates.len(),
                len: self.reactions.len(),
            });
        }
        let mut checked = Vec::with_capacity(rates.len());
        for (r, (rx, &(fwd, rev))) in self.reactions().zip(rates).enumerate() {
            let describe = || described(rx.label.as_ref(), r);
            if rx.propensity.is_some() && (fwd != 1.0 || rev.is_some()) {
                return Err(Error::Unsupported {
                    feature: format!(
                        "a rate constant on reaction {} with a propensity law",
                        describe()
                    ),
                });
            }
            let rev = match (&rx.reverse, rev) {
                (Some(_), Some(v)) => Some(rate(&format!("{} (reverse)", describe()), v)?),
                (Some(_), None) => {
                    return Err(Error::RateCount {
                        arrow: "<->",
                        expected: 2,
                        found: 1,
                    });
                }
                (None, _) => None,
            };
            checked.push((rate(&describe(), fwd)?, rev));
        }
        for (&node, (fwd, rev)) in self.reactions.iter().zip(checked) {
            if let Node::Reaction(rx) = &mut self.graph[node] {
                rx.forward = super::Rate {
                    expr: Expr::Num(fwd),
                    value: fwd,
                };
                if let (Some(r), Some(v)) = (rx.reverse.as_mut(), rev) {
                    *r = super::Rate {
                        expr: Expr::Num(v),
                        value: v,
                    };
                }
            }
        }
        Ok(())
    }

    /// The parameters with `values` set and every definition re-evaluated in order.
    fn parameters_with(&self, values: &[(&str, f64)]) -> Result<Vec<Parameter>> {
        let mut out: Vec<Parameter> = Vec::with_capacity(self.parameters.len());
        for p in &self.parameters {
            let expr = match values.iter().rev().find(|(n, _)| *n == p.name) {
                Some(&(_, v)) => Expr::Num(v),
                None => p.expr.clone(),
            };
            let value = eval_with(&expr, &out, &[], &[])?;
            if !value.is_finite() {
                return Err(Error::InvalidParameter {
                    name: p.name.clone(),
                    value,
                });
            }
            out.push(Parameter {
                name: p.name.clone(),
                expr,
                value,
            });
        }
        Ok(out)
    }

    /// Every reaction's forward and reverse rate constant under `parameters`.
    fn rates_with(&self, parameters: &[Parameter]) -> Result<Vec<(f64, Option<f64>)>> {
        let mut out = Vec::with_capacity(self.reactions.len());
        for (r, rx) in self.reactions().enumerate() {
            let describe = || described(rx.label.as_ref(), r);
            let fwd = rate(
                &describe(),
                eval_with(&rx.forward.expr, parameters, &[], &[])?,
            )?;
            let rev = match &rx.reverse {
                Some(e) => {
                    let v = eval_with(&e.expr, parameters, &[], &[])?;
                    Some(rate(&format!("{} (reverse)", describe()), v)?)
                }
                None => None,
            };
            out.push((fwd, rev));
        }
        Ok(out)
    }

    /// Propensity laws and events compiled under `parameters` (none when the network has
    /// neither: the common case costs nothing).
    #[allow(clippy::type_complexity)]
    fn programs_with(
        &self,
        parameters: &[Parameter],
    ) -> Result<(Option<Vec<Option<super::program::Code>>>, Option<Events>)> {
        let has_laws = self.laws.iter().any(Option::is_some);
        if !has_laws && self.events.is_empty() {
            return Ok((None, None));
        }
        let names = self.species_names();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let param_value = |name: &str| parameters.iter().find(|p| p.name == name).map(|p| p.value);
        let initial = self.initial_state();
        let mut laws = Vec::with_capacity(self.reactions.len());
        for (r, rx) in self.reactions().enumerate() {
            laws.push(match &rx.propensity {
                Some(law) => {
                    let describe = described(rx.label.as_ref(), r);
                    Some(compile_law(law, &describe, &index, &param_value, &initial)?)
                }
                None => None,
            });
        }
        let events = Events::compile(&self.events, &index, &param_value)?;
        Ok((Some(laws), Some(events)))
    }
}
