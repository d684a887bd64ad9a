//! Thermodynamics: entropy production and free energy at three levels of description.
//!
//! **Units and signs.** Entropies are in units of k_B, rates per unit of model time;
//! free energies are in units of k_B T. Entropy *production* is ≥ 0 by construction (second
//! law); a positive *medium* entropy flow means heat released into the environment. Every
//! quantity is extensive: for a volume Ω it grows ∝ Ω, and per-volume values divide by Ω.
//!
//! * **Deterministic** ([`ode`]): along the mass-action ODE, with count-scale fluxes
//!   J⁺_r = c_r Π_i x_i^(ν_ir) and J⁻_r of the reverse reaction,
//!   σ = Σ_r (J⁺_r − J⁻_r) ln(J⁺_r / J⁻_r) ≥ 0.
//! * **CME** ([`cme_entropy`]): for a distribution p, the Schnakenberg entropy production
//!   σ = Σ_{pairs} Σ_x (a⁺(x) p(x) − a⁻(y) p(y)) ln(a⁺(x) p(x) / (a⁻(y) p(y))), y = x + S_r,
//!   resolved per reaction pair; the system entropy S = −Σ p ln p; the medium entropy flow
//!   Ṡ_m = Σ (a⁺(x) p(x) − a⁻(y) p(y)) ln(a⁺(x) / a⁻(y)), so that σ = dS/dt + Ṡ_m; and the
//!   non-equilibrium free energy F = Σ p ln(p / π) relative to the stationary π
//!   (Schnakenberg 1976; Esposito & Van den Broeck 2010). For a closed detailed-balanced
//!   network dF/dt = −σ.
//! * **Path** ([`path`]): for one trajectory, the medium entropy Δs_m = Σ_jumps
//!   ln(a_r(x⁻) / a_r̄(x⁺)), the system entropy Δs = ln p(x₀, 0) − ln p(x_t, t) and the total
//!   Δs_tot = Δs_m + Δs (Seifert 2005), whose average is the integral of σ and which obeys
//!   ⟨exp(−Δs_tot)⟩ = 1.
//!
//! Every reaction needs a reverse: one-way reactions make entropy production infinite, and
//! asking for it is [`crate::Error::Irreversible`], naming them.

pub mod cme_entropy;
pub mod ode;
pub mod path;

use crate::network::CompiledNetwork;
use crate::{Error, Result};

/// Each channel's reverse channel: the one whose reactants are its products and whose
/// products are its reactants (constant species included). Either a declared reversible
/// pair or two one-way reactions that undo each other.
#[derive(Debug, Clone)]
pub struct ReversePairs {
    reverse: Vec<usize>,
}

/// Reactant and product multisets of a channel over all species, sorted.
/// (species, coefficient) pairs.
type Side = Vec<(u32, i64)>;

fn sides(net: &CompiledNetwork, r: usize) -> (Side, Side) {
    let (rs, rc) = net.reactants_of(r);
    let reac: Vec<(u32, i64)> = rs
        .iter()
        .zip(rc)
        .map(|(&i, &c)| (i, i64::from(c)))
        .collect();
    let mut prod: std::collections::BTreeMap<u32, i64> = reac.iter().copied().collect();
    let (cs, cd) = net.changes_of(r);
    for (&i, &d) in cs.iter().zip(cd) {
        *prod.entry(i).or_insert(0) += d;
    }
    let mut reac = reac;
    reac.sort_unstable();
    let prod: Vec<(u32, i64)> = prod.into_iter().filter(|&(_, c)| c != 0).collect();
    (reac, prod)
}

impl ReversePairs {
    /// Pair every channel with its reverse, or fail naming the one-way reactions.
    ///
    /// Constant species do not appear in the compiled change vectors, so a chemostat that
    /// is consumed by one direction shows up only as a reactant; the pairing therefore
    /// compares the dynamic species' net changes and requires opposite changes.
    pub fn new(net: &CompiledNetwork, names: &dyn Fn(usize) -> String) -> Result<ReversePairs> {
        let n = net.num_channels();
        let mut reverse = vec![usize::MAX; n];
        let mut missing = Vec::new();
        let all_sides: Vec<_> = (0..n).map(|r| sides(net, r)).collect();
        for r in 0..n {
            if let Some(b) = net.reverse_of(r) {
                reverse[r] = b;
                continue;
            }
            let (ra, pa) = &all_sides[r];
            let found = (0..n).find(|&b| {
                b != r && {
                    let (rb, pb) = &all_sides[b];
                    // Dynamic species: the reverse's reactants are our products and vice
                    // versa (constants appear only among reactants in the compiled form).
                    let dynamic = |v: &[(u32, i64)]| -> Vec<(u32, i64)> {
                        v.iter()
                            .copied()
                            .filter(|&(i, _)| !net.is_constant(i as usize))
                            .collect()
                    };
                    dynamic(rb) == dynamic(pa) && dynamic(pb) == dynamic(ra)
                }
            });
            match found {
                Some(b) => reverse[r] = b,
                None => missing.push(names(net.origin(r).0)),
            }
        }
        if !missing.is_empty() {
            missing.dedup();
            return Err(Error::Irreversible {
                reactions: missing.join(", "),
            });
        }
        Ok(ReversePairs { reverse })
    }

    /// The reverse channel of `r`.
    pub fn reverse(&self, r: usize) -> usize {
        self.reverse[r]
    }

    /// One channel of each pair (the lower index).
    pub fn forward_channels(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.reverse.len()).filter(move |&r| r < self.reverse[r])
    }
}

/// Reverse pairs of a network, with its reaction names in errors.
pub fn reverse_pairs(net: &crate::Network) -> Result<(CompiledNetwork, ReversePairs)> {
    let c = net.compile();
    let pairs = ReversePairs::new(&c, &|r| net.reaction_name(r))?;
    Ok((c, pairs))
}
