//! Probability distributions over a state space and their summaries.

use super::space::StateSpace;
use crnkit_core::network::CompiledNetwork;

/// A (sub-)probability distribution over the states of a [`StateSpace`].
///
/// FSP distributions are under-estimates: Σ p = 1 − (certified L1 error).
#[derive(Debug, Clone)]
pub struct Distribution {
    space: StateSpace,
    p: Vec<f64>,
}

/// Σ with Neumaier compensation, in index order (deterministic).
pub(crate) fn sum_compensated(v: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for x in v {
        let t = s + x;
        if s.abs() >= x.abs() {
            c += (s - t) + x;
        } else {
            c += (x - t) + s;
        }
        s = t;
    }
    s + c
}

impl Distribution {
    /// A distribution from a state space and one probability per state.
    pub fn new(space: StateSpace, p: Vec<f64>) -> Distribution {
        assert_eq!(space.len(), p.len(), "one probability per state");
        Distribution { space, p }
    }

    /// The states.
    pub fn space(&self) -> &StateSpace {
        &self.space
    }

    /// Probabilities in state-index order.
    pub fn probabilities(&self) -> &[f64] {
        &self.p
    }

    /// Probability of state `x` (0 outside the support).
    pub fn probability(&self, x: &[u32]) -> f64 {
        self.space.index_of(x).map_or(0.0, |i| self.p[i])
    }

    /// Σ p (compensated).
    pub fn total(&self) -> f64 {
        sum_compensated(self.p.iter().copied())
    }

    /// Marginal of species `i`: entry n is P(X_i = n), up to the largest count held.
    pub fn marginal(&self, i: usize) -> Vec<f64> {
        marginal(&self.space, &self.p, i)
    }

    /// E\[X_i\] for every species, computed on the normalised distribution p / Σ p.
    pub fn means(&self) -> Vec<f64> {
        means(&self.space, &self.p)
    }

    /// Covariance matrix (row-major, species × species) of the normalised distribution.
    pub fn covariance(&self) -> Vec<f64> {
        covariance(&self.space, &self.p)
    }

    /// Correlation matrix (row-major); NaN where a species has zero variance.
    pub fn correlation(&self) -> Vec<f64> {
        let n = self.space.num_species();
        let c = self.covariance();
        let mut r = c.clone();
        for i in 0..n {
            for j in 0..n {
                r[i * n + j] = c[i * n + j] / (c[i * n + i] * c[j * n + j]).sqrt();
            }
        }
        r
    }

    /// Mean and variance of an observable (a weighted sum of species) of `net`.
    pub fn observable_moments(&self, net: &CompiledNetwork, k: usize) -> (f64, f64) {
        observable_moments(net, &self.space, &self.p, k)
    }

    /// Σ_x |p(x) − q(x)| over the union of both supports.
    pub fn l1_distance(&self, other: &Distribution) -> f64 {
        let mut d = 0.0;
        for (s, &p) in self.space.iter().zip(&self.p) {
            d += (p - other.probability(s)).abs();
        }
        for (s, &q) in other.space.iter().zip(&other.p) {
            if self.space.index_of(s).is_none() {
                d += q;
            }
        }
        d
    }

    /// max_x |p(x) − q(x)| over the union of both supports.
    pub fn max_abs_difference(&self, other: &Distribution) -> f64 {
        let mut d = 0.0f64;
        for (s, &p) in self.space.iter().zip(&self.p) {
            d = d.max((p - other.probability(s)).abs());
        }
        for (s, &q) in other.space.iter().zip(&other.p) {
            if self.space.index_of(s).is_none() {
                d = d.max(q);
            }
        }
        d
    }

    /// Split into the state space and the probabilities.
    pub fn into_parts(self) -> (StateSpace, Vec<f64>) {
        (self.space, self.p)
    }
}

/// Marginal of species `i` of (space, p).
pub(crate) fn marginal(space: &StateSpace, p: &[f64], i: usize) -> Vec<f64> {
    let top = space.iter().map(|s| s[i]).max().unwrap_or(0) as usize;
    let mut m = vec![0.0; top + 1];
    for (s, &q) in space.iter().zip(p) {
        m[s[i] as usize] += q;
    }
    m
}

/// Means of (space, p / Σ p), accumulated as offsets from the first state so that a
/// constant species gets its count back exactly.
pub(crate) fn means(space: &StateSpace, p: &[f64]) -> Vec<f64> {
    let n = space.num_species();
    if space.is_empty() {
        return vec![0.0; n];
    }
    let z = sum_compensated(p.iter().copied());
    let origin: Vec<f64> = space.state(0).iter().map(|&v| f64::from(v)).collect();
    let mut m = vec![0.0; n];
    for (s, &q) in space.iter().zip(p) {
        for i in 0..n {
            m[i] += q * (f64::from(s[i]) - origin[i]);
        }
    }
    m.iter().zip(&origin).map(|(v, o)| o + v / z).collect()
}

/// Covariance (row-major) of (space, p / Σ p).
pub(crate) fn covariance(space: &StateSpace, p: &[f64]) -> Vec<f64> {
    let n = space.num_species();
    let mu = means(space, p);
    let z = sum_compensated(p.iter().copied());
    let mut c = vec![0.0; n * n];
    let mut d = vec![0.0; n];
    for (s, &q) in space.iter().zip(p) {
        for i in 0..n {
            d[i] = f64::from(s[i]) - mu[i];
        }
        for i in 0..n {
            for j in i..n {
                c[i * n + j] += q * d[i] * d[j];
            }
        }
    }
    for i in 0..n {
        for j in i..n {
            c[i * n + j] /= z;
            c[j * n + i] = c[i * n + j];
        }
    }
    c
}

/// Mean and variance of observable `k` of `net` under (space, p / Σ p).
pub(crate) fn observable_moments(
    net: &CompiledNetwork,
    space: &StateSpace,
    p: &[f64],
    k: usize,
) -> (f64, f64) {
    let z = sum_compensated(p.iter().copied());
    let mut buf = vec![0u64; space.num_species()];
    let (mut m1, mut m2) = (0.0, 0.0);
    for (s, &q) in space.iter().zip(p) {
        for (b, &v) in buf.iter_mut().zip(s) {
            *b = u64::from(v);
        }
        let o = net.observable(k, &buf);
        m1 += q * o;
        m2 += q * o * o;
    }
    let mean = m1 / z;
    (mean, (m2 / z - mean * mean).max(0.0))
}
