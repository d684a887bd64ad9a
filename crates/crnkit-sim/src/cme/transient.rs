//! Transient CME solutions: uniformization on an adaptive finite state projection.

use rayon::prelude::*;

use super::distribution::{self as dist, Distribution, sum_compensated};
use super::generator::{BLOCK_ROWS, Block, Generator};
use super::poisson::PoissonWeights;
use super::space::{StateSpace, bound_array, grow_bfs, grow_bfs_capped, to_u32_state};
use super::{FspOptions, SolveStats};
use crate::AsCompiled;
use crate::ssa::TimeGrid;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

/// The state of a transient solve at one output time, handed to observers.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// Time.
    pub time: f64,
    /// The current projection.
    pub space: &'a StateSpace,
    /// Probabilities on it (an elementwise under-estimate of the true p(t)).
    pub p: &'a [f64],
    /// Certified bound of the L1 error ‖p_true(t) − p(t)‖₁ = 1 − Σ p (plus a rounding
    /// allowance): probability lost to the projection's boundary, to dropped states and to
    /// the truncated Poisson series.
    pub error_bound: f64,
}

/// One uniformization step's outcome.
struct Step {
    p: Vec<f64>,
    leak: Vec<f64>,
    omitted: f64,
    matvecs: usize,
}

/// One fused pass over a block of rows: next = v + A v / Λ, acc += w · next, and (when
/// `leak` is non-empty) leak += τ · exit / Λ · v.
#[allow(clippy::too_many_arguments)]
#[inline]
fn block_pass(
    b: &Block,
    lo: usize,
    v: &[f64],
    next: &mut [f64],
    acc: &mut [f64],
    leak: &mut [f64],
    exit: &[f64],
    w: f64,
    tau: f64,
    inv: f64,
) {
    for r in 0..next.len() {
        let (a, z) = (b.row_ptr[r] as usize, b.row_ptr[r + 1] as usize);
        let mut s = 0.0;
        for k in a..z {
            s += b.vals[k] * v[b.cols[k] as usize];
        }
        let y = lo + r;
        let nv = v[y] + inv * s;
        next[r] = nv;
        acc[r] += w * nv;
        if !leak.is_empty() {
            leak[r] += tau * inv * exit[y] * v[y];
        }
    }
}

/// p(h) ≈ exp(hA) p0 by uniformization: with Λ = max |A_xx| and P = I + A/Λ ≥ 0,
/// exp(hA) p0 = Σ_k Pois(k; Λh) P^k p0, summed over the Fox–Glynn window [L, R] whose
/// omitted Poisson mass is ≤ `eps`. Every term is non-negative, so the result is an
/// elementwise under-estimate. With `track_leak`, leak[x] is the probability lost through
/// state x's exits to outside the projection during the step:
/// Σ_k P(N > k) · exit_x / Λ · (P^k p0)_x with N ~ Pois(Λh).
fn uniformize(generator: &Generator, p0: &[f64], h: f64, eps: f64, track_leak: bool) -> Step {
    let n = p0.len();
    let lambda = generator.max_rate();
    if lambda == 0.0 || h == 0.0 {
        return Step {
            p: p0.to_vec(),
            leak: vec![0.0; if track_leak { n } else { 0 }],
            omitted: 0.0,
            matvecs: 0,
        };
    }
    let inv = 1.0 / lambda;
    let pw = PoissonWeights::new(lambda * h, eps);
    let right = pw.right();
    let weight = |k: usize| {
        if k < pw.left { 0.0 } else { pw.w[k - pw.left] }
    };
    // tail[k] = P(N > k) for k in 0..R.
    let mut tails = vec![1.0; right + 1];
    if track_leak {
        let mut cum = 0.0;
        for (k, t) in tails.iter_mut().enumerate() {
            cum += weight(k);
            *t = (1.0 - cum).max(0.0);
        }
    }
    let mut v = p0.to_vec();
    let mut next = vec![0.0; n];
    let mut acc: Vec<f64> = p0.iter().map(|&x| weight(0) * x).collect();
    let mut leak = vec![0.0; if track_leak { n } else { 0 }];
    let exit = generator.exit_rates();
    for (k, &tau) in tails.iter().enumerate().take(right) {
        let w = weight(k + 1);
        if generator.blocks.len() <= 1 {
            for (bi, b) in generator.blocks.iter().enumerate() {
                let lo = bi * BLOCK_ROWS;
                let hi = (lo + BLOCK_ROWS).min(n);
                let lk = if track_leak {
                    &mut leak[lo..hi]
                } else {
                    &mut [][..]
                };
                block_pass(
                    b,
                    lo,
                    &v,
                    &mut next[lo..hi],
                    &mut acc[lo..hi],
                    lk,
                    exit,
                    w,
                    tau,
                    inv,
                );
            }
        } else if track_leak {
            next.par_chunks_mut(BLOCK_ROWS)
                .zip(acc.par_chunks_mut(BLOCK_ROWS))
                .zip(leak.par_chunks_mut(BLOCK_ROWS))
                .zip(generator.blocks.par_iter())
                .enumerate()
                .for_each(|(bi, (((nx, ac), lk), b))| {
                    block_pass(b, bi * BLOCK_ROWS, &v, nx, ac, lk, exit, w, tau, inv);
                });
        } else {
            next.par_chunks_mut(BLOCK_ROWS)
                .zip(acc.par_chunks_mut(BLOCK_ROWS))
                .zip(generator.blocks.par_iter())
                .enumerate()
                .for_each(|(bi, ((nx, ac), b))| {
                    block_pass(b, bi * BLOCK_ROWS, &v, nx, ac, &mut [], exit, w, tau, inv);
                });
        }
        std::mem::swap(&mut v, &mut next);
    }
    Step {
        p: acc,
        leak,
        omitted: pw.omitted,
        matvecs: right,
    }
}

/// Per-time summaries of a transient solve, plus the final distribution.
#[derive(Debug, Clone)]
pub struct TransientSolution {
    /// Column names: species, then observables.
    pub columns: Vec<String>,
    /// Number of species (the first columns).
    pub num_species: usize,
    /// Output times.
    pub times: Vec<f64>,
    /// Mean per time and column.
    pub mean: Vec<Vec<f64>>,
    /// Standard deviation per time and column.
    pub sd: Vec<Vec<f64>>,
    /// Certified L1 error bound per time.
    pub error_bound: Vec<f64>,
    /// Projection size per time.
    pub states: Vec<usize>,
    /// Marginal distributions per time and species (entry n = P(X = n)).
    pub marginals: Vec<Vec<Vec<f64>>>,
    /// Species covariance per time (row-major, species × species).
    pub covariance: Vec<Vec<f64>>,
    /// The distribution at the last time.
    pub last: Distribution,
    /// Work done.
    pub stats: SolveStats,
}

impl crnkit_core::grid::Series for TransientSolution {
    fn columns(&self) -> &[String] {
        &self.columns
    }
    fn times(&self) -> &[f64] {
        &self.times
    }
    fn mean_sd(&self, k: usize, c: usize) -> (f64, f64) {
        (self.mean[k][c], self.sd[k][c])
    }
}

impl TransientSolution {
    /// The marginal distribution of species `name` at time index `k` (entry n = P(X = n)),
    /// checked: an unknown species (or an observable) or a time index out of range is an
    /// error.
    ///
    /// ```
    /// use crnkit_core::{Network, grid::{Series, TimeGrid}};
    /// use crnkit_sim::cme::{FspOptions, solve_transient};
    ///
    /// let net = Network::from_crn_str("species: X = 0\n0 -> X @ 2\nX -> 0 @ 1", "imm.crn")?;
    /// let sol = solve_transient(&net, &TimeGrid::new(1.0, 1.0)?, &FspOptions::default())?;
    /// let p = sol.marginal_of("X", 1)?;
    /// let mean = 2.0 * (1.0 - (-1.0f64).exp());
    /// assert!((p[0] - (-mean).exp()).abs() < 1e-8); // Poisson
    /// assert!(sol.marginal_of("Y", 1).is_err() && sol.marginal_of("X", 2).is_err());
    /// # Ok::<(), crnkit_core::Error>(())
    /// ```
    pub fn marginal_of(&self, name: &str, k: usize) -> Result<&[f64]> {
        use crnkit_core::grid::Series as _;
        let k = self.time_checked(k)?;
        let c = self.column_index(name)?;
        let missing = crnkit_core::Error::IndexOutOfRange {
            kind: "species (observables have no marginal)",
            index: c,
            len: self.num_species,
        };
        self.marginals[k].get(c).map(Vec::as_slice).ok_or(missing)
    }
}

/// The mutable state of an adaptive FSP solve.
struct Fsp<'a> {
    net: &'a CompiledNetwork,
    opts: &'a FspOptions,
    bounds: Vec<u32>,
    space: StateSpace,
    generator: Generator,
    p: Vec<f64>,
    stats: SolveStats,
}

impl Fsp<'_> {
    fn rebuild(&mut self) -> Result<()> {
        self.generator = Generator::build_bounded(self.net, &self.space, &self.bounds)?;
        self.stats.builds += 1;
        Ok(())
    }

    /// Grow the projection from the states whose exits lost more than a small share of
    /// the budget. Returns the number of states added.
    fn expand(&mut self, leak: &[f64], budget: f64, layers: usize, t: f64) -> Result<usize> {
        let leaky = leak.iter().filter(|&&l| l > 0.0).count().max(1);
        let threshold = 0.01 * budget / leaky as f64;
        let frontier: Vec<usize> = (0..leak.len()).filter(|&x| leak[x] > threshold).collect();
        let limit = self.opts.max_states;
        // One expansion adds at most about half the projection (plus a layer), however
        // many layers were asked for: layers are cheap in one dimension, not in several.
        let soft_cap = (self.space.len() / 2).max(64);
        let added = grow_bfs_capped(
            self.net,
            &mut self.space,
            frontier,
            &self.bounds,
            layers,
            soft_cap,
            limit,
            &|| format!("adaptive projection at t = {t}"),
        )?;
        if added > 0 {
            self.p.resize(self.space.len(), 0.0);
            self.rebuild()?;
            self.stats.expansions += 1;
        }
        Ok(added)
    }

    /// Drop states whose probability is below θ = credit / n and that are not one reaction
    /// away from a kept state, when that removes at least 30 % of the projection. Returns
    /// the probability dropped.
    fn shrink(&mut self, credit: f64) -> Result<f64> {
        let n = self.space.len();
        if n < 256 || credit <= 0.0 {
            return Ok(0.0);
        }
        let theta = credit / n as f64;
        let small = self.p.iter().filter(|&&p| p < theta).count();
        if small * 10 < n * 4 {
            return Ok(0.0);
        }
        let mut keep = vec![false; n];
        let ns = self.space.num_species();
        let mut y = vec![0u32; ns];
        for x in 0..n {
            if self.p[x] >= theta {
                keep[x] = true;
                for r in 0..self.net.num_channels() {
                    if super::space::step_state(
                        self.net,
                        r,
                        self.space.state(x),
                        &self.bounds,
                        &mut y,
                    )
                    .is_some()
                        && let Some(j) = self.space.index_of(&y)
                    {
                        keep[j] = true;
                    }
                }
            }
        }
        let kept: Vec<usize> = (0..n).filter(|&x| keep[x]).collect();
        if (n - kept.len()) * 10 < n * 3 {
            return Ok(0.0);
        }
        let dropped = sum_compensated((0..n).filter(|&x| !keep[x]).map(|x| self.p[x]));
        self.space = self.space.subset(&kept);
        self.p = kept.iter().map(|&x| self.p[x]).collect();
        self.rebuild()?;
        self.stats.shrinks += 1;
        Ok(dropped)
    }
}

/// Solve dp/dt = A p from the network's initial state on the times of `grid`, calling
/// `observe` at each grid time. See [`FspOptions`] for the projection and tolerance.
///
/// Error control: the tolerance ε is split into ε/2 for probability leaving the projection,
/// ε/4 for the truncated Poisson series and ε/4 for states dropped behind the moving mass,
/// each spread over [0, T] in proportion to the step length, so ‖p_true(t) − p(t)‖₁ ≤ ε·t/T
/// in the adaptive mode. Every source of error removes probability from an elementwise
/// under-estimate, so the error at any time is certified by 1 − Σ p (Munsky & Khammash
/// 2006; uniformization: Grassmann 1977, Fox & Glynn 1988).
pub fn solve_transient_with(
    net: &(impl AsCompiled + ?Sized),
    grid: &TimeGrid,
    opts: &FspOptions,
    observe: impl FnMut(&Snapshot<'_>),
) -> Result<SolveStats> {
    solve_transient_from(net, None, grid, opts, observe)
}

/// [`solve_transient_with`] from an initial distribution (`None`: the network's initial
/// state). The distribution's probabilities must be finite, ≥ 0 and sum to at most 1; its
/// missing mass counts as error from the start.
pub fn solve_transient_from(
    net: &(impl AsCompiled + ?Sized),
    initial: Option<&Distribution>,
    grid: &TimeGrid,
    opts: &FspOptions,
    observe: impl FnMut(&Snapshot<'_>),
) -> Result<SolveStats> {
    uniformization_solve(&net.as_compiled(), initial, grid, opts, observe)
}

/// Refuse to go on when the work done plus the work the remaining time needs on the
/// present projection (Λ·(T − t) products of its non-zeros, a lower estimate: the
/// projection rarely shrinks below what it is) exceeds the limit.
fn check_work(fsp: &Fsp<'_>, t: f64, horizon: f64) -> Result<()> {
    let per_product = fsp.generator.nnz() as f64;
    let remaining = fsp.generator.max_rate() * (horizon - t) * per_product;
    let limit = fsp.opts.max_work;
    if fsp.stats.work + remaining <= limit {
        return Ok(());
    }
    Err(Error::WorkLimit {
        limit,
        context: format!(
            "at t = {t:.6} of {horizon} on {} states after {:.3e}, the remaining time needs \
             about {remaining:.3e} more on the present projection",
            fsp.space.len(),
            fsp.stats.work
        ),
    })
}

/// Most BFS layers one expansion adds.
const MAX_LAYERS: usize = 1 << 14;

/// The kernel of [`solve_transient_from`] on a compiled network.
// Numeric kernel: kept whole (see docs/architecture.md, functions over 100 lines)
#[allow(clippy::too_many_lines)]
fn uniformization_solve(
    net: &CompiledNetwork,
    initial: Option<&Distribution>,
    grid: &TimeGrid,
    opts: &FspOptions,
    mut observe: impl FnMut(&Snapshot<'_>),
) -> Result<SolveStats> {
    opts.validate()?;
    let ns = net.num_species();
    let bounds = bound_array(&opts.bounds, ns);
    let x0 = to_u32_state(net, net.initial_state())?;
    for i in 0..ns {
        if x0[i] > bounds[i] {
            return Err(Error::InvalidSetting {
                name: "bound",
                value: format!("{} = {}", net.species_names()[i], bounds[i]),
                reason: "a bound must be at least the initial count",
            });
        }
    }
    let (mut space, p0) = match initial {
        None => {
            let mut space = StateSpace::new(ns);
            space.insert(&x0)?;
            (space, vec![1.0])
        }
        Some(d) => {
            let probs = d.probabilities();
            let total = sum_compensated(probs.iter().copied());
            if d.space().num_species() != ns
                || probs.iter().any(|q| !(q.is_finite() && *q >= 0.0))
                || total > 1.0 + 1e-12
            {
                return Err(Error::InvalidSetting {
                    name: "initial distribution",
                    value: format!("{} states, total {total}", probs.len()),
                    reason: "probabilities must be finite, >= 0, sum to <= 1, one count per species",
                });
            }
            for s in d.space().iter() {
                for i in 0..ns {
                    if s[i] > bounds[i] {
                        return Err(Error::InvalidSetting {
                            name: "bound",
                            value: format!("{} = {}", net.species_names()[i], bounds[i]),
                            reason: "the initial distribution has states beyond a bound",
                        });
                    }
                }
            }
            (d.space().clone(), probs.to_vec())
        }
    };
    // Adaptive: the initial support and the states two reactions away (the projection
    // grows from there); fixed: everything reachable within the bounds.
    let initial_layers = if opts.adaptive { 2 } else { usize::MAX };
    let frontier: Vec<usize> = (0..space.len()).collect();
    grow_bfs(
        net,
        &mut space,
        frontier,
        &bounds,
        initial_layers,
        opts.max_states,
        &|| "enumerating the projection".into(),
    )?;
    let mut p = vec![0.0; space.len()];
    p[..p0.len()].copy_from_slice(&p0);
    let generator = Generator::build_bounded(net, &space, &bounds)?;
    let mut fsp = Fsp {
        net,
        opts,
        bounds,
        space,
        generator,
        p,
        stats: SolveStats {
            builds: 1,
            ..SolveStats::default()
        },
    };
    let horizon = grid.end();
    let tol = opts.tol;
    let (tol_leak, tol_trunc, tol_drop) = if opts.adaptive {
        (0.5 * tol, 0.25 * tol, 0.25 * tol)
    } else {
        (f64::INFINITY, 0.5 * tol, 0.0)
    };
    // Matrix–vector products per step: grows while steps succeed, shrinks when the
    // projection had to grow (a redone step is cheaper when short).
    let mut steps_per_pass: f64 = if opts.adaptive { 64.0 } else { 4096.0 };
    let mut t = 0.0f64;
    let mut rounding = 0.0f64;
    let mut drop_credit = 0.0f64;
    let bar = opts.progress.start_horizon("solving CME", horizon);
    // Layers added per expansion: doubles while steps are redone, halves while they are
    // not, so a projection that must keep growing (X -> 2 X) grows geometrically instead of
    // a few states per redone step.
    let mut layers = 1usize;
    for &tk in grid.times() {
        while t < tk {
            opts.progress.check_cancelled()?;
            let mut redone = false;
            let (step, h, lost) = loop {
                let lambda = fsp.generator.max_rate();
                let mut h = tk - t;
                if lambda > 0.0 && lambda * h > steps_per_pass {
                    h = steps_per_pass / lambda;
                }
                // Land exactly on tk when the remainder is tiny.
                if tk - (t + h) < 1e-12 * tk.abs().max(1.0) {
                    h = tk - t;
                }
                check_work(&fsp, t, horizon)?;
                let frac = h / horizon;
                let step = uniformize(&fsp.generator, &fsp.p, h, tol_trunc * frac, opts.adaptive);
                fsp.stats.matvecs += step.matvecs;
                fsp.stats.work += step.matvecs as f64 * fsp.generator.nnz() as f64;
                let lost = sum_compensated(step.leak.iter().copied());
                if !opts.adaptive || lost <= tol_leak * frac {
                    break (step, h, lost);
                }
                fsp.stats.rejected_steps += 1;
                steps_per_pass = (steps_per_pass / 2.0).max(32.0);
                if fsp.expand(&step.leak, tol_leak * frac, layers, t)? == 0 {
                    // The leak goes through user bounds: it cannot be closed; it is
                    // reported in the error bound.
                    break (step, h, lost);
                }
                layers = (layers * 2).min(MAX_LAYERS);
                redone = true;
            };
            if !redone {
                steps_per_pass = (steps_per_pass * 2.0).min(4096.0);
            }
            let frac = h / horizon;
            fsp.p = step.p;
            fsp.stats.steps += 1;
            fsp.stats.poisson_omitted += step.omitted;
            rounding += (step.matvecs as f64 + 1.0) * 4.0 * f64::EPSILON;
            t = if (tk - (t + h)).abs() <= 1e-12 * tk.abs().max(1.0) {
                tk
            } else {
                t + h
            };
            if opts.adaptive {
                if lost > 0.25 * tol_leak * frac {
                    fsp.expand(&step.leak, tol_leak * frac, layers, t)?;
                } else if !redone {
                    layers = (layers / 2).max(1);
                }
                drop_credit += tol_drop * frac;
                let dropped = fsp.shrink(drop_credit)?;
                drop_credit -= dropped;
            }
            fsp.stats.max_states = fsp.stats.max_states.max(fsp.space.len());
            if let Some(b) = &bar {
                b.set_position((t / horizon * 1000.0) as u64);
            }
        }
        fsp.stats.max_states = fsp.stats.max_states.max(fsp.space.len());
        let mass = sum_compensated(fsp.p.iter().copied());
        observe(&Snapshot {
            time: tk,
            space: &fsp.space,
            p: &fsp.p,
            error_bound: (1.0 - mass).max(0.0) + rounding,
        });
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(fsp.stats)
}

/// Solve the CME on `grid` and summarise every output time (means, standard deviations,
/// marginals, covariances, error bounds); the last distribution is kept whole.
pub fn solve_transient(
    net: &(impl AsCompiled + ?Sized),
    grid: &TimeGrid,
    opts: &FspOptions,
) -> Result<TransientSolution> {
    let net = &*net.as_compiled();
    let ns = net.num_species();
    let mut columns: Vec<String> = net.species_names().to_vec();
    columns.extend(net.observable_names().iter().cloned());
    let mut sol = TransientSolution {
        columns,
        num_species: ns,
        times: Vec::new(),
        mean: Vec::new(),
        sd: Vec::new(),
        error_bound: Vec::new(),
        states: Vec::new(),
        marginals: Vec::new(),
        covariance: Vec::new(),
        last: Distribution::new(StateSpace::new(ns), Vec::new()),
        stats: SolveStats::default(),
    };
    let nobs = net.observable_names().len();
    let mut last: Option<(StateSpace, Vec<f64>)> = None;
    let end = grid.end();
    let stats = solve_transient_with(net, grid, opts, |s| {
        let cov = dist::covariance(s.space, s.p);
        let mut mean = dist::means(s.space, s.p);
        let mut sd: Vec<f64> = (0..ns).map(|i| cov[i * ns + i].max(0.0).sqrt()).collect();
        for k in 0..nobs {
            let (m, v) = dist::observable_moments(net, s.space, s.p, k);
            mean.push(m);
            sd.push(v.sqrt());
        }
        sol.times.push(s.time);
        sol.mean.push(mean);
        sol.sd.push(sd);
        sol.error_bound.push(s.error_bound);
        sol.states.push(s.space.len());
        sol.marginals
            .push((0..ns).map(|i| dist::marginal(s.space, s.p, i)).collect());
        sol.covariance.push(cov);
        if s.time == end {
            last = Some((s.space.clone(), s.p.to_vec()));
        }
    })?;
    if let Some((space, p)) = last {
        sol.last = Distribution::new(space, p);
    }
    sol.stats = stats;
    Ok(sol)
}
