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
//! asking for it is [`crnkit_core::Error::Irreversible`], naming them.

pub mod cme_entropy;
pub mod current;
#[cfg(feature = "ode")]
pub mod ode;
pub mod path;
mod series;
pub mod work;

pub use series::{OdeThermo, SsaThermo, Thermo};

use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

/// Each channel's reverse channel: the one whose reactants are its products and whose
/// products are its reactants (constant species included). Either a declared reversible
/// pair or two one-way reactions that undo each other.
#[derive(Debug, Clone)]
pub struct ReversePairs {
    reverse: Vec<usize>,
    /// The name of each channel's reaction.
    names: Vec<String>,
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

/// Reactants and products of channel `r` over dynamic species with catalysts removed
/// (each species counted by how much the channel consumes or produces of it).
fn stripped(net: &CompiledNetwork, r: usize) -> (Side, Side) {
    let (cs, cd) = net.changes_of(r);
    let mut reac: Side = Vec::new();
    let mut prod: Side = Vec::new();
    for (&i, &d) in cs.iter().zip(cd) {
        if d < 0 {
            reac.push((i, -d));
        } else if d > 0 {
            prod.push((i, d));
        }
    }
    reac.sort_unstable();
    prod.sort_unstable();
    (reac, prod)
}

impl ReversePairs {
    /// Pair every channel with its reverse, or fail naming the one-way reactions.
    ///
    /// Constant species do not appear in the compiled change vectors, so a chemostat that
    /// is consumed by one direction shows up only as a reactant; the pairing therefore
    /// compares the dynamic species' net changes and requires opposite changes.
    pub fn new(net: &CompiledNetwork, names: &dyn Fn(usize) -> String) -> Result<ReversePairs> {
        Self::build(net, names, false)
    }

    /// As [`ReversePairs::new`], and a one-way reaction with no exact reverse is paired
    /// with one that undoes its net change with other catalysts (the most similar): a
    /// species on both sides of one direction only, such as a reservoir or parameter
    /// species that scales one direction's rate. This is how the chemical learner's
    /// networks are built; for other networks it is a modelling decision (it would pair,
    /// say, transcription DA → DA + MR with degradation MR → ∅), hence opt-in.
    pub fn with_catalysed(
        net: &CompiledNetwork,
        names: &dyn Fn(usize) -> String,
    ) -> Result<ReversePairs> {
        Self::build(net, names, true)
    }

    fn build(
        net: &CompiledNetwork,
        names: &dyn Fn(usize) -> String,
        catalysed: bool,
    ) -> Result<ReversePairs> {
        net.require_mass_action("entropy production (reverse pairs)")?;
        use std::collections::HashMap;
        let n = net.num_channels();
        let mut reverse = vec![usize::MAX; n];
        let mut missing = Vec::new();
        // Dynamic species only: constants appear only among reactants in the compiled form.
        let dynamic = |v: Side| -> Side {
            v.into_iter()
                .filter(|&(i, _)| !net.is_constant(i as usize))
                .collect()
        };
        let keys: Vec<(Side, Side)> = (0..n)
            .map(|r| {
                let (a, b) = sides(net, r);
                (dynamic(a), dynamic(b))
            })
            .collect();
        let mut exact: HashMap<&(Side, Side), Vec<usize>> = HashMap::new();
        for (r, k) in keys.iter().enumerate() {
            exact.entry(k).or_default().push(r);
        }
        let net_change: Vec<(Side, Side)> = (0..n).map(|r| stripped(net, r)).collect();
        let mut by_change: HashMap<&(Side, Side), Vec<usize>> = HashMap::new();
        for (r, k) in net_change.iter().enumerate() {
            if net.reverse_of(r).is_none() {
                by_change.entry(k).or_default().push(r);
            }
        }
        // Catalysts: what a channel needs but does not consume.
        let catalysts = |r: usize| -> HashMap<u32, i64> {
            let mut c: HashMap<u32, i64> = keys[r].0.iter().copied().collect();
            for &(i, d) in &net_change[r].0 {
                *c.entry(i).or_insert(0) -= d;
            }
            c.retain(|_, v| *v != 0);
            c
        };
        let distance = |a: &HashMap<u32, i64>, b: &HashMap<u32, i64>| -> i64 {
            let mut d: i64 = a
                .iter()
                .map(|(i, v)| (v - b.get(i).copied().unwrap_or(0)).abs())
                .sum();
            d += b
                .iter()
                .filter(|(i, _)| !a.contains_key(i))
                .map(|(_, v)| v.abs())
                .sum::<i64>();
            d
        };
        for r in 0..n {
            if let Some(b) = net.reverse_of(r) {
                reverse[r] = b;
                continue;
            }
            // The reverse's reactants are our products and vice versa.
            let (ra, pa) = &keys[r];
            let found = exact
                .get(&(pa.clone(), ra.clone()))
                .and_then(|c| c.iter().copied().find(|&b| b != r));
            // Failing that, a one-way reaction that undoes this one's net change, its
            // catalysts aside (a species on both sides of one direction only, such as a
            // chemostat or a parameter species that scales one direction's rate): the pair
            // then has the affinity ln(a⁺/a⁻), as for a reaction coupled to a reservoir.
            // Among several, the one with the most similar catalysts.
            let found = found.or_else(|| {
                if !catalysed {
                    return None;
                }
                let (rs, ps) = &net_change[r];
                let cands = by_change.get(&(ps.clone(), rs.clone()))?;
                let mine = catalysts(r);
                cands
                    .iter()
                    .copied()
                    .filter(|&b| b != r)
                    .min_by_key(|&b| distance(&mine, &catalysts(b)))
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
        let names = (0..n).map(|r| names(net.origin(r).0)).collect();
        Ok(ReversePairs { reverse, names })
    }

    /// The reverse channel of `r`.
    pub fn reverse(&self, r: usize) -> usize {
        self.reverse[r]
    }

    /// One channel of each pair (the lower index).
    pub fn forward_channels(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.reverse.len()).filter(move |&r| r < self.reverse[r])
    }

    /// The name of channel `r`'s reaction (its label, or its equation; see
    /// `Network::reaction_name`).
    pub fn reaction_name(&self, r: usize) -> &str {
        &self.names[r]
    }

    /// The names of the pairs, in the order of [`ReversePairs::forward_channels`] (the
    /// order of every per-pair result).
    pub fn pair_names(&self) -> Vec<String> {
        self.forward_channels()
            .map(|r| self.names[r].clone())
            .collect()
    }
}

/// Reverse pairs of a network, with its reaction names in errors.
pub fn reverse_pairs(net: &crnkit_core::Network) -> Result<(CompiledNetwork, ReversePairs)> {
    let c = net.compile();
    let pairs = ReversePairs::new(&c, &|r| net.reaction_name(r))?;
    Ok((c, pairs))
}

/// Which description `crnkit thermo` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThermoMethod {
    /// The chemical master equation (FSP): σ, S, F exactly.
    Cme,
    /// SSA paths: ensemble moments of Δs_m, Δs, Δs_tot (p from the CME).
    Ssa,
    /// The deterministic limit.
    Ode,
}

impl std::str::FromStr for ThermoMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<ThermoMethod> {
        match s {
            "cme" => Ok(ThermoMethod::Cme),
            "ssa" => Ok(ThermoMethod::Ssa),
            "ode" => Ok(ThermoMethod::Ode),
            other => Err(Error::InvalidSetting {
                name: "method",
                value: other.to_string(),
                reason: "expected cme, ssa or ode",
            }),
        }
    }
}

/// Settings of [`thermo()`].
#[derive(Debug, Clone)]
pub struct ThermoConfig {
    /// End time.
    pub until: f64,
    /// Output interval.
    pub every: f64,
    /// Description.
    pub method: ThermoMethod,
    /// SSA runs.
    pub runs: u64,
    /// SSA seed.
    pub seed: u64,
    /// CME settings (tolerance, state limit).
    pub fsp: crate::cme::FspOptions,
    /// Where progress reports go (nowhere by default).
    pub progress: crnkit_core::progress::Reporter,
    /// Pair one-way reactions whose reverses carry other catalysts
    /// ([`ReversePairs::with_catalysed`]), as in learning networks.
    pub pair_catalysed: bool,
}

impl Default for ThermoConfig {
    /// t = 0..10 every 1 by the CME; 10,000 SSA runs with seed 0 when the method is SSA
    /// (the command line's defaults).
    fn default() -> Self {
        ThermoConfig {
            until: 10.0,
            every: 1.0,
            method: ThermoMethod::Cme,
            runs: 10_000,
            seed: 0,
            fsp: crate::cme::FspOptions::default(),
            progress: crnkit_core::progress::Reporter::none(),
            pair_catalysed: false,
        }
    }
}

/// Entropy production and free energy of `net` over time by `cfg.method`, as series
/// (`crnkit_io::results` writes them as the CSV of `crnkit thermo`). Units: k_B, k_B per
/// time, k_B T.
///
/// * `Cme`: σ, S, F exactly, the medium entropy flow, the FSP error and σ per reaction
///   pair (by name: [`Thermo::reaction_entropy_production`]); F relative to the
///   stationary solution (NaN when it cannot be computed).
/// * `Ssa`: ensemble means of the path entropies; the rate is the finite difference of
///   ⟨Δs_tot⟩. When the FSP cannot hold the network (more than `fsp.max_states`), only the
///   medium entropy is available and the other series are NaN.
/// * `Ode`: F = Σ_i [x_i ln(x_i / x*_i) − x_i + x*_i] relative to the steady state x*
///   reached from x₀ (a Lyapunov function for complex-balanced networks), and the amounts.
///
/// ```
/// use crnkit_core::Network;
/// use crnkit_sim::thermo::{ThermoConfig, ThermoMethod, thermo};
///
/// let net = Network::from_crn_str("species: A = 10, B = 0\nA <-> B @ 1, 2", "ab.crn")?;
/// let cfg = ThermoConfig { until: 5.0, every: 1.0, method: ThermoMethod::Cme, ..Default::default() };
/// let th = thermo(&net, &cfg)?;
/// // Relaxing to detailed balance: σ ≥ 0, decreasing towards 0, and F decreases too.
/// let (sigma, f) = (th.entropy_production_rate(), th.free_energy());
/// assert!(sigma.windows(2).all(|w| w[1] <= w[0] + 1e-9) && sigma[5] >= 0.0);
/// assert!(f.windows(2).all(|w| w[1] <= w[0] + 1e-9));
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub fn thermo(net: &crnkit_core::Network, cfg: &ThermoConfig) -> Result<Thermo> {
    let (c, pairs) = if cfg.pair_catalysed {
        let c = net.compile();
        let p = ReversePairs::with_catalysed(&c, &|r| net.reaction_name(r))?;
        (c, p)
    } else {
        reverse_pairs(net)?
    };
    let grid = crate::ssa::TimeGrid::new(cfg.until, cfg.every)?;
    match cfg.method {
        ThermoMethod::Cme => {
            let pi = stationary_or_none(&c, cfg);
            let split = work::WorkSplit::new(net, &c).ok();
            let series = cme_entropy::CmeThermoConfig {
                initial: None,
                fsp: cfg.fsp.clone(),
                stationary: pi.as_ref(),
                work: split.as_ref(),
            };
            let s = cme_entropy::cme_thermo_series(&c, &pairs, &grid, &series)?;
            Ok(Thermo::Cme(s))
        }
        ThermoMethod::Ssa => thermo_ssa(&c, &pairs, &grid, cfg).map(Thermo::Ssa),
        #[cfg(feature = "ode")]
        ThermoMethod::Ode => thermo_ode(&c, &pairs, &grid, &cfg.progress).map(Thermo::Ode),
        #[cfg(not(feature = "ode"))]
        ThermoMethod::Ode => Err(Error::Unsupported {
            feature: "the ODE limit (crnkit-sim was built without its `ode` feature)".into(),
        }),
    }
}

/// The stationary distribution of `c` on the FSP, or `None` when it cannot be computed.
fn stationary_or_none(c: &CompiledNetwork, cfg: &ThermoConfig) -> Option<crate::cme::Distribution> {
    crate::cme::stationary(c, &cfg.fsp)
        .ok()
        .map(|s| s.distribution)
}

/// The `ssa` series of [`thermo()`]: ensemble path entropies, with the system entropy
/// and free energy from the FSP where it can hold the network.
fn thermo_ssa(
    c: &CompiledNetwork,
    pairs: &ReversePairs,
    grid: &crate::ssa::TimeGrid,
    cfg: &ThermoConfig,
) -> Result<SsaThermo> {
    // p(x, t) for the system entropy; a network too large for the FSP still gets
    // its medium entropy (the system and total columns are then NaN).
    let mut dists = Vec::new();
    let fsp = crate::cme::solve_transient_with(c, grid, &cfg.fsp, |s| {
        dists.push(crate::cme::Distribution::new(s.space.clone(), s.p.to_vec()));
    });
    let dists = match fsp {
        Ok(_) => Some(dists),
        Err(Error::TooManyStates { .. }) => None,
        Err(e) => return Err(e),
    };
    let pi = if dists.is_some() {
        stationary_or_none(c, cfg)
    } else {
        None
    };
    let pcfg = path::PathConfig {
        until: cfg.until,
        every: cfg.every,
        runs: cfg.runs,
        seed: cfg.seed,
        progress: cfg.progress.clone(),
        ..path::PathConfig::default()
    };
    let r = path::path_entropy(c, pairs, &pcfg, None, dists.as_deref())?;
    let mut out = SsaThermo {
        times: r.times.clone(),
        ..SsaThermo::default()
    };
    for (k, t) in r.times.iter().enumerate() {
        let rate = if k == 0 {
            f64::NAN
        } else {
            (r.mean(k, 2) - r.mean(k - 1, 2)) / (t - r.times[k - 1])
        };
        let f = match (&pi, &dists) {
            (Some(pi), Some(d)) => {
                cme_entropy::cme_thermo(c, pairs, d[k].space(), d[k].probabilities(), Some(pi))
                    .free_energy
                    .unwrap_or(f64::NAN)
            }
            _ => f64::NAN,
        };
        let mean_sd = |col: usize| (r.mean(k, col), r.variance(k, col).sqrt());
        out.entropy_production_rate.push(rate);
        out.free_energy.push(f);
        out.total_entropy.push(mean_sd(2));
        out.medium_entropy.push(mean_sd(0));
        out.exp_minus_total_entropy.push(mean_sd(3));
    }
    Ok(out)
}

#[cfg(feature = "ode")]
/// The `ode` series of [`thermo()`]: σ, its integral, the free energy relative to the
/// steady state reached from x₀, then the amounts.
fn thermo_ode(
    c: &CompiledNetwork,
    pairs: &ReversePairs,
    grid: &crate::ssa::TimeGrid,
    progress: &crnkit_core::progress::Reporter,
) -> Result<OdeThermo> {
    let x0: Vec<f64> = c.initial_state().iter().map(|&v| v as f64).collect();
    let sol = ode::integrate_cancellable(c, &x0, grid, 1e-10, 1e-10, progress)?;
    let xs = ode::steady_state(c, &x0)?;
    let ma = ode::MassAction::new(c);
    let mut out = OdeThermo {
        species: c.species_names().iter().map(|s| s.to_string()).collect(),
        reactions: pairs.pair_names(),
        times: sol.times.clone(),
        ..OdeThermo::default()
    };
    let mut total = 0.0;
    let mut prev: Option<(f64, f64)> = None;
    for (t, x) in sol.times.iter().zip(&sol.states) {
        let (sigma, per_pair) = ma.entropy_production(pairs, x);
        out.reaction_entropy_production
            .push(per_pair.into_iter().map(|(_, s)| s).collect());
        if let Some((tp, sp)) = prev {
            total += 0.5 * (sigma + sp) * (t - tp);
        }
        prev = Some((*t, sigma));
        let f: f64 = (0..c.num_species())
            .filter(|&i| !c.is_constant(i))
            .map(|i| {
                let (a, b) = (x[i].max(0.0), xs[i]);
                let l = if a > 0.0 { a * (a / b).ln() } else { 0.0 };
                l - a + b
            })
            .sum();
        out.entropy_production_rate.push(sigma);
        out.total_entropy_produced.push(total);
        out.free_energy.push(f);
        out.amounts.push(x.clone());
    }
    Ok(out)
}

/// The index of the reaction pair called `name` among `names`.
pub(crate) fn pair_index(names: &[String], name: &str) -> Result<usize> {
    names
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| Error::InvalidSetting {
            name: "reaction",
            value: name.to_string(),
            reason: "no reversible reaction pair has this name",
        })
}

/// (a − b) ln(a / b) with the limits 0 (a = b, including both zero) and +∞.
#[inline]
pub(crate) fn flux_term(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else if a <= 0.0 || b <= 0.0 {
        f64::INFINITY
    } else {
        (a - b) * (a / b).ln()
    }
}
