//! Time grids and results read by name and time.
//!
//! Every solver that reports statistics on a grid of times (the SSA ensembles of
//! `crnkit-sim`'s `ssa`, the CME's transient solutions) implements [`Series`]: columns are
//! read by name and time index, with errors instead of another cell's value.

use crate::error::{Error, Result};

/// A uniform time grid t_k = k · every for k = 0, 1, … while t_k ≤ until.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeGrid {
    times: Vec<f64>,
}

/// The most grid points accepted.
pub const MAX_GRID_POINTS: usize = 50_000_000;

impl TimeGrid {
    /// The grid 0, every, 2·every, … up to `until`, which always ends it: when `until` is
    /// not a multiple of `every` (within a relative 1e-9) the last interval is shorter.
    ///
    /// ```
    /// use crnkit_core::grid::TimeGrid;
    /// assert_eq!(TimeGrid::new(1.0, 0.5)?.times(), &[0.0, 0.5, 1.0]);
    /// assert_eq!(TimeGrid::new(1.0, 0.4)?.times(), &[0.0, 0.4, 0.8, 1.0]);
    /// assert_eq!(TimeGrid::new(1.0, 5.0)?.times(), &[0.0, 1.0]);
    /// # Ok::<(), crnkit_core::Error>(())
    /// ```
    pub fn new(until: f64, every: f64) -> Result<TimeGrid> {
        if !(until.is_finite() && until >= 0.0) {
            return Err(Error::InvalidSetting {
                name: "until",
                value: until.to_string(),
                reason: "the end time must be finite and >= 0",
            });
        }
        if !(every.is_finite() && every > 0.0) {
            return Err(Error::InvalidSetting {
                name: "every",
                value: every.to_string(),
                reason: "the sampling interval must be finite and > 0",
            });
        }
        let steps = (until / every * (1.0 + 1e-9)).floor();
        if steps + 1.0 > MAX_GRID_POINTS as f64 {
            return Err(Error::InvalidSetting {
                name: "every",
                value: every.to_string(),
                reason: "too many grid points (more than 5e7): use a larger interval",
            });
        }
        let n = steps as usize + 1;
        let mut times: Vec<f64> = (0..n).map(|k| (k as f64 * every).min(until)).collect();
        if let Some(last) = times.last_mut()
            && until - *last > 1e-9 * until
        {
            times.push(until);
        } else if let Some(last) = times.last_mut().filter(|_| n > 1) {
            // A multiple within rounding: end exactly at `until`.
            *last = until;
        }
        Ok(TimeGrid { times })
    }

    /// Grid from explicit, non-decreasing, finite times ≥ 0.
    pub fn from_times(times: Vec<f64>) -> Result<TimeGrid> {
        if times.iter().any(|t| !(t.is_finite() && *t >= 0.0))
            || times.windows(2).any(|w| w[1] < w[0])
        {
            return Err(Error::InvalidSetting {
                name: "times",
                value: format!("{} times", times.len()),
                reason: "sample times must be finite, >= 0 and non-decreasing",
            });
        }
        Ok(TimeGrid { times })
    }

    /// The times.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// No points.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The last time (0 for an empty grid).
    pub fn end(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }
}

/// Means and standard deviations of named columns (species, then observables) at the times
/// of a grid, read with checks.
///
/// ```
/// use crnkit_core::grid::Series;
///
/// struct Two;
/// impl Series for Two {
///     fn columns(&self) -> &[String] {
///         static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
///         C.get_or_init(|| vec!["X".into(), "Y".into()])
///     }
///     fn times(&self) -> &[f64] { &[0.0, 1.0] }
///     fn mean_sd(&self, k: usize, c: usize) -> (f64, f64) { ((10 * k + c) as f64, 0.5) }
/// }
/// assert_eq!(Two.mean_of("Y", 1)?, 11.0);
/// assert!(Two.mean_of("Z", 0).is_err());
/// assert!(Two.mean_of("X", 2).is_err());
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub trait Series {
    /// Column names: species, then observables.
    fn columns(&self) -> &[String];

    /// The output times.
    fn times(&self) -> &[f64];

    /// Mean and standard deviation of column `c` at time index `k` (both in range).
    fn mean_sd(&self, k: usize, c: usize) -> (f64, f64);

    /// The index of column `name`.
    fn column_index(&self, name: &str) -> Result<usize> {
        self.columns()
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::UnknownSpecies {
                name: name.to_string(),
            })
    }

    /// The mean of column `name` at time index `k`.
    fn mean_of(&self, name: &str, k: usize) -> Result<f64> {
        Ok(self
            .mean_sd(self.time_checked(k)?, self.column_index(name)?)
            .0)
    }

    /// The standard deviation of column `name` at time index `k`.
    fn sd_of(&self, name: &str, k: usize) -> Result<f64> {
        Ok(self
            .mean_sd(self.time_checked(k)?, self.column_index(name)?)
            .1)
    }

    /// The means of column `name` at every time.
    fn means_of(&self, name: &str) -> Result<Vec<f64>> {
        let c = self.column_index(name)?;
        Ok((0..self.times().len())
            .map(|k| self.mean_sd(k, c).0)
            .collect())
    }

    /// `k` when it is a time index of the series.
    fn time_checked(&self, k: usize) -> Result<usize> {
        let len = self.times().len();
        if k < len {
            Ok(k)
        } else {
            Err(Error::IndexOutOfRange {
                kind: "time",
                index: k,
                len,
            })
        }
    }
}
