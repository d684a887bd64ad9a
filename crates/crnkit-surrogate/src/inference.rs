//! Parameter inference from snapshot data with a distilled surrogate.
//!
//! Snapshot data are independent cells, each measured once: cell c is a time t_c and the
//! counts x_c of every species, all cells started from one initial state x0 at time 0 (flow
//! cytometry, smFISH). With a trained [`Surrogate`] q(x | θ, x0, t) standing in for the
//! CME solution p(x | θ, x0, t), the log-likelihood of parameters θ is
//!
//! ```text
//! ℓ(θ) = Σ_c ln q(x_c | θ, x0, t_c) = Σ_r n_r ln q(x_r | θ, x0, t_r)
//! ```
//!
//! where the second sum runs over the distinct (time, state) rows r of the data with their
//! multiplicities n_r ([`Snapshots`] groups them, so each distinct row is evaluated once).
//! The model is exactly normalised and differentiable in its prompt, so ℓ and ∇ℓ come at
//! the cost of one forward and one backward pass over the distinct rows, instead of one
//! CME solve per θ. This is the use Liu & Wang (PNAS 121:e2317422121, 2024) make of a
//! distilled model: likelihood-based inference of rate constants from snapshot data.
//!
//! * [`Likelihood`] fixes some box parameters, leaves the others free, and evaluates ℓ and
//!   its gradient (candle autodiff through the prompt).
//! * [`Likelihood::mle`]: the maximum-likelihood estimate by L-BFGS on an unconstrained
//!   reparametrisation that never leaves the trained box, multi-started, with standard
//!   errors from the observed information.
//! * [`Likelihood::mcmc`]: random-walk Metropolis–Hastings under a uniform prior on the
//!   box, several chains, with the Gelman–Rubin diagnostic.
//!
//! Free parameters live in the *normalised coordinates* u ∈ [−1, 1] of the box (the prompt
//! entries, see [`super::ParamBox::normalise`]): u = 2(w − a)/(b − a) − 1 with w = ln θ,
//! a = ln lo, b = ln hi for a log-scale parameter and w = θ, a = lo, b = hi otherwise. The
//! *working scale* w is ln θ for log-scale parameters and θ for the others.
//!
//! [`exact`] is the same likelihood under the exact CME (FSP) instead of a surrogate: the
//! reference a surrogate's estimates are judged against.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use candle_core::{DType, Tensor, Var};
use rand::Rng as _;
use rayon::prelude::*;

use super::{Surrogate, halton, quantile};
use crate::error::{Error, Result, candle};
use crnkit_core::Error as ModelError;

pub mod exact;

/// Rows per forward pass when evaluating the likelihood.
const CHUNK_ROWS: usize = 1 << 15;

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// Snapshot data: cells measured once each, as distinct (time, state) rows with their
/// multiplicities.
///
/// Rows are kept sorted by time, then state. Every row remembers where it was first seen
/// (`file:line` for data read from CSV, `cell i` (0-based) for data given as vectors), so
/// that an error about a row can name a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshots {
    species: Vec<String>,
    times: Vec<f64>,
    states: Vec<u32>,
    counts: Vec<u64>,
    origin: Vec<String>,
    cells: u64,
}

impl Snapshots {
    /// Data from vectors: cell c has time `times[c]` and counts
    /// `counts[c·S .. (c + 1)·S]` in the order of `species` (S = `species.len()`).
    ///
    /// Errors: no species, a repeated species name, no cells, a length mismatch, a time that
    /// is negative or not finite, a count above 2³² − 1.
    pub fn new(species: &[String], times: &[f64], counts: &[u64]) -> Result<Snapshots> {
        let bad = |reason: String| Error::Data { reason };
        check_species_list(species)?;
        let ns = species.len();
        if counts.len() != times.len() * ns {
            return Err(bad(format!(
                "snapshot data: {} times need {} counts ({} species), found {}",
                times.len(),
                times.len() * ns,
                ns,
                counts.len()
            )));
        }
        let mut cells = Vec::with_capacity(times.len());
        for (c, &t) in times.iter().enumerate() {
            if !(t.is_finite() && t >= 0.0) {
                return Err(bad(format!(
                    "snapshot data: cell {c} has time {t} (times must be finite and >= 0)"
                )));
            }
            let mut st = Vec::with_capacity(ns);
            for (i, &x) in counts[c * ns..(c + 1) * ns].iter().enumerate() {
                let x = u32::try_from(x).map_err(|_| {
                    bad(format!(
                        "snapshot data: cell {c} has count {x} of species `{}` (above 2^32 - 1)",
                        species[i]
                    ))
                })?;
                st.push(x);
            }
            cells.push((t, st, c));
        }
        Snapshots::group(species, cells, |c| format!("cell {c}"))
    }

    /// Group cells (time, state, position) into distinct rows.
    fn group(
        species: &[String],
        cells: Vec<(f64, Vec<u32>, usize)>,
        origin: impl Fn(usize) -> String,
    ) -> Result<Snapshots> {
        if cells.is_empty() {
            return Err(Error::Data {
                reason: "snapshot data: no cells".into(),
            });
        }
        let n = cells.len() as u64;
        // Times are finite and >= 0 (and +0.0 folds -0.0), so their bit patterns sort like
        // the numbers.
        let mut rows: BTreeMap<(u64, Vec<u32>), (u64, usize)> = BTreeMap::new();
        for (t, st, pos) in cells {
            rows.entry(((t + 0.0).to_bits(), st))
                .and_modify(|e| e.0 += 1)
                .or_insert((1, pos));
        }
        let mut s = Snapshots {
            species: species.to_vec(),
            times: Vec::with_capacity(rows.len()),
            states: Vec::with_capacity(rows.len() * species.len()),
            counts: Vec::with_capacity(rows.len()),
            origin: Vec::with_capacity(rows.len()),
            cells: n,
        };
        for ((tb, st), (k, pos)) in rows {
            s.times.push(f64::from_bits(tb));
            s.states.extend_from_slice(&st);
            s.counts.push(k);
            s.origin.push(origin(pos));
        }
        Ok(s)
    }

    /// Species names, in the order of the counts of every row.
    pub fn species(&self) -> &[String] {
        &self.species
    }

    /// Number of cells (Σ of the multiplicities).
    pub fn num_cells(&self) -> u64 {
        self.cells
    }

    /// Number of distinct (time, state) rows.
    pub fn num_rows(&self) -> usize {
        self.counts.len()
    }

    /// The distinct measurement times, increasing.
    pub fn times(&self) -> Vec<f64> {
        let mut t = self.times.clone();
        t.dedup();
        t
    }

    /// The distinct rows: (time, counts in species order, multiplicity), by time then state.
    pub fn rows(&self) -> impl Iterator<Item = (f64, &[u32], u64)> + '_ {
        let ns = self.species.len();
        (0..self.counts.len()).map(move |r| {
            (
                self.times[r],
                &self.states[r * ns..(r + 1) * ns],
                self.counts[r],
            )
        })
    }

    /// Where distinct row `r` was first seen (`file:line` or `cell i`).
    pub fn origin(&self, r: usize) -> Option<&str> {
        self.origin.get(r).map(String::as_str)
    }
}

fn check_species_list(species: &[String]) -> Result<()> {
    if species.is_empty() {
        return Err(Error::Data {
            reason: "snapshot data need at least one species".into(),
        });
    }
    for (i, s) in species.iter().enumerate() {
        if species[..i].contains(s) {
            return Err(Error::Data {
                reason: format!("snapshot data: species `{s}` is listed twice"),
            });
        }
    }
    Ok(())
}

/// The comma-separated cells of `line` with the 1-based column (in characters) where each
/// trimmed cell starts.
fn split_cells(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for raw in line.split(',') {
        let lead = raw.len() - raw.trim_start().len();
        let col = line[..start + lead].chars().count() + 1;
        out.push((col, raw.trim()));
        start += raw.len() + 1;
    }
    out
}

/// Read snapshot data from the CSV file `path`; see [`parse_snapshots`].
pub fn read_snapshots(path: impl AsRef<Path>, species: &[String]) -> Result<Snapshots> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_snapshots(&text, &path.display().to_string(), species)
}

/// Snapshot data from CSV text: a header `time,<S1>,<S2>,…` naming every species of
/// `species` exactly once (any order; cells are trimmed), then one line per cell with its
/// time (a finite number ≥ 0) and its counts (integers in 0..=2³² − 1). Blank lines and
/// lines starting with `#` are skipped. The result has the species in the order of
/// `species` (give the model's, e.g. `&surrogate.card.species`).
///
/// Errors are [`Error::Model`] holding [`ModelError::Parse`] with the file, the 1-based
/// line and column and a snippet: an empty file, a first column other than `time`, an
/// unknown ([`ModelError::UnknownSpecies`]), repeated ([`ModelError::DuplicateName`]) or
/// missing species column, a line with the wrong number of cells, a bad time
/// ([`ModelError::Syntax`]), a count that is negative, fractional, not a number or too large
/// ([`ModelError::InvalidCount`]), no data line.
pub fn parse_snapshots(text: &str, file: &str, species: &[String]) -> Result<Snapshots> {
    check_species_list(species)?;
    let ns = species.len();
    let mut lines = text.lines().enumerate().filter(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    let Some((hl, header)) = lines.next() else {
        return Err(ModelError::Syntax {
            expected: format!("a header `time,{}`", species.join(",")),
            found: "an empty file".into(),
        }
        .at(file, text, 1, 1)
        .into());
    };
    let hcells = split_cells(header);
    let (tcol, tname) = hcells[0];
    if tname != "time" {
        return Err(ModelError::Syntax {
            expected: "`time` as the first column".into(),
            found: format!("`{tname}`"),
        }
        .at(file, text, hl + 1, tcol)
        .into());
    }
    // order[k]: the species of data column k + 1.
    let mut order = Vec::with_capacity(hcells.len() - 1);
    for &(col, name) in &hcells[1..] {
        let Some(i) = species.iter().position(|s| s == name) else {
            return Err(ModelError::UnknownSpecies { name: name.into() }
                .at(file, text, hl + 1, col)
                .into());
        };
        if order.contains(&i) {
            return Err(ModelError::DuplicateName {
                kind: "species",
                name: name.into(),
            }
            .at(file, text, hl + 1, col)
            .into());
        }
        order.push(i);
    }
    let missing: Vec<&str> = (0..ns)
        .filter(|i| !order.contains(i))
        .map(|i| species[i].as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ModelError::Syntax {
            expected: format!("a column for every species ({})", species.join(", ")),
            found: format!("no column for {}", missing.join(", ")),
        }
        .at(file, text, hl + 1, header.chars().count() + 1)
        .into());
    }
    let mut cells = Vec::new();
    for (ln, line) in lines {
        let row = split_cells(line);
        if row.len() != ns + 1 {
            return Err(ModelError::Syntax {
                expected: format!("{} comma-separated cells", ns + 1),
                found: format!("{} cells", row.len()),
            }
            .at(file, text, ln + 1, 1)
            .into());
        }
        let (col, cell) = row[0];
        let t = cell
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0);
        let Some(t) = t else {
            return Err(ModelError::Syntax {
                expected: "a time (a finite number >= 0)".into(),
                found: format!("`{cell}`"),
            }
            .at(file, text, ln + 1, col)
            .into());
        };
        let mut st = vec![0u32; ns];
        for (k, &(col, cell)) in row[1..].iter().enumerate() {
            let i = order[k];
            st[i] = cell.parse::<u32>().map_err(|_| {
                ModelError::InvalidCount {
                    species: species[i].clone(),
                    value: cell.into(),
                }
                .at(file, text, ln + 1, col)
            })?;
        }
        cells.push((t, st, ln + 1));
    }
    if cells.is_empty() {
        return Err(ModelError::Syntax {
            expected: "at least one data line after the header".into(),
            found: "none".into(),
        }
        .at(file, text, hl + 1, 1)
        .into());
    }
    Snapshots::group(species, cells, |line| format!("{file}:{line}"))
}

// ---------------------------------------------------------------------------------------
// Likelihood
// ---------------------------------------------------------------------------------------

/// Which box parameters are inferred, the values of the others, and the initial state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceSpec {
    /// The free parameters (names of the surrogate's box). Empty: every box parameter not
    /// listed in `fixed`.
    pub free: Vec<String>,
    /// Values of the parameters that are not free (natural units, inside the box). Every
    /// box parameter must be free or fixed, not both.
    pub fixed: Vec<(String, f64)>,
    /// The initial state x0 of every cell (model order); `None`: the surrogate's default.
    pub initial: Option<Vec<u64>>,
}

/// The log-likelihood ℓ(θ) = Σ_r n_r ln q(x_r | θ, x0, t_r) of snapshot data under a
/// surrogate, as a function of the free parameters θ (see the module docs).
///
/// Built once per data set: every distinct row is checked (inside the caps, time inside
/// the trained range) and its prompt prepared. A cell beyond a cap has q = 0 and so
/// ℓ = −∞ for every θ: [`Likelihood::new`] reports it as an error naming the cell rather
/// than returning −∞ (raise the caps, i.e. distil again, or drop such cells knowingly).
/// A time outside the trained range or an initial state outside the trained ones is an
/// error too (the surrogate would extrapolate).
pub struct Likelihood<'a> {
    surrogate: &'a Surrogate,
    names: Vec<String>,
    free: Vec<usize>,
    /// Box-order parameter values; free entries are placeholders.
    base: Vec<f64>,
    x0: Vec<u64>,
    states: Vec<u32>,
    /// Multiplicities (f64) per distinct row.
    weights: Vec<f64>,
    /// Chunks of prompts [b, d] (f32) with the free columns zero, and their row ranges.
    prompts: Vec<(std::ops::Range<usize>, Tensor)>,
    /// [n_free, d] (f64): row j puts free parameter j in its prompt column.
    select: Tensor,
    cells: u64,
}

impl std::fmt::Debug for Likelihood<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Likelihood")
            .field("free", &self.names)
            .field("x0", &self.x0)
            .field("rows", &self.weights.len())
            .field("cells", &self.cells)
            .finish()
    }
}

/// The free parameters of `spec` (all those not fixed when it names none) and the base
/// parameter vector: fixed values, free entries at the centre of their range.
fn free_and_base(pbox: &super::ParamBox, spec: &InferenceSpec) -> Result<(Vec<usize>, Vec<f64>)> {
    let bad = |reason: String| Error::InvalidQuery { reason };
    let known = || pbox.names.join(", ");
    let index = |name: &str| -> Result<usize> {
        pbox.names.iter().position(|n| n == name).ok_or_else(|| {
            bad(format!(
                "`{name}` is not a parameter of the surrogate's box ({})",
                known()
            ))
        })
    };
    let mut base: Vec<Option<f64>> = vec![None; pbox.dim()];
    for (name, v) in &spec.fixed {
        let i = index(name)?;
        if base[i].is_some() {
            return Err(bad(format!("parameter `{name}` is fixed twice")));
        }
        if !(v.is_finite() && *v >= pbox.lo[i] && *v <= pbox.hi[i]) {
            return Err(bad(format!(
                "fixed parameter `{name}` = {v} is outside the trained range [{}, {}]",
                pbox.lo[i], pbox.hi[i]
            )));
        }
        base[i] = Some(*v);
    }
    let free: Vec<usize> = if spec.free.is_empty() {
        (0..pbox.dim()).filter(|&i| base[i].is_none()).collect()
    } else {
        let mut free = Vec::with_capacity(spec.free.len());
        for name in &spec.free {
            let i = index(name)?;
            if free.contains(&i) {
                return Err(bad(format!("parameter `{name}` is listed as free twice")));
            }
            if base[i].is_some() {
                return Err(bad(format!("parameter `{name}` is both free and fixed")));
            }
            free.push(i);
        }
        free
    };
    if free.is_empty() {
        return Err(bad("no free parameter to infer".into()));
    }
    let unset: Vec<&str> = (0..pbox.dim())
        .filter(|i| base[*i].is_none() && !free.contains(i))
        .map(|i| pbox.names[i].as_str())
        .collect();
    if !unset.is_empty() {
        return Err(bad(format!(
            "parameter(s) {} are neither free nor fixed",
            unset.join(", ")
        )));
    }
    // Free entries sit at the centre of their range while checking the domain.
    let base: Vec<f64> = (0..pbox.dim())
        .map(|i| base[i].unwrap_or_else(|| natural_of(pbox, i, 0.0)))
        .collect();
    Ok((free, base))
}

/// Fail unless every data time lies in the surrogate's trained domain at `base` and `x0`
/// and no cell exceeds a cap (named by its origin).
fn check_data_domain(
    surrogate: &Surrogate,
    data: &Snapshots,
    base: &[f64],
    x0: &[u64],
) -> Result<()> {
    let bad = |reason: String| Error::OutsideDomain { reason };
    let card = &surrogate.card;
    let times = data.times();
    let mut outside: Vec<String> = Vec::new();
    for &t in &times {
        for line in surrogate.outside(base, x0, t)? {
            if !outside.contains(&line) {
                outside.push(line);
            }
        }
    }
    if !outside.is_empty() {
        return Err(bad(format!(
            "the data lie outside the surrogate's trained domain: {}",
            outside.join("; ")
        )));
    }
    let ns = card.species.len();
    let caps = &card.prompt.caps;
    for (r, (t, st, _)) in data.rows().enumerate() {
        if let Some(i) = (0..ns).find(|&i| st[i] > caps[i]) {
            return Err(bad(format!(
                "cell at {} (time {t}, {}) has {} = {} above the surrogate's cap {}: its probability is 0 and the log-likelihood −∞",
                data.origin(r).unwrap_or("?"),
                describe_state(&card.species, st),
                card.species[i],
                st[i],
                caps[i]
            )));
        }
    }
    Ok(())
}

impl<'a> Likelihood<'a> {
    /// Prepare ℓ for `data` under `surrogate` with the free and fixed parameters and the
    /// initial state of `spec`.
    ///
    /// Errors: data species differing from the model's; an unknown, repeated, or both free
    /// and fixed parameter name; a box parameter neither free nor fixed; no free parameter;
    /// a fixed value that is not finite or outside the box; an initial state of the wrong
    /// length, above a cap or outside the trained initial states; a time outside the
    /// trained range; a cell beyond a cap (named by its origin).
    pub fn new(
        surrogate: &'a Surrogate,
        data: &Snapshots,
        spec: &InferenceSpec,
    ) -> Result<Likelihood<'a>> {
        let bad = |reason: String| Error::Data { reason };
        let card = &surrogate.card;
        let pbox = &card.prompt.params;
        if data.species != card.species {
            return Err(bad(format!(
                "the data's species {:?} differ from the surrogate's {:?}",
                data.species, card.species
            )));
        }
        let (free, base) = free_and_base(pbox, spec)?;
        let x0 = spec
            .initial
            .clone()
            .unwrap_or_else(|| surrogate.initial().to_vec());
        check_data_domain(surrogate, data, &base, &x0)?;
        let d = card.prompt.dim();
        let device = surrogate.model.device().clone();
        let mut flat: Vec<f32> = Vec::with_capacity(data.num_rows() * d);
        for &t in &data.times {
            let mut c = card.prompt.prompt_at(&base, &x0, t)?;
            for &i in &free {
                c[i] = 0.0;
            }
            flat.extend(c.iter().map(|&v| v as f32));
        }
        let b = data.num_rows();
        let mut prompts = Vec::new();
        for start in (0..b).step_by(CHUNK_ROWS) {
            let end = (start + CHUNK_ROWS).min(b);
            let t = Tensor::from_slice(&flat[start * d..end * d], (end - start, d), &device)
                .map_err(candle("likelihood prompts"))?;
            prompts.push((start..end, t));
        }
        let mut sel = vec![0.0f64; free.len() * d];
        for (j, &i) in free.iter().enumerate() {
            sel[j * d + i] = 1.0;
        }
        let select = Tensor::from_vec(sel, (free.len(), d), &device)
            .map_err(candle("likelihood prompts"))?;
        Ok(Likelihood {
            surrogate,
            names: free.iter().map(|&i| pbox.names[i].clone()).collect(),
            free,
            base,
            x0,
            states: data.states.clone(),
            weights: data.counts.iter().map(|&k| k as f64).collect(),
            prompts,
            select,
            cells: data.cells,
        })
    }

    /// Names of the free parameters, in the order of every parameter vector here.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of cells.
    pub fn num_cells(&self) -> u64 {
        self.cells
    }

    /// Number of distinct rows (forward-pass rows per evaluation).
    pub fn num_rows(&self) -> usize {
        self.weights.len()
    }

    /// The initial state of the cells.
    pub fn initial(&self) -> &[u64] {
        &self.x0
    }

    /// The surrogate.
    pub fn surrogate(&self) -> &Surrogate {
        self.surrogate
    }

    /// Whether free parameter j is on a log scale (its working scale is ln θ_j).
    pub fn log_scale(&self) -> Vec<bool> {
        let pbox = &self.surrogate.card.prompt.params;
        self.free.iter().map(|&i| pbox.log_scale[i]).collect()
    }

    /// Every box parameter (box order) at free values `theta` (natural units).
    pub fn full_params(&self, theta: &[f64]) -> Result<Vec<f64>> {
        self.check_len(theta)?;
        let mut p = self.base.clone();
        for (j, &i) in self.free.iter().enumerate() {
            p[i] = theta[j];
        }
        Ok(p)
    }

    /// Natural values θ of normalised coordinates u (inverse of
    /// [`Likelihood::normalise`]).
    pub fn natural(&self, u: &[f64]) -> Vec<f64> {
        let pbox = &self.surrogate.card.prompt.params;
        self.free
            .iter()
            .zip(u)
            .map(|(&i, &v)| natural_of(pbox, i, v))
            .collect()
    }

    /// Normalised coordinates u = 2(w − a)/(b − a) − 1 of free values `theta` (w the
    /// working scale); errors on a wrong length or a value that is not finite or outside
    /// the box.
    pub fn normalise(&self, theta: &[f64]) -> Result<Vec<f64>> {
        self.check_len(theta)?;
        let pbox = &self.surrogate.card.prompt.params;
        self.free
            .iter()
            .zip(theta)
            .map(|(&i, &v)| {
                if !(v.is_finite() && v >= pbox.lo[i] && v <= pbox.hi[i]) {
                    return Err(Error::OutsideDomain {
                        reason: format!(
                            "parameter `{}` = {v} is outside the trained range [{}, {}]",
                            pbox.names[i], pbox.lo[i], pbox.hi[i]
                        ),
                    });
                }
                let (a, b, w) = working(pbox, i, v);
                Ok(2.0 * (w - a) / (b - a) - 1.0)
            })
            .collect()
    }

    /// dθ_j/du_j at normalised coordinates u.
    fn dtheta_du(&self, u: &[f64]) -> Vec<f64> {
        let pbox = &self.surrogate.card.prompt.params;
        self.free
            .iter()
            .zip(u)
            .map(|(&i, &v)| {
                let (a, b, _) = working(pbox, i, pbox.lo[i]);
                let dw = (b - a) / 2.0;
                if pbox.log_scale[i] {
                    natural_of(pbox, i, v) * dw
                } else {
                    dw
                }
            })
            .collect()
    }

    /// dw_j/du_j (w the working scale): constant, (b − a)/2.
    fn dw_du(&self) -> Vec<f64> {
        let pbox = &self.surrogate.card.prompt.params;
        self.free
            .iter()
            .map(|&i| {
                let (a, b, _) = working(pbox, i, pbox.lo[i]);
                (b - a) / 2.0
            })
            .collect()
    }

    fn check_len(&self, v: &[f64]) -> Result<()> {
        if v.len() != self.free.len() {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "expected {} free parameter values ({}), found {}",
                    self.free.len(),
                    self.names.join(", "),
                    v.len()
                ),
            });
        }
        Ok(())
    }

    /// ℓ at free values `theta` (natural units, inside the box).
    pub fn log_likelihood(&self, theta: &[f64]) -> Result<f64> {
        let u = self.normalise(theta)?;
        Ok(self.eval(&u, false)?.0)
    }

    /// ℓ and its gradient ∂ℓ/∂θ_j (natural units) at `theta` (inside the box), by candle
    /// autodiff through the prompt and the chain rule ∂ℓ/∂θ = ∂ℓ/∂u · du/dθ.
    pub fn gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let u = self.normalise(theta)?;
        let (l, g) = self.eval(&u, true)?;
        let j = self.dtheta_du(&u);
        Ok((l, g.iter().zip(&j).map(|(g, j)| g / j).collect()))
    }

    /// ℓ at normalised coordinates `u` (each finite; values outside [−1, 1] extrapolate
    /// the surrogate beyond its box).
    pub fn log_likelihood_normalised(&self, u: &[f64]) -> Result<f64> {
        Ok(self.eval(u, false)?.0)
    }

    /// ℓ and ∂ℓ/∂u at normalised coordinates `u` (autodiff).
    pub fn gradient_normalised(&self, u: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.eval(u, true)
    }

    /// One pass over the distinct rows: Σ_r n_r ln q(x_r | c_r(u)) and, when asked, its
    /// gradient in u. The prompts are base + u · S (S the selection matrix), so the
    /// backward pass gives ∂ℓ/∂u directly.
    fn eval(&self, u: &[f64], want_grad: bool) -> Result<(f64, Vec<f64>)> {
        self.check_len(u)?;
        if u.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidQuery {
                reason: format!("normalised parameters {u:?} are not finite"),
            });
        }
        let device = self.surrogate.model.device();
        let nf = self.free.len();
        let var;
        let ut = if want_grad {
            var = Var::from_slice(u, (1, nf), device).map_err(candle("likelihood"))?;
            var.as_tensor().clone()
        } else {
            Tensor::from_slice(u, (1, nf), device).map_err(candle("likelihood"))?
        };
        let shift = ut
            .matmul(&self.select)
            .and_then(|s| s.to_dtype(DType::F32))
            .map_err(candle("likelihood"))?;
        let ns = self.surrogate.card.species.len();
        let mut total = 0.0;
        let mut grad = vec![0.0; nf];
        for (range, base) in &self.prompts {
            let pt = base.broadcast_add(&shift).map_err(candle("likelihood"))?;
            let lp = self
                .surrogate
                .model
                .log_prob_with_prompt_tensor(&self.states[range.start * ns..range.end * ns], &pt)?;
            let w = Tensor::from_slice(&self.weights[range.clone()], range.len(), device)
                .map_err(candle("likelihood"))?;
            let l = (lp * w)
                .and_then(|x| x.sum_all())
                .map_err(candle("likelihood"))?;
            total += l.to_scalar::<f64>().map_err(candle("likelihood"))?;
            if want_grad {
                let grads = l.backward().map_err(candle("likelihood"))?;
                let g = grads
                    .get(&ut)
                    .ok_or_else(|| Error::Failed {
                        reason: "no gradient reached the parameters".into(),
                    })?
                    .flatten_all()
                    .and_then(|g| g.to_vec1::<f64>())
                    .map_err(candle("likelihood"))?;
                for (a, b) in grad.iter_mut().zip(g) {
                    *a += b;
                }
            }
        }
        if !total.is_finite() {
            return Err(Error::Failed {
                reason: format!("the log-likelihood is not finite at normalised parameters {u:?}"),
            });
        }
        Ok((total, grad))
    }
}

/// (a, b, w): the box range and value `v` of box parameter i on its working scale.
fn working(pbox: &super::ParamBox, i: usize, v: f64) -> (f64, f64, f64) {
    if pbox.log_scale[i] {
        (pbox.lo[i].ln(), pbox.hi[i].ln(), v.ln())
    } else {
        (pbox.lo[i], pbox.hi[i], v)
    }
}

/// The natural value of box parameter i at normalised coordinate u.
fn natural_of(pbox: &super::ParamBox, i: usize, u: f64) -> f64 {
    let (a, b, _) = working(pbox, i, pbox.lo[i]);
    let w = a + (u + 1.0) / 2.0 * (b - a);
    if pbox.log_scale[i] { w.exp() } else { w }
}

fn describe_state(species: &[String], st: &[u32]) -> String {
    species
        .iter()
        .zip(st)
        .map(|(s, x)| format!("{s} = {x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Maximum likelihood
// ---------------------------------------------------------------------------------------

/// Settings of [`Likelihood::mle`].
#[derive(Debug, Clone, PartialEq)]
pub struct MleConfig {
    /// Number of starts (default 4): the shifted Halton points 0..starts of the free
    /// parameters' box (seeded by `seed`), shrunk to 80 % of it (u = 0.8 (2h − 1)) so that
    /// no start sits where tanh saturates.
    pub starts: usize,
    /// L-BFGS iterations per start (default 200).
    pub max_iters: u64,
    /// Stop when the gradient norm of −ℓ/N in z falls below this (default 1e-7).
    pub tol_grad: f64,
    /// Stop when −ℓ/N changes by less than this in an iteration (default 1e-12).
    pub tol_cost: f64,
    /// Step in normalised coordinates of the finite-difference Hessian (default 1e-3).
    pub hessian_step: f64,
    /// Seed of the Halton shift (default 0).
    pub seed: u64,
}

impl Default for MleConfig {
    fn default() -> Self {
        MleConfig {
            starts: 4,
            max_iters: 200,
            tol_grad: 1e-7,
            tol_cost: 1e-12,
            hessian_step: 1e-3,
            seed: 0,
        }
    }
}

impl MleConfig {
    /// Check: at least one start and one iteration, tolerances ≥ 0, a Hessian step in
    /// (0, 0.1].
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(Error::InvalidSetting {
                name,
                value,
                reason: reason.into(),
            })
        };
        if self.starts == 0 {
            return bad("starts", "0".into(), "at least one start is needed");
        }
        if self.max_iters == 0 {
            return bad("max_iters", "0".into(), "at least one iteration is needed");
        }
        if !(self.tol_grad >= 0.0 && self.tol_grad.is_finite()) {
            return bad(
                "tol_grad",
                self.tol_grad.to_string(),
                "must be finite and >= 0",
            );
        }
        if !(self.tol_cost >= 0.0 && self.tol_cost.is_finite()) {
            return bad(
                "tol_cost",
                self.tol_cost.to_string(),
                "must be finite and >= 0",
            );
        }
        if !(self.hessian_step > 0.0 && self.hessian_step <= 0.1) {
            return bad(
                "hessian_step",
                self.hessian_step.to_string(),
                "must be in (0, 0.1] (normalised units)",
            );
        }
        Ok(())
    }
}

/// One start of [`Likelihood::mle`].
#[derive(Debug, Clone, PartialEq)]
pub struct MleStart {
    /// Where it started (natural units).
    pub start: Vec<f64>,
    /// Where it ended (natural units).
    pub estimate: Vec<f64>,
    /// ℓ there.
    pub log_likelihood: f64,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Why it stopped (argmin's termination status, or the line-search error after which
    /// the best point evaluated was kept).
    pub termination: String,
}

/// The maximum-likelihood estimate of [`Likelihood::mle`].
#[derive(Debug, Clone, PartialEq)]
pub struct MleResult {
    /// Free parameter names.
    pub names: Vec<String>,
    /// θ̂ (natural units).
    pub estimate: Vec<f64>,
    /// θ̂ in normalised coordinates.
    pub normalised: Vec<f64>,
    /// ℓ(θ̂).
    pub log_likelihood: f64,
    /// ∂ℓ/∂θ at θ̂ (natural units; ≈ 0 at an interior optimum).
    pub gradient: Vec<f64>,
    /// L-BFGS iterations of the winning start.
    pub iterations: u64,
    /// Whether each parameter is on a log scale (working scale ln θ; otherwise θ).
    pub log_scale: Vec<bool>,
    /// Covariance of the estimate on the working scale, the inverse observed information
    /// I(ŵ) = −∂²ℓ/∂w∂wᵀ; `None` when −∂²ℓ is not positive definite (no interior maximum).
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Standard errors on the working scale, √diag(I⁻¹) (NaN without a covariance).
    pub working_std_error: Vec<f64>,
    /// Standard errors in natural units by the delta method: θ̂ · se(ln θ) for log-scale
    /// parameters, se(θ) otherwise.
    pub std_error: Vec<f64>,
    /// Whether each estimate lies at the edge of the box (|u| > 0.999): the optimum may be
    /// outside the trained range and its standard error means little.
    pub on_boundary: Vec<bool>,
    /// Every start, in order.
    pub starts: Vec<MleStart>,
}

/// The best (cost, z) an optimiser run has evaluated.
type Best = Arc<Mutex<Option<(f64, Vec<f64>)>>>;

/// −ℓ/N as a function of unconstrained z, u = tanh z.
struct Objective<'l, 'a> {
    lik: &'l Likelihood<'a>,
    scale: f64,
    /// Best (cost, z) seen, kept in case the line search gives up.
    best: Best,
}

impl Objective<'_, '_> {
    fn note(&self, cost: f64, z: &[f64]) {
        if let Ok(mut b) = self.best.lock()
            && b.as_ref().is_none_or(|(c, _)| cost < *c)
        {
            *b = Some((cost, z.to_vec()));
        }
    }
}

impl CostFunction for Objective<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, z: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let u: Vec<f64> = z.iter().map(|v| v.tanh()).collect();
        let c = -self.lik.eval(&u, false)?.0 * self.scale;
        self.note(c, z);
        Ok(c)
    }
}

impl Gradient for Objective<'_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, z: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let u: Vec<f64> = z.iter().map(|v| v.tanh()).collect();
        let (l, g) = self.lik.eval(&u, true)?;
        self.note(-l * self.scale, z);
        Ok(g.iter()
            .zip(&u)
            .map(|(g, u)| -g * (1.0 - u * u) * self.scale)
            .collect())
    }
}

impl Likelihood<'_> {
    /// The maximum-likelihood estimate θ̂ = argmax ℓ(θ) over the box.
    ///
    /// Each free parameter is written u = tanh z with u its normalised coordinate, so
    /// unconstrained z keeps θ inside the trained box; −ℓ/N (N cells) is minimised over z
    /// by L-BFGS (memory 7, Moré–Thuente line search; argmin) with the autodiff gradient
    /// −∂ℓ/∂u · (1 − u²)/N, from every start of `cfg` (deterministic Halton points), and
    /// the start with the largest ℓ wins. If a line search fails (the f32 network makes ℓ
    /// rough at the 1e-7 relative level), the best point it evaluated is kept.
    ///
    /// Standard errors come from the observed information on the working scale w (ln θ for
    /// log-scale parameters, θ otherwise): the Hessian H_u = ∂²ℓ/∂u∂uᵀ by central
    /// differences of the autodiff gradient with step `cfg.hessian_step` (symmetrised),
    /// I_w = −H_u / (c cᵀ) with c_j = dw_j/du_j = (b_j − a_j)/2, Cov(ŵ) = I_w⁻¹; natural
    /// units by the delta method. Asymptotic theory (θ̂ ≈ N(θ, I⁻¹)) needs the optimum
    /// inside the box and the surrogate close to the CME there (Liu & Wang, PNAS
    /// 121:e2317422121, 2024).
    pub fn mle(&self, cfg: &MleConfig) -> Result<MleResult> {
        cfg.validate()?;
        let nf = self.free.len();
        let scale = 1.0 / self.cells.max(1) as f64;
        let mut starts = Vec::with_capacity(cfg.starts);
        let mut best: Option<(f64, Vec<f64>, u64)> = None;
        for h in halton(nf, 0, cfg.starts, cfg.seed) {
            let (start, u) = self.mle_from(cfg, scale, &h)?;
            let (l, iterations) = (start.log_likelihood, start.iterations);
            starts.push(start);
            if best.as_ref().is_none_or(|(bl, _, _)| l > *bl) {
                best = Some((l, u, iterations));
            }
        }
        let Some((l, u, iterations)) = best else {
            return Err(ModelError::Numerical {
                what: "maximum likelihood",
                reason: "no start".into(),
            }
            .into());
        };
        // Observed information on the working scale.
        let (_, gu) = self.eval(&u, true)?;
        let hess = self.hessian_u(&u, cfg.hessian_step)?;
        let c = self.dw_du();
        let info = nalgebra::DMatrix::from_fn(nf, nf, |i, j| {
            -0.5 * (hess[i][j] + hess[j][i]) / (c[i] * c[j])
        });
        let covariance = info.cholesky().map(|ch| {
            let inv = ch.inverse();
            (0..nf)
                .map(|i| (0..nf).map(|j| inv[(i, j)]).collect())
                .collect::<Vec<Vec<f64>>>()
        });
        let working_std_error: Vec<f64> = (0..nf)
            .map(|i| {
                covariance
                    .as_ref()
                    .map_or(f64::NAN, |cv| cv[i][i].max(0.0).sqrt())
            })
            .collect();
        let estimate = self.natural(&u);
        let log_scale = self.log_scale();
        let std_error = (0..nf)
            .map(|i| {
                if log_scale[i] {
                    estimate[i] * working_std_error[i]
                } else {
                    working_std_error[i]
                }
            })
            .collect();
        let dt = self.dtheta_du(&u);
        Ok(MleResult {
            names: self.names.clone(),
            gradient: gu.iter().zip(&dt).map(|(g, d)| g / d).collect(),
            on_boundary: u.iter().map(|v| v.abs() > 0.999).collect(),
            normalised: u,
            estimate,
            log_likelihood: l,
            iterations,
            log_scale,
            covariance,
            working_std_error,
            std_error,
            starts,
        })
    }

    /// One L-BFGS run of [`Likelihood::mle`] from the Halton point `h` (mapped to
    /// u₀ = 0.8(2h − 1)): the start's record and the normalised optimum u.
    fn mle_from(&self, cfg: &MleConfig, scale: f64, h: &[f64]) -> Result<(MleStart, Vec<f64>)> {
        let u0: Vec<f64> = h.iter().map(|v| 0.8 * (2.0 * v - 1.0)).collect();
        let z0: Vec<f64> = u0.iter().map(|v| v.atanh()).collect();
        let seen = Arc::new(Mutex::new(None));
        let obj = Objective {
            lik: self,
            scale,
            best: seen.clone(),
        };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(cfg.tol_grad)
            .and_then(|s| s.with_tolerance_cost(cfg.tol_cost))
            .map_err(|e| ModelError::Numerical {
                what: "L-BFGS setup",
                reason: e.to_string(),
            })?;
        let run = Executor::new(obj, solver)
            .configure(|s| s.param(z0.clone()).max_iters(cfg.max_iters))
            .run();
        let (z, iterations, termination) = match run {
            Ok(res) => {
                let st = res.state();
                let z = st.get_best_param().cloned().unwrap_or_else(|| z0.clone());
                (z, st.get_iter(), st.get_termination_status().to_string())
            }
            Err(e) => {
                let kept = seen.lock().ok().and_then(|b| b.clone());
                match kept {
                    Some((_, z)) => (z, 0, format!("stopped early ({e}); best point kept")),
                    None => {
                        return Err(ModelError::Numerical {
                            what: "L-BFGS",
                            reason: e.to_string(),
                        }
                        .into());
                    }
                }
            }
        };
        let u: Vec<f64> = z.iter().map(|v| v.tanh()).collect();
        let l = self.eval(&u, false)?.0;
        let start = MleStart {
            start: self.natural(&u0),
            estimate: self.natural(&u),
            log_likelihood: l,
            iterations,
            termination,
        };
        Ok((start, u))
    }

    /// H_u = ∂²ℓ/∂u∂uᵀ at `u` by central differences (step `h`) of the autodiff gradient
    /// (not symmetrised).
    fn hessian_u(&self, u: &[f64], h: f64) -> Result<Vec<Vec<f64>>> {
        let nf = self.free.len();
        let mut hess = vec![vec![0.0; nf]; nf];
        for j in 0..nf {
            let mut up = u.to_vec();
            let mut dn = u.to_vec();
            up[j] += h;
            dn[j] -= h;
            let (_, gp) = self.eval(&up, true)?;
            let (_, gm) = self.eval(&dn, true)?;
            for i in 0..nf {
                hess[i][j] = (gp[i] - gm[i]) / (2.0 * h);
            }
        }
        Ok(hess)
    }
}

// ---------------------------------------------------------------------------------------
// Metropolis–Hastings
// ---------------------------------------------------------------------------------------

/// Settings of [`Likelihood::mcmc`].
#[derive(Debug, Clone, PartialEq)]
pub struct McmcConfig {
    /// Number of chains (default 4), started from the shifted Halton points 0..chains of
    /// the box shrunk to 80 % (dispersed, deterministic).
    pub chains: usize,
    /// Burn-in iterations per chain, discarded; the proposal adapts only here (default
    /// 1,000).
    pub burn_in: usize,
    /// Samples kept per chain after burn-in (default 2,000; at least 4).
    pub samples: usize,
    /// Keep every `thin`-th state after burn-in (default 1).
    pub thin: usize,
    /// Acceptance rate the burn-in adaptation aims at (default 0.3; Roberts, Gelman & Gilks
    /// 1997 give 0.234 as optimal for high-dimensional Gaussian targets, about 0.44 in one
    /// dimension).
    pub target_acceptance: f64,
    /// Initial proposal standard deviation in normalised coordinates (default 0.1).
    pub initial_scale: f64,
    /// Burn-in iterations between adaptations (default 50).
    pub adapt_every: usize,
    /// Seed: chain c draws from `crnkit_core::rng::stream(seed, c)`; also shifts the starts.
    pub seed: u64,
}

impl Default for McmcConfig {
    fn default() -> Self {
        McmcConfig {
            chains: 4,
            burn_in: 1000,
            samples: 2000,
            thin: 1,
            target_acceptance: 0.3,
            initial_scale: 0.1,
            adapt_every: 50,
            seed: 0,
        }
    }
}

impl McmcConfig {
    /// Check: at least one chain, at least 4 samples per chain (split R-hat), thin and
    /// adapt_every ≥ 1, target acceptance in (0, 1), initial scale in (0, 2].
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(Error::InvalidSetting {
                name,
                value,
                reason: reason.into(),
            })
        };
        if self.chains == 0 {
            return bad("chains", "0".into(), "at least one chain is needed");
        }
        if self.samples < 4 {
            return bad(
                "samples",
                self.samples.to_string(),
                "at least 4 samples per chain are needed",
            );
        }
        if self.thin == 0 {
            return bad("thin", "0".into(), "must be >= 1");
        }
        if self.adapt_every == 0 {
            return bad("adapt_every", "0".into(), "must be >= 1");
        }
        if !(self.target_acceptance > 0.0 && self.target_acceptance < 1.0) {
            return bad(
                "target_acceptance",
                self.target_acceptance.to_string(),
                "must be in (0, 1)",
            );
        }
        if !(self.initial_scale > 0.0 && self.initial_scale <= 2.0) {
            return bad(
                "initial_scale",
                self.initial_scale.to_string(),
                "must be in (0, 2] (normalised units)",
            );
        }
        Ok(())
    }
}

/// One Markov chain of [`Likelihood::mcmc`].
#[derive(Debug, Clone, PartialEq)]
pub struct McmcChain {
    /// Where it started (natural units).
    pub start: Vec<f64>,
    /// Kept states (natural units), one row of the free parameters each.
    pub samples: Vec<Vec<f64>>,
    /// ℓ at each kept state.
    pub log_likelihood: Vec<f64>,
    /// Fraction of proposals accepted after burn-in.
    pub acceptance: f64,
    /// The proposal's overall scale s after burn-in (step = s · L · ε, see
    /// [`Likelihood::mcmc`]).
    pub scale: f64,
}

/// Posterior summary of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSummary {
    /// Parameter name.
    pub name: String,
    /// Posterior mean (natural units, all chains pooled).
    pub mean: f64,
    /// Posterior standard deviation.
    pub sd: f64,
    /// 2.5 % quantile.
    pub q025: f64,
    /// Median.
    pub q50: f64,
    /// 97.5 % quantile.
    pub q975: f64,
    /// Gelman–Rubin potential scale reduction on split chains (see [`gelman_rubin`]).
    pub rhat: f64,
}

/// The result of [`Likelihood::mcmc`].
#[derive(Debug, Clone, PartialEq)]
pub struct McmcResult {
    /// Free parameter names.
    pub names: Vec<String>,
    /// Every chain, in order.
    pub chains: Vec<McmcChain>,
    /// Fraction of proposals accepted after burn-in, over all chains.
    pub acceptance: f64,
    /// Per parameter: mean, sd, 2.5/50/97.5 % quantiles and R-hat.
    pub summary: Vec<ParamSummary>,
}

impl McmcResult {
    /// All kept samples of parameter j, chains concatenated.
    pub fn pooled(&self, j: usize) -> Vec<f64> {
        self.chains
            .iter()
            .flat_map(|c| c.samples.iter().map(move |s| s[j]))
            .collect()
    }
}

/// A standard normal variate (Box–Muller, one of the pair).
fn normal(rng: &mut crnkit_core::rng::Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Lower Cholesky factor of the sample covariance of `xs` (plus a small ridge), or `None`
/// when it is not positive definite.
fn chol_cov(xs: &[Vec<f64>]) -> Option<nalgebra::DMatrix<f64>> {
    let n = xs.len();
    let d = xs.first()?.len();
    if n < 2 * d + 2 {
        return None;
    }
    let mean: Vec<f64> = (0..d)
        .map(|j| xs.iter().map(|x| x[j]).sum::<f64>() / n as f64)
        .collect();
    let cov = nalgebra::DMatrix::from_fn(d, d, |i, j| {
        xs.iter()
            .map(|x| (x[i] - mean[i]) * (x[j] - mean[j]))
            .sum::<f64>()
            / (n - 1) as f64
            + if i == j { 1e-12 } else { 0.0 }
    });
    let l = cov.cholesky()?.l();
    l.iter().all(|v| v.is_finite()).then_some(l)
}

/// Gelman–Rubin potential scale reduction R̂ of `chains` (each a sequence of one
/// quantity), computed on split chains (each halved, so that drift within a chain shows,
/// as in Gelman et al., Bayesian Data Analysis, 3rd ed., 2013): with m sequences of n
/// draws, W the mean within-sequence variance, B/n the variance of the sequence means,
/// V̂ = (n − 1)/n · W + B/n and R̂ = √(V̂ / W) (Gelman & Rubin, Statist. Sci. 7:457, 1992).
/// R̂ ≈ 1 when the chains agree; values above 1.1 mean run longer. NaN with fewer than 4
/// draws per chain, or when W = 0.
pub fn gelman_rubin(chains: &[Vec<f64>]) -> f64 {
    let n = chains.iter().map(Vec::len).min().unwrap_or(0) / 2;
    if n < 2 || chains.is_empty() {
        return f64::NAN;
    }
    let seqs: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| [&c[..n], &c[c.len() - n..]])
        .collect();
    let m = seqs.len() as f64;
    let nf = n as f64;
    let means: Vec<f64> = seqs.iter().map(|s| s.iter().sum::<f64>() / nf).collect();
    let w = seqs
        .iter()
        .zip(&means)
        .map(|(s, mu)| s.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (nf - 1.0))
        .sum::<f64>()
        / m;
    let grand = means.iter().sum::<f64>() / m;
    let b_over_n = means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (m - 1.0);
    let v = (nf - 1.0) / nf * w + b_over_n;
    if w > 0.0 { (v / w).sqrt() } else { f64::NAN }
}

impl Likelihood<'_> {
    /// Posterior samples by random-walk Metropolis–Hastings.
    ///
    /// Prior: uniform on the box in normalised coordinates u ∈ [−1, 1]^d, i.e. uniform in
    /// θ for linear parameters and log-uniform (density ∝ 1/θ) for log-scale ones; zero
    /// outside the trained box. Posterior π(u) ∝ exp ℓ(θ(u)) on the box (the product of
    /// q over all cells). Proposal u' = u + s · L · ε, ε ~ N(0, I), symmetric, so a move is
    /// accepted with probability min(1, exp(ℓ(u') − ℓ(u))) and always rejected outside
    /// the box.
    ///
    /// During burn-in only, every `adapt_every` iterations, ln s moves by
    /// 2 (â − target) (â the window's acceptance rate), and from the middle of burn-in on L
    /// becomes the Cholesky factor of the covariance of the later half of the states so far
    /// (at the first switch s is reset to 2.38/√d, the optimal scaling for Gaussian
    /// targets of Roberts, Gelman & Gilks, Ann. Appl. Probab. 7:110, 1997); before that L =
    /// I and s starts at `initial_scale`. After burn-in the kernel is fixed, so the kept
    /// states are a Markov chain with the posterior as its stationary law.
    ///
    /// Chains start from dispersed deterministic points, run in parallel, chain c drawing
    /// from `crnkit_core::rng::stream(cfg.seed, c)`: the result depends only on the settings.
    /// Samples are reported in natural units with the pooled mean, sd, 2.5/50/97.5 %
    /// quantiles and split-chain R̂ ([`gelman_rubin`]) per parameter.
    pub fn mcmc(&self, cfg: &McmcConfig) -> Result<McmcResult> {
        cfg.validate()?;
        let nf = self.free.len();
        // Every kept draw of every chain is held (as a vector of nf values, with its
        // log-likelihood), and the burn-in's history as well: check before allocating.
        let per_draw = 8 * (nf as u128 + 1) + 24;
        let bytes =
            (cfg.chains as u128) * ((cfg.samples as u128) + (cfg.burn_in as u128)) * per_draw;
        if bytes > 1 << 30 {
            return Err(Error::InvalidSetting {
                name: "samples",
                value: format!(
                    "{} chains × ({} + {} burn-in)",
                    cfg.chains, cfg.samples, cfg.burn_in
                ),
                reason: format!(
                    "the chains would hold {:.1} GB, more than the 1 GiB limit: keep fewer \
                     samples or chains",
                    bytes as f64 / 1e9
                ),
            });
        }
        let starts: Vec<Vec<f64>> = halton(nf, 0, cfg.chains, cfg.seed ^ 0x4d43_4d43)
            .into_iter()
            .map(|h| h.iter().map(|v| 0.8 * (2.0 * v - 1.0)).collect())
            .collect();
        let chains: Vec<McmcChain> = starts
            .par_iter()
            .enumerate()
            .map(|(c, u0)| self.chain(cfg, c as u64, u0))
            .collect::<Result<Vec<_>>>()?;
        let accepted: f64 = chains.iter().map(|c| c.acceptance).sum::<f64>();
        let acceptance = accepted / chains.len() as f64;
        let mut res = McmcResult {
            names: self.names.clone(),
            chains,
            acceptance,
            summary: Vec::with_capacity(nf),
        };
        for j in 0..nf {
            let pooled = res.pooled(j);
            let n = pooled.len() as f64;
            let mean = pooled.iter().sum::<f64>() / n;
            let sd = (pooled.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let per_chain: Vec<Vec<f64>> = res
                .chains
                .iter()
                .map(|c| c.samples.iter().map(|s| s[j]).collect())
                .collect();
            res.summary.push(ParamSummary {
                name: self.names[j].clone(),
                mean,
                sd,
                q025: quantile(&pooled, 0.025),
                q50: quantile(&pooled, 0.5),
                q975: quantile(&pooled, 0.975),
                rhat: gelman_rubin(&per_chain),
            });
        }
        Ok(res)
    }

    fn chain(&self, cfg: &McmcConfig, c: u64, u0: &[f64]) -> Result<McmcChain> {
        let nf = self.free.len();
        let mut rng = crnkit_core::rng::stream(cfg.seed, c);
        let mut u = u0.to_vec();
        let mut l = self.eval(&u, false)?.0;
        let mut s = cfg.initial_scale;
        let mut chol = nalgebra::DMatrix::<f64>::identity(nf, nf);
        let mut shaped = false;
        let mut history: Vec<Vec<f64>> = Vec::with_capacity(cfg.burn_in);
        let mut window_acc = 0usize;
        let mut samples = Vec::with_capacity(cfg.samples);
        let mut lls = Vec::with_capacity(cfg.samples);
        let mut kept_acc = 0usize;
        let total = cfg.burn_in + cfg.samples * cfg.thin;
        for it in 0..total {
            let eps = nalgebra::DVector::from_fn(nf, |_, _| normal(&mut rng));
            let step = &chol * eps;
            let prop: Vec<f64> = (0..nf).map(|j| u[j] + s * step[j]).collect();
            let log_r: f64 = (1.0 - rng.random::<f64>()).ln();
            let mut accepted = false;
            if prop.iter().all(|v| v.abs() <= 1.0) {
                let lp = self.eval(&prop, false)?.0;
                if log_r < lp - l {
                    u = prop;
                    l = lp;
                    accepted = true;
                }
            }
            if it < cfg.burn_in {
                window_acc += usize::from(accepted);
                history.push(u.clone());
                let done = it + 1;
                if done.is_multiple_of(cfg.adapt_every) {
                    let rate = window_acc as f64 / cfg.adapt_every as f64;
                    window_acc = 0;
                    s *= (2.0 * (rate - cfg.target_acceptance)).exp();
                    if 2 * done >= cfg.burn_in
                        && let Some(lc) = chol_cov(&history[done / 2..])
                    {
                        chol = lc;
                        if !shaped {
                            shaped = true;
                            s = 2.38 / (nf as f64).sqrt();
                        }
                    }
                }
            } else {
                kept_acc += usize::from(accepted);
                if (it - cfg.burn_in + 1).is_multiple_of(cfg.thin) {
                    samples.push(self.natural(&u));
                    lls.push(l);
                }
            }
        }
        Ok(McmcChain {
            start: self.natural(u0),
            samples,
            log_likelihood: lls,
            acceptance: kept_acc as f64 / (cfg.samples * cfg.thin) as f64,
            scale: s,
        })
    }
}
