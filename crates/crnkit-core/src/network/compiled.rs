//! The compiled form of a network: flat arrays for hot loops.
//!
//! Every reversible pair becomes two irreversible channels (forward then reverse, adjacent),
//! linked by [`CompiledNetwork::reverse_of`]. Rate constants are folded with the volume:
//! c_r = k_r · Ω^(1−|ν_r|), so that the propensity is c_r · Π_i (x_i)_(ν_ir).
//! Constant species keep their count: their net change is dropped from the update vectors.

use std::sync::OnceLock;

use super::program::{Code, Events};
use super::{MAX_COUNT, Network, Term};

/// The shape of a channel's propensity, so the common cases skip the general loop.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// c
    Zero,
    /// c · x_i
    One(u32),
    /// c · x_i (x_i − 1)
    TwoSame(u32),
    /// c · x_i x_j
    TwoDiff(u32, u32),
    /// c · Π (x_i)_ν
    General,
    /// A general propensity law (index into `laws`).
    Law(u32),
}

/// Branch-free propensity c · x_i · (x_j − s) over a state in `f64` whose last slot holds
/// 1.0: zero order has i = j = that slot, first order j = that slot, x(x−1) has j = i and
/// s = 1. `i == u32::MAX` marks a channel of higher order, computed by the general loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Linear {
    pub c: f64,
    pub i: u32,
    pub j: u32,
    pub s: f64,
}

/// Flat, cache-friendly description of a network's reaction channels.
#[derive(Debug, Clone)]
pub struct CompiledNetwork {
    species_names: Vec<String>,
    /// Volume-folded rate constant per channel.
    rate: Vec<f64>,
    kind: Vec<Kind>,
    linear: Vec<Linear>,
    /// Offsets into `reactant_species` / `reactant_coeff`, one more than the channels.
    reactant_offsets: Vec<usize>,
    reactant_species: Vec<u32>,
    reactant_coeff: Vec<u32>,
    /// Offsets into `change_species` / `change_delta`.
    change_offsets: Vec<usize>,
    change_species: Vec<u32>,
    change_delta: Vec<i64>,
    /// The channel running the same reaction backwards, if the pair is reversible.
    reverse: Vec<Option<usize>>,
    /// (reaction index, is the reverse direction) per channel.
    origin: Vec<(usize, bool)>,
    /// Channels whose propensity depends on species changed by channel r (CSR), built on
    /// first use: large networks simulated by RSSA-CR never need it.
    deps: OnceLock<(Vec<usize>, Vec<u32>)>,
    /// Channels that have species i as a reactant (CSR).
    user_offsets: Vec<usize>,
    users: Vec<u32>,
    initial: Vec<u64>,
    constant: Vec<bool>,
    observable_names: Vec<String>,
    observables: Vec<Vec<Term>>,
    /// Compiled propensity laws of the `Kind::Law` channels.
    laws: Vec<Code>,
    events: Events,
}

/// A channel would push a species count past [`MAX_COUNT`] (or below zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountOutOfRange {
    /// The species index.
    pub species: usize,
}

impl CompiledNetwork {
    pub(crate) fn new(net: &Network) -> Self {
        let omega = net.volume();
        let constant: Vec<bool> = net.species().map(|s| s.constant).collect();
        let n = net.num_species();
        let mut c = CompiledNetwork {
            species_names: net.species().map(|s| s.name.clone()).collect(),
            rate: Vec::new(),
            kind: Vec::new(),
            linear: Vec::new(),
            reactant_offsets: vec![0],
            reactant_species: Vec::new(),
            reactant_coeff: Vec::new(),
            change_offsets: vec![0],
            change_species: Vec::new(),
            change_delta: Vec::new(),
            reverse: Vec::new(),
            origin: Vec::new(),
            deps: OnceLock::new(),
            user_offsets: vec![0],
            users: Vec::new(),
            initial: net.initial_state(),
            constant: constant.clone(),
            observable_names: net.observables().iter().map(|o| o.name.clone()).collect(),
            observables: net.observables().iter().map(|o| o.terms.clone()).collect(),
            laws: Vec::new(),
            events: net.compiled_events().clone(),
        };
        for (r, rx) in net.reactions().enumerate() {
            let reactants = net.reactants(r);
            let products = net.products(r);
            let fwd = c.rate.len();
            c.push_channel(
                &constant,
                omega,
                r,
                (&reactants, &products),
                rx.forward.value,
                false,
            );
            if let Some(rev) = &rx.reverse {
                c.push_channel(
                    &constant,
                    omega,
                    r,
                    (&products, &reactants),
                    rev.value,
                    true,
                );
                c.reverse.push(Some(fwd + 1));
                c.reverse.push(Some(fwd));
            } else {
                c.reverse.push(None);
            }
            if let Some(code) = net.law(r) {
                // A law channel is irreversible: it is the channel just pushed.
                let k = c.laws.len() as u32;
                c.laws.push(code.clone());
                c.kind[fwd] = Kind::Law(k);
                c.linear[fwd] = Linear {
                    c: 1.0,
                    i: u32::MAX,
                    j: 0,
                    s: 0.0,
                };
            }
        }
        // Species → channels that use it as a reactant.
        let m = c.rate.len();
        let mut users: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut read = Vec::new();
        for s in 0..m {
            read.clear();
            match c.kind[s] {
                Kind::Law(k) => c.laws[k as usize].species(&mut read),
                _ => read.extend_from_slice(c.reactants_of(s).0),
            }
            read.sort_unstable();
            read.dedup();
            for &i in &read {
                users[i as usize].push(s as u32);
            }
        }
        for u in &users {
            c.users.extend_from_slice(u);
            c.user_offsets.push(c.users.len());
        }
        c
    }

    /// Dependency graph: channel s depends on channel r if r changes a reactant of s.
    fn dependency_graph(&self) -> &(Vec<usize>, Vec<u32>) {
        self.deps.get_or_init(|| {
            let mut offsets = vec![0];
            let mut all = Vec::new();
            let mut deps: Vec<u32> = Vec::new();
            for r in 0..self.num_channels() {
                deps.clear();
                for &i in self.changes_of(r).0 {
                    deps.extend_from_slice(self.users_of(i as usize));
                }
                deps.sort_unstable();
                deps.dedup();
                all.extend_from_slice(&deps);
                offsets.push(all.len());
            }
            (offsets, all)
        })
    }

    fn push_channel(
        &mut self,
        constant: &[bool],
        omega: f64,
        r: usize,
        (from, to): (&[Term], &[Term]),
        k: f64,
        rev: bool,
    ) {
        let order: u64 = from.iter().map(|&(_, n)| u64::from(n)).sum();
        self.rate.push(k * omega.powf(1.0 - order as f64));
        let kind = match from {
            [] => Kind::Zero,
            [(i, 1)] => Kind::One(*i as u32),
            [(i, 2)] => Kind::TwoSame(*i as u32),
            [(i, 1), (j, 1)] => Kind::TwoDiff(*i as u32, *j as u32),
            _ => Kind::General,
        };
        let one = constant.len() as u32;
        let c = *self.rate.last().unwrap_or(&0.0);
        self.linear.push(match kind {
            Kind::Zero => Linear {
                c,
                i: one,
                j: one,
                s: 0.0,
            },
            Kind::One(i) => Linear {
                c,
                i,
                j: one,
                s: 0.0,
            },
            Kind::TwoSame(i) => Linear { c, i, j: i, s: 1.0 },
            Kind::TwoDiff(i, j) => Linear { c, i, j, s: 0.0 },
            Kind::General | Kind::Law(_) => Linear {
                c,
                i: u32::MAX,
                j: 0,
                s: 0.0,
            },
        });
        self.kind.push(kind);
        for &(i, n) in from {
            self.reactant_species.push(i as u32);
            self.reactant_coeff.push(n);
        }
        self.reactant_offsets.push(self.reactant_species.len());
        let mut delta: Vec<(usize, i64)> = from.iter().map(|&(i, n)| (i, -i64::from(n))).collect();
        for &(i, n) in to {
            match delta.iter_mut().find(|(j, _)| *j == i) {
                Some((_, d)) => *d += i64::from(n),
                None => delta.push((i, i64::from(n))),
            }
        }
        delta.sort_unstable();
        for (i, d) in delta {
            if d != 0 && !constant[i] {
                self.change_species.push(i as u32);
                self.change_delta.push(d);
            }
        }
        self.change_offsets.push(self.change_species.len());
        self.origin.push((r, rev));
    }

    /// Number of species.
    pub fn num_species(&self) -> usize {
        self.species_names.len()
    }

    /// Species names in order.
    pub fn species_names(&self) -> &[String] {
        &self.species_names
    }

    /// Number of irreversible channels.
    pub fn num_channels(&self) -> usize {
        self.rate.len()
    }

    /// Volume-folded rate constant c_r = k_r Ω^(1−|ν_r|) of channel `r`.
    pub fn rate(&self, r: usize) -> f64 {
        self.rate[r]
    }

    /// Reactant species and coefficients of channel `r`.
    pub fn reactants_of(&self, r: usize) -> (&[u32], &[u32]) {
        let (a, b) = (self.reactant_offsets[r], self.reactant_offsets[r + 1]);
        (&self.reactant_species[a..b], &self.reactant_coeff[a..b])
    }

    /// Net change of channel `r`: species and signed deltas (constant species excluded).
    pub fn changes_of(&self, r: usize) -> (&[u32], &[i64]) {
        let (a, b) = (self.change_offsets[r], self.change_offsets[r + 1]);
        (&self.change_species[a..b], &self.change_delta[a..b])
    }

    /// Channels whose propensity may change when channel `r` fires.
    ///
    /// The dependency graph is built on the first call.
    #[inline]
    pub fn dependents_of(&self, r: usize) -> &[u32] {
        let (offsets, all) = self.dependency_graph();
        &all[offsets[r]..offsets[r + 1]]
    }

    /// Channels whose propensity reads species `i` (its reactant channels, and the laws that
    /// use it).
    pub fn users_of(&self, i: usize) -> &[u32] {
        &self.users[self.user_offsets[i]..self.user_offsets[i + 1]]
    }

    /// The channel that reverses channel `r`, if it is half of a reversible pair.
    pub fn reverse_of(&self, r: usize) -> Option<usize> {
        self.reverse[r]
    }

    /// (reaction index in the network, is the reverse direction) of channel `r`.
    pub fn origin(&self, r: usize) -> (usize, bool) {
        self.origin[r]
    }

    /// Initial state.
    pub fn initial_state(&self) -> &[u64] {
        &self.initial
    }

    /// Whether species `i` is constant.
    pub fn is_constant(&self, i: usize) -> bool {
        self.constant[i]
    }

    /// Observable names.
    pub fn observable_names(&self) -> &[String] {
        &self.observable_names
    }

    /// Value of observable `k` for real-valued amounts `x` (the deterministic limit).
    pub fn observable_amount(&self, k: usize, x: &[f64]) -> f64 {
        self.observables[k]
            .iter()
            .map(|&(i, w)| f64::from(w) * x[i])
            .sum()
    }

    /// Value of observable `k` in state `x`.
    pub fn observable(&self, k: usize, x: &[u64]) -> f64 {
        self.observables[k]
            .iter()
            .map(|&(i, w)| f64::from(w) * x[i] as f64)
            .sum()
    }

    /// Propensity of channel `r` in a state held as `f64` counts followed by one slot
    /// holding 1.0 (length species + 1): the same value as [`CompiledNetwork::propensity`],
    /// branch-free for channels of order ≤ 2.
    #[inline(always)]
    pub fn propensity_f64(&self, r: usize, xf: &[f64], x: &[u64]) -> f64 {
        let l = self.linear[r];
        if l.i == u32::MAX {
            return self.propensity_general(r, x);
        }
        l.c * xf[l.i as usize] * (xf[l.j as usize] - l.s)
    }

    /// [`CompiledNetwork::propensity_f64`] without bounds checks, for the simulators' inner
    /// loops.
    ///
    /// # Safety
    /// `r < self.num_channels()` and `xf.len() > self.num_species()` with
    /// `xf[num_species] == 1.0`; the channel's
    /// species indices are < `num_species()` by construction.
    #[inline(always)]
    pub unsafe fn propensity_f64_unchecked(&self, r: usize, xf: &[f64], x: &[u64]) -> f64 {
        debug_assert!(r < self.linear.len() && xf.len() > self.species_names.len());
        // SAFETY: the caller guarantees r is a channel and xf has a slot per species plus
        // one; Linear's indices are species indices or that last slot.
        unsafe {
            let l = *self.linear.get_unchecked(r);
            if l.i == u32::MAX {
                return self.propensity_general(r, x);
            }
            l.c * *xf.get_unchecked(l.i as usize) * (*xf.get_unchecked(l.j as usize) - l.s)
        }
    }

    /// The dependency graph in CSR form: `deps[offsets[r]..offsets[r + 1]]` are the channels
    /// that channel r's firing can change.
    pub fn dependency_csr(&self) -> (&[usize], &[u32]) {
        let (o, d) = self.dependency_graph();
        (o, d)
    }

    /// Apply channel `r` to `x` and its `f64` mirror `xf` in one pass; on a count out of
    /// range both are left unchanged.
    #[inline]
    pub fn apply_mirrored(
        &self,
        r: usize,
        x: &mut [u64],
        xf: &mut [f64],
    ) -> Result<(), CountOutOfRange> {
        let (a0, b0) = (self.change_offsets[r], self.change_offsets[r + 1]);
        for k in a0..b0 {
            let i = self.change_species[k] as usize;
            let v = x[i].wrapping_add_signed(self.change_delta[k]);
            if v > MAX_COUNT {
                // Negative counts wrap to huge values: both are out of range. Undo.
                for kk in a0..k {
                    let ii = self.change_species[kk] as usize;
                    x[ii] = x[ii].wrapping_add_signed(-self.change_delta[kk]);
                    xf[ii] = x[ii] as i64 as f64;
                }
                return Err(CountOutOfRange { species: i });
            }
            x[i] = v;
            // v < 2^53 fits i64, whose conversion to f64 is one instruction.
            xf[i] = v as i64 as f64;
        }
        Ok(())
    }

    /// Propensity of channel `r` in state `x`: c_r · Π_i (x_i)_(ν_ir).
    #[inline]
    pub fn propensity(&self, r: usize, x: &[u64]) -> f64 {
        let c = self.rate[r];
        match self.kind[r] {
            Kind::Zero => c,
            Kind::One(i) => c * x[i as usize] as f64,
            Kind::TwoSame(i) => {
                let v = x[i as usize];
                c * v as f64 * v.saturating_sub(1) as f64
            }
            Kind::TwoDiff(i, j) => c * x[i as usize] as f64 * x[j as usize] as f64,
            Kind::General | Kind::Law(_) => self.propensity_general(r, x),
        }
    }

    /// A law's value; negative or undefined values read as NaN, so that the simulators'
    /// finiteness checks stop with [`crate::Error::InvalidPropensity`].
    #[inline]
    fn law_value(&self, k: u32, x: &[u64]) -> f64 {
        let v = self.laws[k as usize].eval(x, 0.0);
        if v >= 0.0 { v } else { f64::NAN }
    }

    /// Does some channel have a general propensity law?
    pub fn has_laws(&self) -> bool {
        !self.laws.is_empty()
    }

    /// Does channel `r` have a general propensity law?
    pub fn is_law(&self, r: usize) -> bool {
        matches!(self.kind[r], Kind::Law(_))
    }

    /// Does the network have events?
    pub fn has_events(&self) -> bool {
        !self.events.events.is_empty()
    }

    /// The compiled events (empty when the network has none).
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Refuse channels with propensity laws and events, for methods that need mass action
    /// (`what` names the method in the error).
    pub fn require_mass_action(&self, what: &str) -> crate::error::Result<()> {
        if let Some(r) = (0..self.num_channels()).find(|&r| self.is_law(r)) {
            return Err(super::law_refusal(
                what,
                &format!("#{}", self.origin[r].0 + 1),
            ));
        }
        match self.events.events.first() {
            Some(ev) => Err(super::event_refusal(what, &ev.name)),
            None => Ok(()),
        }
    }

    /// Lower and upper bounds of channel `r`'s propensity over the box lo ≤ x ≤ hi (`lo_f`,
    /// `hi_f`: the same as `f64` with a last slot holding 1.0). Mass action is monotone in
    /// every count, so the bounds are the values at the corners; a law is bounded by interval
    /// arithmetic (lower bound clamped at 0; the upper bound is infinite or NaN when the law
    /// cannot be bounded on the box).
    #[inline]
    pub fn propensity_bounds(
        &self,
        r: usize,
        (lo, lo_f): (&[u64], &[f64]),
        (hi, hi_f): (&[u64], &[f64]),
    ) -> (f64, f64) {
        if let Kind::Law(k) = self.kind[r] {
            let (l, h) = self.laws[k as usize].bounds(lo, hi);
            return (l.max(0.0), if h.is_nan() { f64::INFINITY } else { h });
        }
        (
            self.propensity_f64(r, lo_f, lo),
            self.propensity_f64(r, hi_f, hi),
        )
    }

    fn propensity_general(&self, r: usize, x: &[u64]) -> f64 {
        if let Kind::Law(k) = self.kind[r] {
            return self.law_value(k, x);
        }
        let mut a = self.rate[r];
        let (a0, b0) = (self.reactant_offsets[r], self.reactant_offsets[r + 1]);
        for k in a0..b0 {
            let xi = x[self.reactant_species[k] as usize];
            let nu = u64::from(self.reactant_coeff[k]);
            if xi < nu {
                return 0.0;
            }
            let mut f = xi as f64;
            for j in 1..nu {
                f *= (xi - j) as f64;
            }
            a *= f;
        }
        a
    }

    /// Apply channel `r` to state `x`. A count that would become negative or exceed
    /// [`MAX_COUNT`] (2^53 − 1: counts stay exact in `f64` propensities) leaves `x`
    /// unchanged and is reported.
    #[inline]
    pub fn apply(&self, r: usize, x: &mut [u64]) -> Result<(), CountOutOfRange> {
        let (a0, b0) = (self.change_offsets[r], self.change_offsets[r + 1]);
        for k in a0..b0 {
            let i = self.change_species[k] as usize;
            match x[i].checked_add_signed(self.change_delta[k]) {
                Some(v) if v <= MAX_COUNT => {}
                _ => return Err(CountOutOfRange { species: i }),
            }
        }
        for k in a0..b0 {
            let i = self.change_species[k] as usize;
            x[i] = x[i].wrapping_add_signed(self.change_delta[k]);
        }
        Ok(())
    }
}
