//! Recorders: what a simulation keeps. They stream — memory is set by the time grid and the
//! number of species, never by the number of events — except [`EventLog`], which stores
//! every event on request.

/// Receives samples on a time grid (sample-and-hold) and, optionally, every event.
pub trait Recorder {
    /// Whether [`Recorder::event`] does anything. Simulators may skip preparing the state
    /// for `event` when it is false.
    const EVENTS: bool = false;
    /// The next time at which a sample is wanted (`f64::INFINITY` when none).
    fn next_sample(&self) -> f64;
    /// The state at time [`Recorder::next_sample`]: the state after the last event at or
    /// before it. Moves on to the following sample time.
    fn sample(&mut self, x: &[u64]);
    /// An event: channel `channel` fired at time `t`, giving state `x`. Default: ignored.
    #[inline]
    fn event(&mut self, _t: f64, _channel: usize, _x: &[u64]) {}
    /// An event of the network (not a reaction) set the state to `x` at time `t`. Default:
    /// ignored.
    #[inline]
    fn jump(&mut self, _t: f64, _x: &[u64]) {}
}

pub use crnkit_core::grid::TimeGrid;

/// Stores the state at every grid time: `grid.len() × species` counts.
#[derive(Debug, Clone)]
pub struct GridRecorder<'g> {
    grid: &'g [f64],
    k: usize,
    /// Row-major states, one row per grid time.
    pub states: Vec<u64>,
}

impl<'g> GridRecorder<'g> {
    /// An empty recording on `grid`.
    pub fn new(grid: &'g TimeGrid) -> Self {
        GridRecorder {
            grid: grid.times(),
            k: 0,
            states: Vec::new(),
        }
    }

    /// Number of samples taken.
    pub fn samples(&self) -> usize {
        self.k
    }
}

impl Recorder for GridRecorder<'_> {
    #[inline]
    fn next_sample(&self) -> f64 {
        self.grid.get(self.k).copied().unwrap_or(f64::INFINITY)
    }
    #[inline]
    fn sample(&mut self, x: &[u64]) {
        if self.states.is_empty() {
            self.states.reserve(self.grid.len() * x.len());
        }
        self.states.extend_from_slice(x);
        self.k += 1;
    }
}

/// Stores every event (time, channel) and the final state: opt-in, memory grows with the
/// number of events.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    /// (time, channel) of every event in order.
    pub events: Vec<(f64, u32)>,
}

impl Recorder for EventLog {
    const EVENTS: bool = true;
    fn next_sample(&self) -> f64 {
        f64::INFINITY
    }
    fn sample(&mut self, _x: &[u64]) {}
    fn event(&mut self, t: f64, channel: usize, _x: &[u64]) {
        self.events.push((t, channel as u32));
    }
}

/// Running count, mean and sum of squared deviations per (grid time, column): Welford's
/// update within a run, Chan et al.'s pairwise merge between runs (both exact in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// Columns per row.
    pub cols: usize,
    /// Observations so far.
    pub n: u64,
    /// Running means, row-major.
    pub mean: Vec<f64>,
    /// Running sums of squared deviations, row-major.
    pub m2: Vec<f64>,
}

impl Moments {
    /// Zero observations of `points` rows of `cols` columns.
    pub fn new(points: usize, cols: usize) -> Self {
        Moments {
            cols,
            n: 0,
            mean: vec![0.0; points * cols],
            m2: vec![0.0; points * cols],
        }
    }

    /// Welford update of row `k` with values `v` for the `n`-th observation (n ≥ 1).
    #[inline]
    pub fn push(&mut self, k: usize, n: u64, v: impl Iterator<Item = f64>) {
        let base = k * self.cols;
        let inv = 1.0 / n as f64;
        for (c, value) in v.enumerate() {
            let i = base + c;
            let d = value - self.mean[i];
            self.mean[i] += d * inv;
            self.m2[i] += d * (value - self.mean[i]);
        }
    }

    /// Merge `other` into `self` (Chan, Golub, LeVeque 1979).
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        for i in 0..self.mean.len() {
            let d = other.mean[i] - self.mean[i];
            self.mean[i] += d * nb / n;
            self.m2[i] += other.m2[i] + d * d * na * nb / n;
        }
        self.n += other.n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points() {
        let g = TimeGrid::new(50.0, 1.0).unwrap();
        assert_eq!(g.len(), 51);
        assert_eq!(g.end(), 50.0);
        let g = TimeGrid::new(1.0, 0.1).unwrap();
        assert_eq!(g.len(), 11);
        assert!(TimeGrid::new(1.0, 0.0).is_err());
        assert!(TimeGrid::new(-1.0, 1.0).is_err());
        assert!(TimeGrid::new(f64::NAN, 1.0).is_err());
        assert!(TimeGrid::new(1e12, 1e-3).is_err());
    }

    #[test]
    fn welford_and_merge_agree_with_two_pass() {
        let data: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64 * 0.5).collect();
        let mut all = Moments::new(1, 1);
        for (n, v) in data.iter().enumerate() {
            all.push(0, n as u64 + 1, std::iter::once(*v));
        }
        all.n = data.len() as u64;
        let mut a = Moments::new(1, 1);
        for (n, v) in data[..40].iter().enumerate() {
            a.push(0, n as u64 + 1, std::iter::once(*v));
        }
        a.n = 40;
        let mut b = Moments::new(1, 1);
        for (n, v) in data[40..].iter().enumerate() {
            b.push(0, n as u64 + 1, std::iter::once(*v));
        }
        b.n = 60;
        a.merge(&b);
        let mean = data.iter().sum::<f64>() / 100.0;
        let m2: f64 = data.iter().map(|v| (v - mean) * (v - mean)).sum();
        assert!((all.mean[0] - mean).abs() < 1e-12 && (a.mean[0] - mean).abs() < 1e-12);
        assert!((all.m2[0] - m2).abs() < 1e-9 && (a.m2[0] - m2).abs() < 1e-9);
    }
}
