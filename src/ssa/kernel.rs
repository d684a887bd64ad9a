//! A compact direct-method kernel for networks whose channels have order ≤ 2 and change at
//! most three species — most hand-written models and the Vilar oscillator among them.
//!
//! Everything the inner loop touches is in flat structure-of-arrays form in *storage order*:
//! propensity forms c · x_i · (x_j − s), up to three (species, change) pairs per channel
//! (unused pairs point at a dummy slot with change 0, so the update is branch-free), and
//! dependency lists as storage indices. Storage order is the search order: every
//! [`RESORT`] events the channels are re-sorted by how often they fired, so the linear
//! search finds frequent channels first (a batched form of the sorting direct method).

use crate::network::{CompiledNetwork, MAX_COUNT};

/// c · x_i · (x_j − s).
#[derive(Debug, Clone, Copy)]
struct Lin {
    c: f64,
    s: f64,
    i: u32,
    j: u32,
}

/// Re-sort the search order this often (events).
pub(crate) const RESORT: u32 = 1 << 14;

#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// Number of species; xf has n + 2 slots: counts, 1.0, dummy.
    n: usize,
    /// Channel id at each storage slot, and the slot of each channel id.
    id: Vec<u32>,
    slot: Vec<u32>,
    /// Propensity forms (c, i, j, s) in storage order.
    lin: Vec<Lin>,
    ch_s: Vec<[u32; 3]>,
    ch_d: Vec<[f64; 3]>,
    dep_off: Vec<u32>,
    dep: Vec<u32>,
    /// Firings per storage slot since the last re-sort.
    fired: Vec<u32>,
    since_sort: u32,
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
            dep_off: Vec::new(),
            dep: Vec::new(),
            fired: vec![0; m],
            since_sort: 0,
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
            }
            k.ch_s.push(s3);
            k.ch_d.push(d3);
        }
        k.rebuild_deps(net);
        Some(k)
    }

    /// Dependency lists in storage indices, in storage order.
    fn rebuild_deps(&mut self, net: &CompiledNetwork) {
        self.dep_off.clear();
        self.dep.clear();
        self.dep_off.push(0);
        for &r in &self.id {
            for &j in net.dependents_of(r as usize) {
                self.dep.push(self.slot[j as usize]);
            }
            self.dep_off.push(self.dep.len() as u32);
        }
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

    /// Fill `xf` (n + 2 slots) from `x` and every propensity into `a` (storage order);
    /// returns the total.
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
        total
    }

    /// Check the lengths [`Kernel::fire`] relies on.
    pub(crate) fn fits(&self, xf: &[f64], a: &[f64]) -> bool {
        xf.len() == self.n + 2 && a.len() == self.lin.len()
    }

    /// Fire the channel at storage slot `k`: update `xf` (n + 2 slots: counts, the 1.0
    /// slot, the dummy slot) and the dependents' propensities in `a`; return the new total,
    /// or `Err(())` for a count of 2^53 or more (then nothing has changed). Counts cannot go
    /// negative: a channel fires only with positive propensity, so every species it
    /// consumes has at least its coefficient.
    ///
    /// # Safety
    /// `k < a.len()` and [`Kernel::fits`]`(xf, a)`.
    #[inline(always)]
    pub(crate) unsafe fn fire(
        &mut self,
        k: usize,
        xf: &mut [f64],
        a: &mut [f64],
        mut a0: f64,
    ) -> Result<f64, ()> {
        debug_assert!(k < a.len() && self.fits(xf, a));
        // SAFETY (all unchecked accesses): k is a storage slot (< c.len() = a.len()); change
        // species are species indices or the dummy n + 1 < xf.len(); propensity indices are
        // species or the 1.0 slot n; dep entries are storage slots < a.len(); dep_off has
        // c.len() + 1 non-decreasing entries ending at dep.len(). `new` and `permute`
        // establish this, the caller the lengths.
        unsafe {
            let s = *self.ch_s.get_unchecked(k);
            let d = *self.ch_d.get_unchecked(k);
            let v0 = *xf.get_unchecked(s[0] as usize) + d[0];
            let v1 = *xf.get_unchecked(s[1] as usize) + d[1];
            let v2 = *xf.get_unchecked(s[2] as usize) + d[2];
            if v0.max(v1).max(v2) > MAX_COUNT as f64 {
                return Err(());
            }
            *xf.get_unchecked_mut(s[0] as usize) = v0;
            *xf.get_unchecked_mut(s[1] as usize) = v1;
            *xf.get_unchecked_mut(s[2] as usize) = v2;
            let (lo, hi) = (
                *self.dep_off.get_unchecked(k) as usize,
                *self.dep_off.get_unchecked(k + 1) as usize,
            );
            for &j in self.dep.get_unchecked(lo..hi) {
                let j = j as usize;
                let l = *self.lin.get_unchecked(j);
                let v =
                    l.c * *xf.get_unchecked(l.i as usize) * (*xf.get_unchecked(l.j as usize) - l.s);
                let old = a.get_unchecked_mut(j);
                a0 += v - *old;
                *old = v;
            }
            *self.fired.get_unchecked_mut(k) += 1;
        }
        Ok(a0)
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
