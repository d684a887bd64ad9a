//! A compact direct-method kernel for networks whose channels have order ≤ 2 and change at
//! most three species — most hand-written models and the Vilar oscillator among them.
//!
//! Everything the inner loop touches is flat and in *storage order*: per channel a row with
//! up to three (species, change) pairs (unused pairs point at a dummy slot with change 0, so
//! the update is branch-free) and the range of its dependency edges; each edge carries the
//! dependent's propensity form c · x_i · (x_j − s) and storage slot inline, so an update
//! reads one contiguous run of memory instead of chasing an index into a second table.
//! Propensities sit in storage order followed by a +∞ sentinel, so the linear search needs
//! no bounds test. Storage order is the search order: every [`RESORT`] events the channels
//! are re-sorted by how often they fired, so the search finds frequent channels first (a
//! batched form of the sorting direct method).

use rand::Rng as _;

use crnkit_core::network::{CompiledNetwork, MAX_COUNT};
use crnkit_core::rng::{ExpZiggurat, Rng, exp1_with};

/// c · x_i · (x_j − s).
#[derive(Debug, Clone, Copy)]
struct Lin {
    c: f64,
    s: f64,
    i: u32,
    j: u32,
}

/// What firing the channel at one storage slot does: up to three (species, change) pairs
/// (unused pairs point at the dummy slot with change 0) and its range in the edge list.
#[derive(Debug, Clone, Copy)]
struct Row {
    d: [f64; 3],
    s: [u32; 3],
    lo: u32,
    hi: u32,
}

/// One dependency edge: the propensity form of a dependent and its storage slot, stored
/// inline so that an update reads one contiguous run of memory.
#[derive(Debug, Clone, Copy)]
struct Edge {
    c: f64,
    s: f64,
    i: u32,
    j: u32,
    slot: u32,
}

/// Dependency edges are stored with their propensity forms inline up to this size (about a
/// level-2 cache); beyond it the duplicated forms cost more in cache misses than the saved
/// indirection. Measured per trajectory, inline vs indices: multisite2 (510 KB of edges)
/// 2.74 vs 3.19 s, egfr_net (19.6 MB) 0.96 vs 0.77 s.
const INLINE_BYTES: usize = 1 << 20;

/// Re-sort the search order this often (events).
pub(crate) const RESORT: u32 = 1 << 14;

#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// Number of species; xf has n + 2 slots: counts, 1.0, dummy.
    n: usize,
    /// Channel id at each storage slot, and the slot of each channel id.
    id: Vec<u32>,
    slot: Vec<u32>,
    /// Propensity forms (c, i, j, s) and species changes, in storage order.
    lin: Vec<Lin>,
    ch_s: Vec<[u32; 3]>,
    ch_d: Vec<[f64; 3]>,
    /// What the event loop reads: one row per storage slot (changes, edge range) and the
    /// dependency edges (built from the above by [`Kernel::rebuild_deps`]): with the
    /// propensity forms inline (`edges`) when they fit in [`INLINE_BYTES`], otherwise as
    /// storage slots into `lin` (`dep`), which keeps large networks' working set small.
    rows: Vec<Row>,
    edges: Vec<Edge>,
    dep: Vec<u32>,
    inline: bool,
    /// Firings per storage slot since the last re-sort.
    fired: Vec<u32>,
    since_sort: u32,
    /// The largest increase of any count by one firing (0 when nothing ever increases).
    dmax: f64,
}

/// Why [`Kernel::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Exit {
    /// The next event, drawn but not applied, lies beyond the limit: its time and its
    /// search target.
    Time(f64, f64),
    /// The event budget is spent, or the total left (0, ∞) (re-sum it).
    Budget,
    /// The running sum fell short of the target (round-off), or the drawn target or the
    /// total was unusable: re-sum and draw again.
    Short,
    /// Firing the channel at this storage slot would take a count past [`MAX_COUNT`];
    /// nothing has changed.
    Overflow(usize),
    /// One event fired at this storage slot (only with `EACH`, for event recorders).
    Fired(usize),
    /// `xf` or `a` does not have the kernel's layout ([`Kernel::fits`]); nothing ran.
    Layout,
}

/// The running state [`Kernel::run`] advances: time, total propensity, events fired.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub(crate) now: f64,
    pub(crate) total: f64,
    pub(crate) fired: u32,
}

impl Kernel {
    /// The kernel for `net`, or `None` when a channel has order > 2 or changes more than
    /// three species, or has a propensity law, or the network has events.
    pub(crate) fn new(net: &CompiledNetwork) -> Option<Kernel> {
        let m = net.num_channels();
        let n = net.num_species();
        if m == 0 || m >= u32::MAX as usize / 2 || net.has_laws() || net.has_events() {
            return None;
        }
        let mut k = Kernel {
            n,
            id: (0..m as u32).collect(),
            slot: (0..m as u32).collect(),
            lin: Vec::with_capacity(m),
            ch_s: Vec::with_capacity(m),
            ch_d: Vec::with_capacity(m),
            rows: Vec::new(),
            edges: Vec::new(),
            dep: Vec::new(),
            inline: false,
            fired: vec![0; m],
            since_sort: 0,
            dmax: 0.0,
        };
        let dummy = n as u32 + 1;
        for r in 0..m {
            let (species, coeff) = net.reactants_of(r);
            let rate = net.rate(r);
            let one = n as u32;
            let (i, j, s) = match (species, coeff) {
                ([], []) => (one, one, 0.0),
                ([i], [1]) => (*i, one, 0.0),
                ([i], [2]) => (*i, *i, 1.0),
                ([i, j], [1, 1]) => (*i, *j, 0.0),
                _ => return None,
            };
            k.lin.push(Lin { c: rate, s, i, j });
            let (cs, cd) = net.changes_of(r);
            if cs.len() > 3 {
                return None;
            }
            let mut s3 = [dummy; 3];
            let mut d3 = [0.0; 3];
            for (q, (&sp, &d)) in cs.iter().zip(cd).enumerate() {
                s3[q] = sp;
                d3[q] = d as f64;
                k.dmax = k.dmax.max(d as f64);
            }
            k.ch_s.push(s3);
            k.ch_d.push(d3);
        }
        let edges: usize = (0..m).map(|r| net.dependents_of(r).len()).sum();
        k.inline = edges * std::mem::size_of::<Edge>() <= INLINE_BYTES;
        k.rebuild_deps(net);
        Some(k)
    }

    /// Rows and dependency edges in storage order (edges name storage slots).
    fn rebuild_deps(&mut self, net: &CompiledNetwork) {
        self.rows.clear();
        self.edges.clear();
        self.dep.clear();
        for (k, &r) in self.id.iter().enumerate() {
            let lo = self.dep.len() as u32;
            for &j in net.dependents_of(r as usize) {
                self.dep.push(self.slot[j as usize]);
            }
            self.rows.push(Row {
                d: self.ch_d[k],
                s: self.ch_s[k],
                lo,
                hi: self.dep.len() as u32,
            });
        }
        if self.inline {
            self.edges = self
                .dep
                .iter()
                .map(|&slot| {
                    let l = self.lin[slot as usize];
                    Edge {
                        c: l.c,
                        s: l.s,
                        i: l.i,
                        j: l.j,
                        slot,
                    }
                })
                .collect();
        }
    }

    /// Switch the edge layout (tests: both layouts must give the same trajectories).
    #[cfg(test)]
    pub(crate) fn set_inline(&mut self, net: &CompiledNetwork, inline: bool) {
        self.inline = inline;
        self.rebuild_deps(net);
    }

    /// Whether the dependency edges carry their propensity forms inline (the `INLINE`
    /// parameter of [`Kernel::run`] and [`Parts::fire`]).
    pub(crate) fn inline(&self) -> bool {
        self.inline
    }

    /// Back to the original order (a trajectory must not depend on earlier ones).
    pub(crate) fn reset_order(&mut self, net: &CompiledNetwork) {
        if self.id.iter().enumerate().any(|(k, &r)| k as u32 != r) {
            let order: Vec<u32> = (0..self.id.len() as u32).collect();
            self.permute(net, &order);
        }
        self.fired.iter_mut().for_each(|f| *f = 0);
        self.since_sort = 0;
    }

    /// Put channel ids in the storage order `order`.
    fn permute(&mut self, net: &CompiledNetwork, order: &[u32]) {
        let old_slot = self.slot.clone();
        let pick = |r: u32| old_slot[r as usize] as usize;
        self.lin = order.iter().map(|&r| self.lin[pick(r)]).collect();
        self.ch_s = order.iter().map(|&r| self.ch_s[pick(r)]).collect();
        self.ch_d = order.iter().map(|&r| self.ch_d[pick(r)]).collect();
        self.id = order.to_vec();
        for (k, &r) in order.iter().enumerate() {
            self.slot[r as usize] = k as u32;
        }
        self.rebuild_deps(net);
    }

    /// Storage slot of channel `r`.
    #[inline]
    pub(crate) fn slot(&self, r: usize) -> usize {
        self.slot[r] as usize
    }

    /// Channel id at storage slot `k`.
    #[inline]
    pub(crate) fn id(&self, k: usize) -> usize {
        self.id[k] as usize
    }

    /// Fill `xf` (n + 2 slots) from `x` and every propensity into `a` (storage order),
    /// followed by the search sentinel +∞; returns the total.
    pub(crate) fn init(&self, x: &[u64], xf: &mut Vec<f64>, a: &mut Vec<f64>) -> f64 {
        xf.clear();
        xf.extend(x.iter().map(|&v| v as i64 as f64));
        xf.push(1.0);
        xf.push(0.0);
        a.clear();
        let mut total = 0.0;
        for l in &self.lin {
            let v = l.c * xf[l.i as usize] * (xf[l.j as usize] - l.s);
            a.push(v);
            total += v;
        }
        a.push(f64::INFINITY);
        total
    }

    /// Check the layout [`Parts::fire`] and [`Kernel::run`] rely on: `xf` has n + 2 slots,
    /// `a` one per channel and the sentinel +∞ last.
    pub(crate) fn fits(&self, xf: &[f64], a: &[f64]) -> bool {
        let m = self.lin.len();
        xf.len() == self.n + 2 && a.len() == m + 1 && a[m] == f64::INFINITY
    }

    /// True when `events` more firings cannot take any count in `xf` past [`MAX_COUNT`]
    /// (no count is within `events` · (largest increase) of it), so that the overflow test
    /// may be skipped for that many events.
    pub(crate) fn headroom(&self, xf: &[f64], events: u32) -> bool {
        let top = xf[..self.n].iter().fold(0.0f64, |m, &v| m.max(v));
        top + f64::from(events) * self.dmax <= MAX_COUNT as f64
    }

    /// The direct method's event loop, from the drawn event (`t_next`, `target`) on: find
    /// the channel (linear search of the running sum), fire it, draw the next waiting time
    /// and target, until the next event lies beyond `limit`, `budget` (≥ 1) events have
    /// fired, the total leaves (0, ∞), or the search falls short. Draws in the same order as
    /// [`super::drive`]: the waiting time, then the uniform for the channel. With
    /// `CHECK = false` the overflow test is skipped (the caller has [`Kernel::headroom`] for
    /// `budget` events); with `EACH` it returns after every event.
    ///
    /// Every array is borrowed once for the whole loop, so the hot state stays in registers.
    /// The search needs no bounds test: it stops at the sentinel +∞ after the last channel
    /// at the latest, because the target is finite (the total is checked to be in (0, ∞)
    /// before every draw).
    // The negated comparisons are deliberate: a NaN must end the loop, not continue it.
    #[allow(clippy::too_many_arguments, clippy::neg_cmp_op_on_partial_ord)]
    #[inline(always)]
    pub(crate) fn run<const CHECK: bool, const EACH: bool, const INLINE: bool>(
        &mut self,
        xf: &mut [f64],
        a: &mut [f64],
        rng: &mut Rng,
        zig: &ExpZiggurat,
        clock: &mut Clock,
        (mut t_next, mut target): (f64, f64),
        limit: f64,
        budget: u32,
    ) -> Exit {
        let m = self.lin.len();
        if !self.fits(xf, a) || INLINE != self.inline {
            return Exit::Layout;
        }
        if !target.is_finite() || !valid(clock.total) {
            return Exit::Short;
        }
        let mut parts = self.parts();
        let mut now = clock.now;
        let mut total = clock.total;
        let mut fired = 0u32;
        let exit = loop {
            if !(t_next <= limit) {
                break Exit::Time(t_next, target);
            }
            let mut acc = 0.0;
            let mut slot = 0;
            loop {
                // SAFETY: slot ≤ m < a.len(): at a[m] = +∞ the sum is +∞ or NaN, and either
                // ends the loop (the target is finite; a NaN sum ends it at once).
                acc += unsafe { *a.get_unchecked(slot) };
                if !(acc <= target) {
                    break;
                }
                slot += 1;
            }
            if slot >= m {
                break Exit::Short;
            }
            // SAFETY: slot < m (checked just above) and the layout was checked on entry.
            match unsafe { parts.fire::<CHECK, INLINE>(slot, xf, a, total) } {
                Ok(v) => total = v,
                Err(()) => break Exit::Overflow(slot),
            }
            now = t_next;
            fired += 1;
            if EACH {
                break Exit::Fired(slot);
            }
            if fired >= budget || !valid(total) {
                break Exit::Budget;
            }
            t_next = now + exp1_with(rng, zig) / total;
            target = rng.random::<f64>() * total;
        };
        clock.now = now;
        clock.total = total;
        clock.fired = fired;
        exit
    }

    /// Fire the channel at storage slot `k` with the overflow test, in whichever edge layout
    /// the kernel has (for firings one at a time, outside [`Kernel::run`]).
    ///
    /// # Safety
    /// `k` is a storage slot (< number of channels) and [`Kernel::fits`]`(xf, a)`.
    #[inline(always)]
    pub(crate) unsafe fn fire_checked(
        &mut self,
        k: usize,
        xf: &mut [f64],
        a: &mut [f64],
        a0: f64,
    ) -> Result<f64, ()> {
        let inline = self.inline;
        let mut parts = self.parts();
        // SAFETY: passed on from the caller; the layout parameter matches the kernel's.
        unsafe {
            if inline {
                parts.fire::<true, true>(k, xf, a, a0)
            } else {
                parts.fire::<true, false>(k, xf, a, a0)
            }
        }
    }

    /// The arrays the event loop reads, borrowed once; [`Parts::fire`] fires a channel.
    #[inline(always)]
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            rows: &self.rows,
            edges: &self.edges,
            dep: &self.dep,
            lin: &self.lin,
            fired: &mut self.fired,
        }
    }

    /// Count an event; every [`RESORT`] events, re-sort the storage by firing frequency.
    /// Returns true when the order changed (the caller must then re-initialise `a`).
    #[inline(always)]
    pub(crate) fn tick(&mut self, net: &CompiledNetwork) -> bool {
        self.since_sort += 1;
        if self.since_sort < RESORT {
            return false;
        }
        self.resort(net)
    }

    /// Re-sort the storage by firing frequency since the last re-sort; true when the order
    /// changed (the caller must then re-initialise `a`).
    #[cold]
    #[inline(never)]
    pub(crate) fn resort(&mut self, net: &CompiledNetwork) -> bool {
        self.since_sort = 0;
        let mut order: Vec<(u32, u32)> = (0..self.id.len())
            .map(|k| (self.fired[k], self.id[k]))
            .collect();
        // Most frequent first; ties keep the channel order (deterministic).
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.fired.iter_mut().for_each(|f| *f = 0);
        let ids: Vec<u32> = order.into_iter().map(|(_, r)| r).collect();
        if ids == self.id {
            return false;
        }
        self.permute(net, &ids);
        true
    }
}

/// A total propensity the event loop can draw with: positive and finite (one integer
/// comparison: the bit patterns of the positive finite doubles are 1 ..= 0x7fef_ffff_ffff_ffff).
#[inline(always)]
pub(crate) fn valid(total: f64) -> bool {
    total.to_bits().wrapping_sub(1) < 0x7fef_ffff_ffff_ffff
}

/// Borrowed views of a [`Kernel`]'s arrays (see [`Kernel::parts`]).
struct Parts<'a> {
    rows: &'a [Row],
    edges: &'a [Edge],
    dep: &'a [u32],
    lin: &'a [Lin],
    fired: &'a mut [u32],
}

impl Parts<'_> {
    /// Fire the channel at storage slot `k`: update `xf` (n + 2 slots: counts, the 1.0
    /// slot, the dummy slot) and the dependents' propensities in `a`; return the new total,
    /// or `Err(())` for a count of 2^53 or more (then nothing has changed). Counts cannot go
    /// negative: a channel fires only with positive propensity, so every species it
    /// consumes has at least its coefficient. With `CHECK = false` the overflow test is
    /// skipped (the caller has established [`Kernel::headroom`]).
    ///
    /// # Safety
    /// `k` is a storage slot (< number of channels) and `xf`, `a` fit the kernel these parts
    /// came from ([`Kernel::fits`]).
    #[inline(always)]
    unsafe fn fire<const CHECK: bool, const INLINE: bool>(
        &mut self,
        k: usize,
        xf: &mut [f64],
        a: &mut [f64],
        mut a0: f64,
    ) -> Result<f64, ()> {
        debug_assert!(k < self.rows.len() && a.len() == self.rows.len() + 1);
        debug_assert!(!INLINE || self.edges.len() == self.dep.len());
        // SAFETY (all unchecked accesses): k is a storage slot (< rows.len() < a.len());
        // change species are species indices or the dummy n + 1 < xf.len(); propensity
        // indices are species or the 1.0 slot n; edge and dep slots are storage slots <
        // rows.len() = lin.len(); every row's lo ≤ hi ≤ dep.len() (= edges.len() when
        // INLINE). `new` and `permute` establish this, the caller the lengths and INLINE.
        unsafe {
            let row = *self.rows.get_unchecked(k);
            let (s, d) = (row.s, row.d);
            let v0 = *xf.get_unchecked(s[0] as usize) + d[0];
            let v1 = *xf.get_unchecked(s[1] as usize) + d[1];
            let v2 = *xf.get_unchecked(s[2] as usize) + d[2];
            if CHECK && v0.max(v1).max(v2) > MAX_COUNT as f64 {
                return Err(());
            }
            *xf.get_unchecked_mut(s[0] as usize) = v0;
            *xf.get_unchecked_mut(s[1] as usize) = v1;
            *xf.get_unchecked_mut(s[2] as usize) = v2;
            let (lo, hi) = (row.lo as usize, row.hi as usize);
            if INLINE {
                for l in self.edges.get_unchecked(lo..hi) {
                    let v = l.c
                        * *xf.get_unchecked(l.i as usize)
                        * (*xf.get_unchecked(l.j as usize) - l.s);
                    let old = a.get_unchecked_mut(l.slot as usize);
                    a0 += v - *old;
                    *old = v;
                }
            } else {
                for &j in self.dep.get_unchecked(lo..hi) {
                    let l = *self.lin.get_unchecked(j as usize);
                    let v = l.c
                        * *xf.get_unchecked(l.i as usize)
                        * (*xf.get_unchecked(l.j as usize) - l.s);
                    let old = a.get_unchecked_mut(j as usize);
                    a0 += v - *old;
                    *old = v;
                }
            }
            *self.fired.get_unchecked_mut(k) += 1;
        }
        Ok(a0)
    }
}
