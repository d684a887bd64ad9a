//! Entropy production, system entropy and free energy of CME distributions.

use super::ReversePairs;
use super::flux_term;
use crate::cme::{
    Distribution, FspOptions, StateSpace, propensity_u32, solve_transient_from, step_unbounded,
};
use crate::ssa::TimeGrid;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

/// Thermodynamic state functions of one distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct CmeThermo {
    /// Schnakenberg entropy production rate σ ≥ 0 (k_B per unit time).
    pub entropy_production: f64,
    /// σ resolved per reaction pair: (forward channel, σ_r); Σ σ_r = σ.
    pub per_pair: Vec<(usize, f64)>,
    /// Medium entropy flow Ṡ_m = Σ (a⁺p − a⁻p') ln(a⁺/a⁻): heat released / T.
    pub medium_entropy_flow: f64,
    /// System (Shannon) entropy S = −Σ p ln p.
    pub system_entropy: f64,
    /// F = Σ p ln(p/π) (k_B T) relative to the stationary π, when π is given.
    pub free_energy: Option<f64>,
}

/// σ, Ṡ_m, S and F of the distribution p on `space` (see the module docs of
/// [`crate::thermo`] for the formulas). Transitions to states outside `space` are not
/// counted (their probability is below the FSP error). `pi`, when given, is the stationary
/// distribution; a state with p > 0 that π does not hold makes F infinite.
pub fn cme_thermo(
    net: &CompiledNetwork,
    pairs: &ReversePairs,
    space: &StateSpace,
    p: &[f64],
    pi: Option<&Distribution>,
) -> CmeThermo {
    cme_thermo_resolved(net, pairs, space, p, pi, 1e-200)
}

/// [`cme_thermo`] for a distribution known to L1 accuracy `resolution` (an FSP error
/// bound): a transition pair where one state has probability exactly 0 and the other at
/// most `resolution` is below what the distribution resolves (typically a state just added
/// at the edge of the projection) and is skipped instead of counted as infinite.
pub fn cme_thermo_resolved(
    net: &CompiledNetwork,
    pairs: &ReversePairs,
    space: &StateSpace,
    p: &[f64],
    pi: Option<&Distribution>,
    resolution: f64,
) -> CmeThermo {
    let ns = net.num_species();
    let mut buf = vec![0u64; ns];
    let mut y = vec![0u32; ns];
    let forward: Vec<usize> = pairs.forward_channels().collect();
    let mut per = vec![0.0; forward.len()];
    let mut medium = 0.0;
    for (xi, x) in space.iter().enumerate() {
        for (k, &r) in forward.iter().enumerate() {
            let Some(yi) = step_unbounded(net, r, x, &mut y).and_then(|()| space.index_of(&y))
            else {
                continue;
            };
            let a = propensity_u32(net, r, x, &mut buf);
            let am = propensity_u32(net, pairs.reverse(r), &y, &mut buf);
            if a <= 0.0 && am <= 0.0 {
                continue;
            }
            let (jp, jm) = (a * p[xi], am * p[yi]);
            if (p[xi] == 0.0 || p[yi] == 0.0) && p[xi].max(p[yi]) <= resolution {
                continue;
            }
            per[k] += flux_term(jp, jm);
            if a > 0.0 && am > 0.0 {
                medium += (jp - jm) * (a / am).ln();
            } else if jp != jm {
                medium += f64::INFINITY;
            }
        }
    }
    let system_entropy = -p
        .iter()
        .filter(|&&q| q > 0.0)
        .map(|&q| q * q.ln())
        .sum::<f64>()
        + 0.0;
    let free_energy = pi.map(|pi| {
        let mut f = 0.0;
        for (x, &q) in space.iter().zip(p) {
            if q > 0.0 {
                let r = pi.probability(x);
                f += if r > 0.0 {
                    q * (q / r).ln()
                } else {
                    f64::INFINITY
                };
            }
        }
        f
    });
    CmeThermo {
        entropy_production: per.iter().sum(),
        per_pair: forward.into_iter().zip(per).collect(),
        medium_entropy_flow: medium,
        system_entropy,
        free_energy,
    }
}

/// Thermodynamics along a transient CME solution.
#[derive(Debug, Clone)]
pub struct ThermoSeries {
    /// Output times.
    pub times: Vec<f64>,
    /// State functions at each time.
    pub values: Vec<CmeThermo>,
    /// ∫₀ᵗ σ dt = S(t) − S(0) + ∫₀ᵗ Ṡ_m dt.
    pub total_entropy_produced: Vec<f64>,
    /// ∫₀ᵗ Ṡ_m dt (trapezoidal on a 32× finer grid): heat released / T.
    pub total_medium_entropy: Vec<f64>,
    /// Certified L1 error of the FSP distribution at each time.
    pub error_bound: Vec<f64>,
    /// Names of the reaction pairs, in the order of every `per_pair` (read one by name
    /// with [`ThermoSeries::reaction_entropy_production`]).
    pub pair_names: Vec<String>,
    /// Chemical work rate Ẇ and mean internal free energy ⟨E⟩ per time, when the network
    /// admits the heat/work split ([`super::work::WorkSplit`]).
    pub work: Option<Vec<(f64, f64)>>,
}

/// Settings of [`cme_thermo_series`] beyond the network and the grid.
#[derive(Debug, Clone, Default)]
pub struct CmeThermoConfig<'a> {
    /// The initial distribution (`None`: the network's initial state).
    pub initial: Option<&'a Distribution>,
    /// Tolerance and state limit of the CME solve.
    pub fsp: FspOptions,
    /// The stationary distribution, for the free energy F (`None`: F is not computed).
    pub stationary: Option<&'a Distribution>,
    /// The heat/work split, for the chemical work rate and the internal free energy
    /// (`None`: not computed).
    pub work: Option<&'a super::work::WorkSplit>,
}

impl ThermoSeries {
    /// σ of the reaction pair called `name` (a reaction's label, or its equation) at every
    /// output time.
    ///
    /// ```
    /// use crnkit_core::Network;
    /// use crnkit_sim::ssa::TimeGrid;
    /// use crnkit_sim::thermo::{cme_entropy::{CmeThermoConfig, cme_thermo_series}, reverse_pairs};
    ///
    /// let net = Network::from_crn_str("species: A = 5, B = 0\nflip: A <-> B @ 1, 2", "ab.crn")?;
    /// let (c, pairs) = reverse_pairs(&net)?;
    /// let grid = TimeGrid::new(1.0, 0.5)?;
    /// let s = cme_thermo_series(&c, &pairs, &grid, &CmeThermoConfig::default())?;
    /// assert_eq!(s.pair_names, ["flip"]);
    /// assert_eq!(s.reaction_entropy_production("flip")?[2], s.values[2].entropy_production);
    /// assert!(s.reaction_entropy_production("flop").is_err());
    /// # Ok::<(), crnkit_core::Error>(())
    /// ```
    pub fn reaction_entropy_production(&self, name: &str) -> Result<Vec<f64>> {
        let j = super::pair_index(&self.pair_names, name)?;
        Ok(self.values.iter().map(|v| v.per_pair[j].1).collect())
    }
}

/// Solve the CME from `cfg.initial` (the network's initial state when `None`) and evaluate
/// [`cme_thermo`] at every grid time; `cfg.stationary` gives F, `cfg.work` the chemical
/// work rate and the internal free energy. Per-pair columns are named by `pairs`.
///
/// The totals are integrated on a grid 32 times finer than the output grid (trapezoidal
/// rule, error O(h²)): ∫Ṡ_m dt directly, and ∫σ dt = S(t) − S(0) + ∫Ṡ_m dt, which stays
/// finite when σ itself is infinite at t = 0 (a point-mass start).
pub fn cme_thermo_series(
    net: &CompiledNetwork,
    pairs: &ReversePairs,
    grid: &TimeGrid,
    cfg: &CmeThermoConfig<'_>,
) -> Result<ThermoSeries> {
    let (initial, opts, pi, split) = (cfg.initial, &cfg.fsp, cfg.stationary, cfg.work);
    const REFINE: usize = 32;
    let coarse = grid.times();
    let mut fine = vec![coarse[0]];
    for w in coarse.windows(2) {
        for j in 1..=REFINE {
            fine.push(w[0] + (w[1] - w[0]) * j as f64 / REFINE as f64);
        }
    }
    let fine_grid = TimeGrid::from_times(fine)?;
    let mut times = Vec::new();
    let mut values = Vec::new();
    let mut error_bound = Vec::new();
    let mut total_medium_entropy = Vec::new();
    let mut total_entropy_produced = Vec::new();
    let mut work = split.map(|_| Vec::new());
    let mut k = 0usize;
    let mut medium_acc = 0.0;
    let mut s0 = 0.0;
    let mut prev: Option<(f64, f64)> = None;
    solve_transient_from(net, initial, &fine_grid, opts, |s| {
        let at_output = k.is_multiple_of(REFINE);
        let th = cme_thermo_resolved(
            net,
            pairs,
            s.space,
            s.p,
            if at_output { pi } else { None },
            s.error_bound.max(1e-200),
        );
        if let Some((tp, mp)) = prev {
            medium_acc += 0.5 * (mp + th.medium_entropy_flow) * (s.time - tp);
        } else {
            s0 = th.system_entropy;
        }
        prev = Some((s.time, th.medium_entropy_flow));
        if at_output {
            times.push(s.time);
            total_medium_entropy.push(medium_acc);
            total_entropy_produced.push(th.system_entropy - s0 + medium_acc);
            error_bound.push(s.error_bound);
            values.push(th);
            if let (Some(w), Some(sp)) = (work.as_mut(), split) {
                w.push(sp.work_rate(net, pairs, s.space, s.p));
            }
        }
        k += 1;
    })?;
    let pair_names = pairs.pair_names();
    if times.is_empty() {
        return Err(Error::InvalidSetting {
            name: "grid",
            value: "empty".into(),
            reason: "at least one time is needed",
        });
    }
    Ok(ThermoSeries {
        times,
        values,
        total_entropy_produced,
        total_medium_entropy,
        error_bound,
        pair_names,
        work,
    })
}
