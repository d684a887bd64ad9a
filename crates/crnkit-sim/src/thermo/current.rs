//! Stationary statistics of a reaction current and the thermodynamic uncertainty relation.
//!
//! For the net number J(T) of firings of a reaction pair (forward +1, reverse −1) in the
//! stationary state, ⟨J⟩ = j T and Var J ≈ D₂ T for large T, where j and D₂ are the first
//! two derivatives at s = 0 of the largest eigenvalue λ(s) of the tilted generator
//! A(s)_{yx} = W_{yx} e^{s d(x→y)} (full counting statistics). Perturbation theory around
//! the stationary π (left eigenvector 1) gives, with A₁ = Σ d W and A₂ = Σ d² W,
//! j = λ'(0) = 1ᵀA₁π and D₂ = λ''(0) = 1ᵀA₂π + 2·1ᵀA₁r, where A r = jπ − A₁π, 1ᵀr = 0.
//! The thermodynamic uncertainty relation (Barato & Seifert, PRL 114, 158101, 2015;
//! Gingrich et al., PRL 116, 120601, 2016) states Q = D₂ σ / j² ≥ 2, σ the entropy
//! production rate.

use nalgebra::{DMatrix, DVector};

use super::ReversePairs;
use super::cme_entropy::cme_thermo;
use crate::cme::{Generator, StateSpace, propensity_u32, step_unbounded};
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

/// Largest state space handled (the solves are dense).
pub const MAX_DENSE_STATES: usize = 3000;

/// Stationary current statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentStats {
    /// j: mean net firings per unit time.
    pub mean_rate: f64,
    /// D₂: growth rate of Var J.
    pub variance_rate: f64,
    /// σ: stationary entropy production rate (k_B per time), = Ṡ_m in the stationary state.
    pub entropy_production: f64,
    /// Q = D₂ σ / j² (≥ 2 by the TUR).
    pub tur_ratio: f64,
}

/// Current statistics of the pair whose forward channel is `counted`, in the stationary
/// distribution `pi` on `space` (transitions leaving `space` are removed, as in
/// [`crate::cme::stationary`]).
pub fn current_statistics(
    net: &CompiledNetwork,
    pairs: &ReversePairs,
    space: &StateSpace,
    pi: &[f64],
    counted: usize,
) -> Result<CurrentStats> {
    let n = space.len();
    if n > MAX_DENSE_STATES {
        return Err(Error::Unsupported {
            feature: format!(
                "current statistics on {n} states (the dense solve takes at most {MAX_DENSE_STATES})"
            ),
        });
    }
    let g = Generator::build(net, space)?;
    let exit = g.exit_rates();
    let mut a = DMatrix::<f64>::zeros(n, n);
    for y in 0..n {
        for (x, v) in g.row(y) {
            a[(y, x)] += v;
        }
        a[(y, y)] += exit[y];
    }
    // A₁, A₂ for the counted pair.
    let rev = pairs.reverse(counted);
    let ns = net.num_species();
    let mut a1 = DMatrix::<f64>::zeros(n, n);
    let mut a2 = DMatrix::<f64>::zeros(n, n);
    let mut buf = vec![0u64; ns];
    let mut y = vec![0u32; ns];
    for (xi, x) in space.iter().enumerate() {
        for (ch, d) in [(counted, 1.0), (rev, -1.0)] {
            let rate = propensity_u32(net, ch, x, &mut buf);
            if rate <= 0.0 {
                continue;
            }
            if let Some(yi) = step_unbounded(net, ch, x, &mut y).and_then(|()| space.index_of(&y)) {
                a1[(yi, xi)] += d * rate;
                a2[(yi, xi)] += rate;
            }
        }
    }
    let p = DVector::from_column_slice(pi);
    let ones = DVector::from_element(n, 1.0);
    let j = (ones.transpose() * &a1 * &p)[(0, 0)];
    // A r = jπ − A₁π with 1ᵀr = 0: replace the last row by 1ᵀ (A has rank n − 1).
    let mut m = a.clone();
    let mut rhs = &p * j - &a1 * &p;
    for c in 0..n {
        m[(n - 1, c)] = 1.0;
    }
    rhs[n - 1] = 0.0;
    let r = m.lu().solve(&rhs).ok_or_else(|| Error::Numerical {
        what: "current statistics",
        reason: "singular tilted system (reducible chain?)".into(),
    })?;
    let d2 = (ones.transpose() * &a2 * &p)[(0, 0)] + 2.0 * (ones.transpose() * &a1 * &r)[(0, 0)];
    // In the stationary state dS/dt = 0, so σ equals the medium entropy flow, which has no
    // logarithm of probabilities: insensitive to rounding in the far tails of π.
    let sigma = cme_thermo(net, pairs, space, pi, None).medium_entropy_flow;
    Ok(CurrentStats {
        mean_rate: j,
        variance_rate: d2,
        entropy_production: sigma,
        tur_ratio: d2 * sigma / (j * j),
    })
}
