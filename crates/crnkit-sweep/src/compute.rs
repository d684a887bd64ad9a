//! Computing points: the network of a point, its solvers, its rows.

use std::ops::Range;

use rand::RngCore;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::sweep::Sweep;
use crate::table::{Column, Table};
use crnkit_core::network::CompiledNetwork;
use crnkit_core::progress::{Reporter, Unit};
use crnkit_core::rng::stream;

/// The seed of point `p`'s SSA ensemble in a sweep seeded with `seed`: the first number of
/// `crnkit_core::rng::stream(seed, p)`. Replicate r of the point then draws from
/// `stream(point_seed(seed, p), r)` (as every crnkit ensemble does), so a point's result
/// depends only on (seed, p): never on the shard it runs in or the number of threads.
///
/// ```
/// use crnkit_sweep::point_seed;
/// assert_eq!(point_seed(1, 5), point_seed(1, 5));
/// assert_ne!(point_seed(1, 5), point_seed(1, 6));
/// ```
pub fn point_seed(seed: u64, p: u64) -> u64 {
    stream(seed, p).next_u64()
}

/// Bytes of values held for one block of points at most (the unit of parallel work and
/// of writing).
const BLOCK_BYTES: u64 = 64 << 20;

impl Sweep {
    /// Compute the points in `range` on the current rayon pool and return their rows
    /// (ordered by point, then time). `progress` counts points and may cancel.
    pub fn compute(&self, range: Range<u64>, progress: &Reporter) -> Result<Table> {
        self.check_range(&range)?;
        let mut table = self.layout.empty_table();
        self.compute_blocks(range, progress, |mut block| {
            table.append(&mut block);
            Ok(())
        })?;
        Ok(table)
    }

    /// `range` lies within the sweep's points.
    pub(crate) fn check_range(&self, range: &Range<u64>) -> Result<()> {
        if range.start > range.end || range.end > self.points() {
            return Err(Error::setting(
                "points",
                format!("{}..{}", range.start, range.end),
                format!("a range within 0..{}", self.points()),
            ));
        }
        Ok(())
    }

    /// Points per block: as many as fit in [`BLOCK_BYTES`] (at least one).
    fn block_points(&self) -> u64 {
        let per_point = (self.grid.len() * self.layout.len() * 8).max(1) as u64;
        (BLOCK_BYTES / per_point).clamp(1, 4096)
    }

    /// Compute `range` in blocks of points (each block in parallel, in point order) and
    /// hand each block's rows to `sink`, in order.
    pub(crate) fn compute_blocks(
        &self,
        range: Range<u64>,
        progress: &Reporter,
        mut sink: impl FnMut(Table) -> Result<()>,
    ) -> Result<()> {
        let bar = progress.start("sweep", Unit::Points, range.end - range.start, 0);
        let step = self.block_points();
        let mut start = range.start;
        while start < range.end {
            let end = (start + step).min(range.end);
            let stats: Vec<Result<Vec<Vec<f64>>>> = (0..(end - start) as usize)
                .into_par_iter()
                .map(|k| {
                    let p = start + k as u64;
                    progress.check_cancelled()?;
                    let out = self.compute_point(p).map_err(|e| match e {
                        crnkit_core::Error::Cancelled => Error::Model(e),
                        e => Error::Point {
                            point: p,
                            source: Box::new(e),
                        },
                    });
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                    out
                })
                .collect();
            let mut block = self.layout.empty_table();
            for (p, s) in (start..end).zip(stats) {
                self.push_rows(&mut block, p, s?);
            }
            sink(block)?;
            start = end;
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        Ok(())
    }

    /// Append point `p`'s rows: its index, parameters, initial counts, the times and the
    /// statistics (`stats`: one vector per statistics column, one value per time).
    fn push_rows(&self, block: &mut Table, p: u64, stats: Vec<Vec<f64>>) {
        let (values, init) = self.point_unchecked(p);
        let times = self.grid.times();
        let t = times.len();
        let x0: Vec<u64> = self
            .x0_species
            .iter()
            .map(|&i| {
                self.inits[init]
                    .iter()
                    .find(|(s, _)| *s == i)
                    .map_or(self.net.initial_state()[i], |&(_, c)| c)
            })
            .collect();
        let fixed = std::iter::once(Fill::U(p))
            .chain(values.into_iter().map(Fill::F))
            .chain(x0.into_iter().map(Fill::U))
            .chain(std::iter::once(Fill::Times));
        let mut stats = stats.into_iter();
        for (col, fill) in block
            .columns_mut()
            .iter_mut()
            .zip(fixed.chain(std::iter::repeat(Fill::Stat)))
        {
            match (col, fill) {
                (Column::U64(c), Fill::U(v)) => c.extend(std::iter::repeat_n(v, t)),
                (Column::F64(c), Fill::F(v)) => c.extend(std::iter::repeat_n(v, t)),
                (Column::F64(c), Fill::Times) => c.extend_from_slice(times),
                (Column::F64(c), Fill::Stat) => c.extend(stats.next().unwrap_or_default()),
                _ => unreachable!("the layout and the fill follow one order"),
            }
        }
    }

    /// The statistics columns of point `p`, one vector per column of the layout after
    /// `time`, each one value per time.
    pub(crate) fn compute_point(&self, p: u64) -> crnkit_core::Result<Vec<Vec<f64>>> {
        let (values, init) = self.point_unchecked(p);
        let pairs: Vec<(&str, f64)> = self
            .names
            .iter()
            .map(String::as_str)
            .zip(values.iter().copied())
            .collect();
        let mut net = self.net.with_parameters(&pairs)?;
        for &(i, c) in &self.inits[init] {
            net.set_initial(i, c)?;
        }
        let compiled = net.compile();
        let mut cols = Vec::new();
        if let Some(method) = self.outputs.ssa {
            self.ssa_columns(&compiled, method, p, &mut cols)?;
        }
        if let Some(fsp) = &self.outputs.cme {
            let sol = crnkit_sim::cme::solve_transient(&compiled, &self.grid, fsp)?;
            let nc = sol.columns.len();
            cols.extend((0..nc).map(|c| sol.mean.iter().map(|m| m[c]).collect()));
            cols.extend((0..nc).map(|c| sol.sd.iter().map(|s| s[c]).collect()));
            cols.push(sol.error_bound);
        }
        if let Some((rtol, atol)) = self.outputs.ode {
            let x0: Vec<f64> = compiled.initial_state().iter().map(|&v| v as f64).collect();
            let sol = crnkit_sim::thermo::ode::integrate(&compiled, &x0, &self.grid, rtol, atol)?;
            let ns = compiled.num_species();
            cols.extend((0..ns).map(|i| sol.states.iter().map(|x| x[i]).collect()));
        }
        if let Some(method) = self.outputs.thermo {
            let cfg = crnkit_sim::thermo::ThermoConfig {
                until: self.spec.time.until,
                every: self.spec.time.every,
                method,
                fsp: self.outputs.cme.clone().unwrap_or_default(),
                ..Default::default()
            };
            let th = crnkit_sim::thermo::thermo(&net, &cfg)?;
            cols.push(th.entropy_production_rate());
            cols.push(th.total_entropy_produced());
            cols.push(th.free_energy());
        }
        Ok(cols)
    }

    /// SSA means, then sds, per column (species, then observables).
    fn ssa_columns(
        &self,
        net: &CompiledNetwork,
        method: crnkit_sim::ssa::Method,
        p: u64,
        cols: &mut Vec<Vec<f64>>,
    ) -> crnkit_core::Result<()> {
        let cfg = crnkit_sim::ssa::EnsembleConfig {
            until: self.spec.time.until,
            every: self.spec.time.every,
            runs: self.spec.replicates,
            seed: point_seed(self.spec.seed, p),
            method,
            ..Default::default()
        };
        let r = cfg.run_compiled(net)?;
        let (t, nc) = (r.grid.len(), r.columns.len());
        cols.extend((0..nc).map(|c| (0..t).map(|k| r.mean(k, c)).collect()));
        cols.extend((0..nc).map(|c| (0..t).map(|k| r.sd(k, c)).collect()));
        Ok(())
    }
}

/// What fills a column of a point's rows.
#[derive(Clone, Copy)]
enum Fill {
    U(u64),
    F(f64),
    Times,
    Stat,
}
