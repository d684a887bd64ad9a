//! RSSA-CR: the rejection-based SSA with composition-rejection search.

use rand::Rng as _;

use super::events::EventMemory;
use super::{Simulator, apply, check_state, checked, exponential, overflow};
use crnkit_core::error::Result;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::rng::Rng;

/// Recompute group totals from scratch this often (bounds round-off drift).
const REFRESH: u32 = 4096;

/// Default relative half-width δ of the fluctuation interval. Wider intervals mean fewer
/// bound updates and more rejected trials; measured per trajectory (δ = 0.1 / 0.2 / 0.25):
/// fceri_gamma2 41 / 19 / 14 ms (bound updates dominate), egfr_net 240 / 272 / 298 ms
/// (trials dominate), multisite2 2.63 / 2.62 s. 0.2 takes most of the first gain for a
/// modest cost in the second.
pub const DEFAULT_DELTA: f64 = 0.2;

/// Group index of a positive upper bound: its binary exponent (the biased IEEE exponent),
/// so group g holds bounds in [2^(g−1023), 2^(g−1022)).
#[inline]
fn group_of(a: f64) -> usize {
    ((a.to_bits() >> 52) & 0x7ff) as usize
}

/// 2^1023: bounds from here on have no finite group upper end.
const TOP_BINADE: f64 = f64::from_bits(2046 << 52);

/// Upper end 2^(g−1022) of group g.
#[inline]
fn group_top(g: usize) -> f64 {
    f64::from_bits(((g as u64) + 1) << 52)
}

#[derive(Debug, Clone, Default)]
struct Group {
    members: Vec<u32>,
    total: f64,
}

/// Everything RSSA-CR keeps about the propensity bounds: species intervals, channel bounds
/// and the composition-rejection groups.
#[derive(Debug, Clone, Default)]
struct Bounds {
    lo: Vec<u64>,
    hi: Vec<u64>,
    /// `lo` and `hi` as `f64`, each followed by a slot holding 1.0 (for `propensity_f64`).
    lo_f: Vec<f64>,
    hi_f: Vec<f64>,
    a_lo: Vec<f64>,
    a_hi: Vec<f64>,
    /// (group, slot) of each channel; group usize::MAX when a_hi = 0.
    slot: Vec<(usize, u32)>,
    groups: Vec<Group>,
    /// Range of groups that may be non-empty.
    g_min: usize,
    g_max: usize,
    total: f64,
}

/// The bounds for one initial state, restored on reset instead of rebuilt (for networks of
/// tens of thousands of channels the rebuild dominates a short trajectory).
#[derive(Debug, Clone, Default)]
struct Snapshot {
    x0: Vec<u64>,
    bounds: Bounds,
}

/// RSSA-CR (Thanh et al. 2014, 2017). Each species count x has a fluctuation interval
/// [x_lo, x_hi] (x ± max(1, ⌊δx⌋), and [0, 0] for x = 0); every channel has propensity bounds
/// a_lo ≤ a ≤ a_hi on it. A candidate is drawn with probability a_hi / Σ a_hi by
/// composition-rejection over groups of bounds within a factor of two, the clock advances by
/// Exp(Σ a_hi) at every trial, and the candidate is accepted with probability a / a_hi
/// (without computing a when u·a_hi ≤ a_lo). Bounds are recomputed only for the channels of
/// a species that leaves its interval.
#[derive(Debug, Clone)]
pub struct Rejection<'a> {
    net: &'a CompiledNetwork,
    delta: f64,
    x: Vec<u64>,
    t: f64,
    b: Bounds,
    since_refresh: u32,
    events: u64,
    trials: u64,
    snapshot: Option<Box<Snapshot>>,
    ev: EventMemory,
}

#[cold]
fn unbounded_law(
    net: &CompiledNetwork,
    j: usize,
    lo: &[u64],
    hi: &[u64],
) -> crnkit_core::error::Error {
    let box_text: Vec<String> = net
        .species_names()
        .iter()
        .zip(lo.iter().zip(hi))
        .filter(|(_, (l, h))| l != h)
        .take(8)
        .map(|(name, (l, h))| format!("{name} in [{l}, {h}]"))
        .collect();
    crnkit_core::error::Error::Unsupported {
        feature: format!(
            "the rejection method for the propensity law of reaction {}: it has no finite upper \
             bound on the fluctuation box ({}); use the direct or the next reaction method",
            super::channel_name(net, j),
            box_text.join(", ")
        ),
    }
}

fn interval(x: u64, delta: f64) -> (u64, u64) {
    if x == 0 {
        return (0, 0);
    }
    let d = ((x as f64 * delta) as u64).max(1);
    (x.saturating_sub(d), x.saturating_add(d))
}

impl<'a> Rejection<'a> {
    /// A simulator at the network's initial state, time 0, with δ = [`DEFAULT_DELTA`].
    pub fn new(net: &'a CompiledNetwork) -> Result<Rejection<'a>> {
        Self::with_delta(net, DEFAULT_DELTA)
    }

    /// A simulator with fluctuation-interval half-width `delta` (relative).
    pub fn with_delta(net: &'a CompiledNetwork, delta: f64) -> Result<Rejection<'a>> {
        let m = net.num_channels();
        let n = net.num_species();
        let mut s = Rejection {
            net,
            delta: if delta.is_finite() && delta > 0.0 {
                delta
            } else {
                DEFAULT_DELTA
            },
            x: net.initial_state().to_vec(),
            t: 0.0,
            b: Bounds {
                lo: vec![0; n],
                hi: vec![0; n],
                lo_f: vec![1.0; n + 1],
                hi_f: vec![1.0; n + 1],
                a_lo: vec![0.0; m],
                a_hi: vec![0.0; m],
                slot: vec![(usize::MAX, 0); m],
                groups: vec![Group::default(); 2048],
                g_min: usize::MAX,
                g_max: 0,
                total: 0.0,
            },
            since_refresh: 0,
            events: 0,
            trials: 0,
            snapshot: None,
            ev: EventMemory::default(),
        };
        if net.has_events() {
            s.reset(net.initial_state(), 0.0)?;
        } else {
            s.rebuild()?;
            s.save();
        }
        Ok(s)
    }

    fn save(&mut self) {
        let mut snap = self.snapshot.take().unwrap_or_default();
        snap.x0.clone_from(&self.x);
        snap.bounds.clone_from(&self.b);
        self.snapshot = Some(snap);
    }

    /// Restore the bounds saved for `x0`, if they were saved for exactly this state.
    fn restore(&mut self, x0: &[u64]) -> bool {
        match self.snapshot.as_deref() {
            Some(snap) if snap.x0 == x0 => {
                self.b.clone_from(&snap.bounds);
                self.since_refresh = 0;
                true
            }
            _ => false,
        }
    }

    /// Trials (accepted or rejected candidates) since the last reset.
    pub fn trials(&self) -> u64 {
        self.trials
    }

    fn rebuild(&mut self) -> Result<()> {
        for g in &mut self.b.groups {
            g.members.clear();
            g.total = 0.0;
        }
        self.b.g_min = usize::MAX;
        self.b.g_max = 0;
        self.b.total = 0.0;
        for i in 0..self.x.len() {
            let (l, h) = if self.net.is_constant(i) {
                (self.x[i], self.x[i])
            } else {
                interval(self.x[i], self.delta)
            };
            self.b.lo[i] = l;
            self.b.hi[i] = h;
            self.b.lo_f[i] = l as f64;
            self.b.hi_f[i] = h as f64;
        }
        for j in 0..self.b.a_hi.len() {
            self.b.slot[j] = (usize::MAX, 0);
            self.b.a_hi[j] = 0.0;
            self.set_bounds(j)?;
        }
        self.since_refresh = 0;
        Ok(())
    }

    /// Recompute the bounds of channel j and move it to its group.
    #[inline]
    fn set_bounds(&mut self, j: usize) -> Result<()> {
        let (lo, hi) =
            self.net
                .propensity_bounds(j, (&self.b.lo, &self.b.lo_f), (&self.b.hi, &self.b.hi_f));
        if hi < 0.0 {
            return Err(overflow(self.net, j, hi));
        }
        // A bound in the top binade [2^1023, 2^1024) would need a group whose upper end
        // 2^1024 is infinite (and acceptance tests against it never pass): report it as the
        // overflow it nearly is.
        // (One integer comparison: NaN bit patterns lie above every finite one.)
        if hi.abs().to_bits() >= TOP_BINADE.to_bits() {
            return Err(if self.net.is_law(j) {
                unbounded_law(self.net, j, &self.b.lo, &self.b.hi)
            } else {
                overflow(self.net, j, hi)
            });
        }
        self.b.a_lo[j] = lo;
        let old = self.b.a_hi[j];
        self.b.a_hi[j] = hi;
        let (g_old, k) = self.b.slot[j];
        let g_new = if hi > 0.0 { group_of(hi) } else { usize::MAX };
        if g_old == g_new {
            if g_new != usize::MAX {
                self.b.groups[g_new].total += hi - old;
                self.b.total += hi - old;
            }
            return Ok(());
        }
        if g_old != usize::MAX {
            let grp = &mut self.b.groups[g_old];
            let k = k as usize;
            grp.members.swap_remove(k);
            if let Some(&moved) = grp.members.get(k) {
                self.b.slot[moved as usize].1 = k as u32;
            }
            grp.total -= old;
            self.b.total -= old;
        }
        if g_new != usize::MAX {
            let grp = &mut self.b.groups[g_new];
            grp.members.push(j as u32);
            grp.total += hi;
            self.b.total += hi;
            self.b.slot[j] = (g_new, (grp.members.len() - 1) as u32);
            self.b.g_min = self.b.g_min.min(g_new);
            self.b.g_max = self.b.g_max.max(g_new);
        } else {
            self.b.slot[j] = (usize::MAX, 0);
        }
        Ok(())
    }

    fn refresh_totals(&mut self) {
        let mut total = 0.0;
        if self.b.g_min <= self.b.g_max {
            for g in self.b.g_min..=self.b.g_max {
                let grp = &mut self.b.groups[g];
                grp.total = grp.members.iter().map(|&j| self.b.a_hi[j as usize]).sum();
                total += grp.total;
            }
        }
        self.b.total = total;
        self.since_refresh = 0;
    }

    /// Draw a candidate channel with probability a_hi / Σ a_hi.
    #[inline]
    fn candidate(&self, rng: &mut Rng) -> Option<usize> {
        let target = rng.random::<f64>() * self.b.total;
        let mut acc = 0.0;
        let mut chosen = None;
        // Largest groups first: they hold most of the mass.
        for g in (self.b.g_min..=self.b.g_max).rev() {
            let grp = &self.b.groups[g];
            if grp.members.is_empty() {
                continue;
            }
            acc += grp.total;
            chosen = Some(g);
            if acc > target {
                break;
            }
        }
        let g = chosen?;
        let grp = &self.b.groups[g];
        let top = group_top(g);
        let len = grp.members.len();
        loop {
            let u: f64 = rng.random();
            let scaled = u * len as f64;
            let k = (scaled as usize).min(len - 1);
            // The fractional part is a fresh uniform for the acceptance test.
            let v = scaled - k as f64;
            let j = grp.members[k] as usize;
            if v * top < self.b.a_hi[j] {
                return Some(j);
            }
        }
    }
}

impl Simulator for Rejection<'_> {
    fn time(&self) -> f64 {
        self.t
    }

    fn state(&self) -> &[u64] {
        &self.x
    }

    fn reset(&mut self, x0: &[u64], t0: f64) -> Result<()> {
        check_state(self.net, x0)?;
        let x0 = self.ev.start(self.net, x0, t0)?;
        let x0: &[u64] = &x0;
        self.x.copy_from_slice(x0);
        self.t = t0;
        self.events = 0;
        self.trials = 0;
        if !self.restore(x0) {
            self.rebuild()?;
            self.save();
        }
        Ok(())
    }

    fn propose(&mut self, rng: &mut Rng, horizon: f64) -> Result<Option<(f64, usize)>> {
        let mut t = self.t;
        loop {
            if self.b.total <= 0.0 {
                self.refresh_totals();
                if self.b.total <= 0.0 {
                    return Ok(None);
                }
            }
            t += exponential(rng, self.b.total);
            if t > horizon {
                // Past the horizon: the caller stops here, nothing is committed.
                return Ok(Some((t, usize::MAX)));
            }
            self.trials += 1;
            let Some(j) = self.candidate(rng) else {
                self.refresh_totals();
                continue;
            };
            let u: f64 = rng.random();
            let threshold = u * self.b.a_hi[j];
            if threshold <= self.b.a_lo[j] {
                return Ok(Some((t, j)));
            }
            let a = checked(self.net, j, self.net.propensity(j, &self.x))?;
            if threshold < a {
                return Ok(Some((t, j)));
            }
        }
    }

    fn commit(&mut self, t: f64, r: usize, _rng: &mut Rng) -> Result<()> {
        let net = self.net;
        apply(net, r, &mut self.x)?;
        self.t = t;
        self.events += 1;
        let (species, _) = net.changes_of(r);
        for &i in species {
            let i = i as usize;
            let xi = self.x[i];
            // Leaving the interval, or reaching 0 (exact zero bounds waste no trials).
            if xi < self.b.lo[i] || xi > self.b.hi[i] || (xi == 0 && self.b.hi[i] > 0) {
                let (l, h) = interval(xi, self.delta);
                self.b.lo[i] = l;
                self.b.hi[i] = h;
                self.b.lo_f[i] = l as f64;
                self.b.hi_f[i] = h as f64;
                for &j in net.users_of(i) {
                    self.set_bounds(j as usize)?;
                }
            }
        }
        self.since_refresh += 1;
        if self.since_refresh >= REFRESH {
            self.refresh_totals();
        }
        Ok(())
    }

    fn hold_until(&mut self, t: f64) {
        self.t = t;
    }

    fn network(&self) -> &CompiledNetwork {
        self.net
    }

    fn jump(&mut self, x: &[u64], t: f64) -> Result<()> {
        check_state(self.net, x)?;
        self.x.copy_from_slice(x);
        self.t = t;
        self.rebuild()
    }

    fn check_events(&mut self, after_reaction: bool) -> Result<bool> {
        match self.ev.check(self.net, &self.x, self.t, after_reaction)? {
            Some(x) => self.jump(&x, self.t).map(|()| true),
            None => Ok(false),
        }
    }

    fn events(&self) -> u64 {
        self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_bracket_their_members() {
        for a in [1e-300, 0.3, 1.0, 1.5, 2.0, 7.9, 1e12] {
            let g = group_of(a);
            assert!(a < group_top(g) && a >= group_top(g) / 2.0, "{a}");
        }
        assert_eq!(interval(0, 0.1), (0, 0));
        assert_eq!(interval(5, 0.1), (4, 6));
        assert_eq!(interval(100, 0.1), (90, 110));
    }
}
