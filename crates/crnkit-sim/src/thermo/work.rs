//! Heat and chemical work in chemostatted networks.
//!
//! When the network with its chemostats made dynamic is detailed balanced with free
//! energies G_i (kT; count scale G^c_i = G_i − ln Ω), every channel obeys local detailed
//! balance and the log-ratio of propensities along a jump x → y = x + S_r splits exactly:
//!
//! ln(a_r(x) / a_r̄(y)) = −[E(y) − E(x)] + w_r,
//! E(x) = Σ_{i dynamic} (G^c_i x_i + ln x_i!),
//! w_r = −Σ_{c chemostat} S_cr G^c_c + Σ_c ln((n_c)_(ν_cr) / (n_c)_(ν'_cr)).
//!
//! E is the internal free energy of a state and w_r the chemical work (kT) the chemostats
//! deliver per firing of r. Averaged: the heat released per time (the medium entropy flow)
//! is Q̇ = Ṡ_m = Ẇ − d⟨E⟩/dt with Ẇ = Σ_r J_r w_r over net channel fluxes J_r (first law,
//! Rao & Esposito, PRX 6, 041064, 2016). In a stationary state all work is dissipated:
//! σ = Ṡ_m = Ẇ; without driving, Ẇ = 0 there.

use super::ReversePairs;
use crate::cme::StateSpace;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Network, Result};

/// The energy function and the work per firing.
#[derive(Debug, Clone)]
pub struct WorkSplit {
    /// G^c_i per species (count scale, kT); chemostats included.
    pub energies: Vec<f64>,
    /// w_r per channel (kT per firing).
    pub work: Vec<f64>,
}

impl WorkSplit {
    /// The split for `net`, or an error when the network with chemostats made dynamic is not
    /// detailed balanced (then no free energies exist to split by).
    pub fn new(net: &Network, compiled: &CompiledNetwork) -> Result<WorkSplit> {
        net.require_mass_action("the work split")?;
        let mut spec = net.to_spec();
        for s in &mut spec.species {
            s.constant = false;
        }
        let open = spec.build()?;
        let g = open
            .analyze()?
            .detailed_balance
            .require_free_energies("the heat/work split (chemostats made dynamic)")?;
        let ln_omega = net.volume().ln();
        let energies: Vec<f64> = g.iter().map(|v| v.unwrap_or(0.0) - ln_omega).collect();
        let x0 = compiled.initial_state();
        let work = (0..compiled.num_channels())
            .map(|r| {
                // Full stoichiometry of the reaction (constant species included).
                let (rx, rev) = compiled.origin(r);
                let (mut reac, mut prod) = (net.reactants(rx), net.products(rx));
                if rev {
                    std::mem::swap(&mut reac, &mut prod);
                }
                let mut w = 0.0;
                for (i, side, sign) in reac
                    .iter()
                    .map(|&(i, c)| (i, c, -1.0))
                    .chain(prod.iter().map(|&(i, c)| (i, c, 1.0)))
                {
                    if compiled.is_constant(i) {
                        w -= sign * f64::from(side) * energies[i];
                        // ln (n)_ν on the reactant side, − on the product side.
                        let n = x0[i];
                        let ff: f64 = (0..u64::from(side))
                            .map(|j| (n.saturating_sub(j) as f64).ln())
                            .sum();
                        w -= sign * ff;
                    }
                }
                w
            })
            .collect();
        Ok(WorkSplit { energies, work })
    }

    /// E(x) = Σ_dynamic (G^c_i x_i + ln x_i!).
    pub fn energy(&self, net: &CompiledNetwork, x: &[u32]) -> f64 {
        (0..x.len())
            .filter(|&i| !net.is_constant(i))
            .map(|i| {
                let v = u64::from(x[i]);
                self.energies[i] * v as f64 + crate::cme::ln_factorial(v)
            })
            .sum()
    }

    /// (Ẇ, ⟨E⟩) for the distribution p on `space`: the chemical work rate
    /// Σ_x p(x) Σ_r a_r(x) w_r and the mean internal free energy.
    pub fn work_rate(
        &self,
        net: &CompiledNetwork,
        _pairs: &ReversePairs,
        space: &StateSpace,
        p: &[f64],
    ) -> (f64, f64) {
        let mut x64 = vec![0u64; net.num_species()];
        let (mut wdot, mut e) = (0.0, 0.0);
        for (x, &q) in space.iter().zip(p) {
            if q == 0.0 {
                continue;
            }
            for (b, &v) in x64.iter_mut().zip(x) {
                *b = u64::from(v);
            }
            for (r, &w) in self.work.iter().enumerate() {
                if w != 0.0 {
                    wdot += q * net.propensity(r, &x64) * w;
                }
            }
            e += q * self.energy(net, x);
        }
        (wdot, e)
    }
}
