//! Ensembles of independent trajectories, in parallel and reproducible.
//!
//! Trajectory i draws from [`crnkit_core::rng::stream`]`(seed, i)` only. Runs are grouped in fixed
//! chunks of [`CHUNK`] consecutive indices; each chunk accumulates its moments sequentially
//! (Welford), and chunk results are merged in chunk order (Chan's pairwise update). The
//! partition does not depend on the thread count, so the results are bit-identical on 1 or
//! N threads — and a shard of chunks run elsewhere merges to the same numbers.
//!
//! Memory is O(grid × columns) per chunk in flight, whatever the number of events.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::recorder::{Moments, Recorder, TimeGrid};
use super::{AnySimulator, Method, Simulator, StopReason};
use crate::AsCompiled;
use crnkit_core::error::{Error, Result};
use crnkit_core::network::CompiledNetwork;
use crnkit_core::progress::{Reporter, Unit};
use crnkit_core::rng::stream;

/// Runs per chunk (the unit of parallel work and of deterministic merging).
pub const CHUNK: u64 = 16;

/// What to simulate and record.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleConfig {
    /// End time (≥ 0).
    pub until: f64,
    /// Sampling interval of the recorded grid (> 0).
    pub every: f64,
    /// Number of trajectories (≥ 1).
    pub runs: u64,
    /// Master seed.
    pub seed: u64,
    /// Simulation method.
    pub method: Method,
    /// Keep the grid states of the first this many runs.
    pub keep_trajectories: usize,
    /// Record per-species histograms at every grid time.
    pub histograms: bool,
    /// Where progress reports go (nowhere by default).
    pub progress: Reporter,
}

/// `until` 10, `every` 1, 1,000 runs, seed 0, [`Method::Auto`], no trajectories kept, no
/// histograms, silent.
/// The largest result an ensemble may hold in memory (bytes; see
/// [`EnsembleConfig::run`]).
pub const MAX_RESULT_BYTES: u64 = 2 << 30;

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            until: 10.0,
            every: 1.0,
            runs: 1000,
            seed: 0,
            method: Method::Auto,
            keep_trajectories: 0,
            histograms: false,
            progress: Reporter::none(),
        }
    }
}

/// The result of an ensemble run.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleResult {
    /// The sampling grid.
    pub grid: TimeGrid,
    /// Column names: the species, then the observables.
    pub columns: Vec<String>,
    /// Number of species columns (the first ones).
    pub num_species: usize,
    /// The method used (resolved from `Auto`).
    pub method: Method,
    /// Master seed.
    pub seed: u64,
    moments: Moments,
    /// Grid states (row-major, grid × species) of the first kept runs.
    pub trajectories: Vec<Vec<u64>>,
    /// Per (grid time, species) histograms of counts, row-major, when requested.
    pub histograms: Option<Vec<BTreeMap<u64, u64>>>,
    /// Total events over all runs.
    pub events: u64,
    /// Runs that reached an absorbing state (no reaction could fire).
    pub absorbed: u64,
}

struct ChunkOut {
    moments: Moments,
    trajectories: Vec<Vec<u64>>,
    histograms: Option<Vec<BTreeMap<u64, u64>>>,
    events: u64,
    absorbed: u64,
}

/// Records one trajectory into its chunk's accumulators.
struct ChunkRecorder<'a> {
    grid: &'a [f64],
    k: usize,
    n: u64,
    net: &'a CompiledNetwork,
    moments: &'a mut Moments,
    keep: Option<&'a mut Vec<u64>>,
    hist: Option<&'a mut Vec<BTreeMap<u64, u64>>>,
}

impl Recorder for ChunkRecorder<'_> {
    #[inline]
    fn next_sample(&self) -> f64 {
        self.grid.get(self.k).copied().unwrap_or(f64::INFINITY)
    }

    #[inline]
    fn sample(&mut self, x: &[u64]) {
        let net = self.net;
        let obs = (0..net.observable_names().len()).map(|o| net.observable(o, x));
        self.moments
            .push(self.k, self.n, x.iter().map(|&v| v as f64).chain(obs));
        if let Some(keep) = self.keep.as_deref_mut() {
            keep.extend_from_slice(x);
        }
        if let Some(hist) = self.hist.as_deref_mut() {
            let base = self.k * x.len();
            for (i, &v) in x.iter().enumerate() {
                *hist[base + i].entry(v).or_insert(0) += 1;
            }
        }
        self.k += 1;
    }
}

impl EnsembleConfig {
    /// Check the settings.
    pub fn validate(&self) -> Result<TimeGrid> {
        if self.runs == 0 {
            return Err(Error::InvalidSetting {
                name: "runs",
                value: "0".into(),
                reason: "at least one run is needed",
            });
        }
        TimeGrid::new(self.until, self.every)
    }

    /// Refuse, before any allocation, results larger than [`MAX_RESULT_BYTES`]: the
    /// statistics (mean and sum of squares per grid time and column, twice: the total and a
    /// chunk in flight) and the kept trajectories.
    fn check_memory(&self, points: usize, cols: usize, ns: usize) -> Result<()> {
        let stats = (points as u128) * (cols as u128) * 32;
        let keep = (self.keep_trajectories as u64).min(self.runs);
        let kept = u128::from(keep) * (points as u128) * (ns as u128) * 8;
        let bytes = stats + kept;
        if bytes > u128::from(MAX_RESULT_BYTES) {
            return Err(Error::InvalidSetting {
                name: if kept > stats {
                    "keep_trajectories"
                } else {
                    "every"
                },
                value: format!(
                    "{points} grid times × {cols} columns, {keep} kept trajectories: {:.1} GB",
                    bytes as f64 / 1e9
                ),
                reason: "the results would exceed 2 GiB of memory: sample less often, keep \
                         fewer trajectories or split the horizon into pieces",
            });
        }
        Ok(())
    }

    /// Simulate the ensemble of a [`Network`](crnkit_core::Network) (or of a network
    /// compiled beforehand) on the current rayon thread pool.
    pub fn run(&self, net: &(impl AsCompiled + ?Sized)) -> Result<EnsembleResult> {
        self.run_compiled(&net.as_compiled())
    }

    /// Simulate on a pool of `threads` threads (`None`: rayon's default).
    pub fn run_with_threads(
        &self,
        net: &(impl AsCompiled + ?Sized),
        threads: Option<usize>,
    ) -> Result<EnsembleResult> {
        let compiled = net.as_compiled();
        match threads {
            None => self.run_compiled(&compiled),
            Some(0) => Err(Error::InvalidSetting {
                name: "threads",
                value: "0".into(),
                reason: "at least one thread is needed (leave it unset for all cores)",
            }),
            Some(k) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(k)
                    .build()
                    .map_err(|_| Error::InvalidSetting {
                        name: "threads",
                        value: k.to_string(),
                        reason: "cannot start a thread pool of this size",
                    })?;
                pool.install(|| self.run_compiled(&compiled))
            }
        }
    }

    /// Simulate a compiled network.
    pub fn run_compiled(&self, net: &CompiledNetwork) -> Result<EnsembleResult> {
        let grid = self.validate()?;
        let method = self.method.resolve(net);
        let ns = net.num_species();
        let cols = ns + net.observable_names().len();
        let points = grid.len();
        self.check_memory(points, cols, ns)?;
        let chunks = self.runs.div_ceil(CHUNK);
        // Chunks in flight at once: bounded memory, independent of the thread count.
        let chunk_bytes = (points * cols * 16).max(1) as u64;
        let window = (64 * 1024 * 1024 / chunk_bytes).clamp(1, 256);
        let bar = self.progress.start("simulating", Unit::Runs, self.runs, 0);

        let mut total = Moments::new(points, cols);
        let mut trajectories = Vec::new();
        let mut histograms = self.histograms.then(|| vec![BTreeMap::new(); points * ns]);
        let (mut events, mut absorbed) = (0, 0);
        let mut start = 0;
        while start < chunks {
            let end = (start + window).min(chunks);
            let one = |c: u64| {
                let first = c * CHUNK;
                let count = CHUNK.min(self.runs - first);
                let out = self.run_chunk(net, method, &grid, first, count);
                if let Some(b) = &bar {
                    b.inc(count);
                }
                out
            };
            // A single chunk runs on the calling thread: handing it to the pool would
            // only add a thread hop (the results are the same either way).
            let outs: Vec<Result<ChunkOut>> = if end - start == 1 {
                vec![one(start)]
            } else {
                (start..end).into_par_iter().map(one).collect()
            };
            for out in outs {
                let out = out?;
                total.merge(&out.moments);
                trajectories.extend(out.trajectories);
                if let (Some(h), Some(o)) = (histograms.as_mut(), out.histograms) {
                    for (a, b) in h.iter_mut().zip(o) {
                        for (v, c) in b {
                            *a.entry(v).or_insert(0) += c;
                        }
                    }
                }
                events += out.events;
                absorbed += out.absorbed;
            }
            start = end;
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let mut columns: Vec<String> = net.species_names().to_vec();
        columns.extend(net.observable_names().iter().cloned());
        Ok(EnsembleResult {
            grid,
            columns,
            num_species: ns,
            method,
            seed: self.seed,
            moments: total,
            trajectories,
            histograms,
            events,
            absorbed,
        })
    }

    fn run_chunk(
        &self,
        net: &CompiledNetwork,
        method: Method,
        grid: &TimeGrid,
        first: u64,
        count: u64,
    ) -> Result<ChunkOut> {
        let ns = net.num_species();
        let cols = ns + net.observable_names().len();
        let mut sim = AnySimulator::new(net, method)?;
        let mut moments = Moments::new(grid.len(), cols);
        let mut trajectories = Vec::new();
        let mut hist = self
            .histograms
            .then(|| vec![BTreeMap::new(); grid.len() * ns]);
        let (mut events, mut absorbed) = (0, 0);
        for (n, i) in (first..first + count).enumerate() {
            self.progress.check_cancelled()?;
            let mut rng = stream(self.seed, i);
            sim.reset(net.initial_state(), 0.0)?;
            let keep = (i as usize) < self.keep_trajectories;
            let mut kept = Vec::new();
            let mut rec = ChunkRecorder {
                grid: grid.times(),
                k: 0,
                n: n as u64 + 1,
                net,
                moments: &mut moments,
                keep: keep.then_some(&mut kept),
                hist: hist.as_mut(),
            };
            if sim.advance_until(self.until, &mut rng, &mut rec)? == StopReason::Absorbed {
                absorbed += 1;
            }
            events += sim.events();
            if keep {
                trajectories.push(kept);
            }
        }
        moments.n = count;
        Ok(ChunkOut {
            moments,
            trajectories,
            histograms: hist,
            events,
            absorbed,
        })
    }
}

impl crnkit_core::grid::Series for EnsembleResult {
    fn columns(&self) -> &[String] {
        &self.columns
    }
    fn times(&self) -> &[f64] {
        self.grid.times()
    }
    fn mean_sd(&self, k: usize, c: usize) -> (f64, f64) {
        (self.mean(k, c), self.sd(k, c))
    }
}

impl EnsembleResult {
    /// Number of runs.
    pub fn runs(&self) -> u64 {
        self.moments.n
    }

    /// Mean of column `c` at grid point `k` (panics out of range; read by name with
    /// [`Series::mean_of`](crnkit_core::grid::Series::mean_of)).
    pub fn mean(&self, k: usize, c: usize) -> f64 {
        self.check_cell(k, c);
        self.moments.mean[k * self.moments.cols + c]
    }

    /// Sample variance (divisor n − 1) of column `c` at grid point `k`.
    pub fn variance(&self, k: usize, c: usize) -> f64 {
        self.check_cell(k, c);
        let n = self.moments.n;
        if n < 2 {
            0.0
        } else {
            self.moments.m2[k * self.moments.cols + c] / (n - 1) as f64
        }
    }

    /// Sample standard deviation of column `c` at grid point `k`.
    pub fn sd(&self, k: usize, c: usize) -> f64 {
        self.variance(k, c).sqrt()
    }

    /// Panics when (k, c) is not a cell (as indexing does), instead of reading another
    /// cell's value; [`Series::mean_of`](crnkit_core::grid::Series::mean_of) and
    /// [`Series::sd_of`](crnkit_core::grid::Series::sd_of) return an error instead.
    fn check_cell(&self, k: usize, c: usize) {
        let (points, cols) = (self.grid.len(), self.moments.cols);
        assert!(
            k < points && c < cols,
            "cell (time {k}, column {c}) out of range: {points} times × {cols} columns"
        );
    }

    /// Index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}
