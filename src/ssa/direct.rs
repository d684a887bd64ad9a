//! Gillespie's direct method with a dependency graph and sorting search.

use rand::Rng as _;

use super::{Simulator, apply, check_state, checked, exponential};
use crate::error::Result;
use crate::network::CompiledNetwork;
use crate::rng::Rng;

/// Recompute the total propensity from scratch this often (bounds round-off drift).
const REFRESH: u32 = 1024;

/// The direct method: draw τ ~ Exp(a₀), then the channel j with probability a_j / a₀ by a
/// linear search in an order that adapts to firing frequencies.
#[derive(Debug, Clone)]
pub struct Direct<'a> {
    net: &'a CompiledNetwork,
    dep_offsets: &'a [usize],
    deps: &'a [u32],
    x: Vec<u64>,
    /// The state as `f64`, plus a last slot holding 1.0 (see `propensity_f64`).
    xf: Vec<f64>,
    t: f64,
    /// Propensities in search order: `a[k]` belongs to channel `order[k]`.
    a: Vec<f64>,
    a0: f64,
    order: Vec<u32>,
    pos: Vec<u32>,
    since_refresh: u32,
    events: u64,
}

impl<'a> Direct<'a> {
    /// A simulator at the network's initial state, time 0.
    pub fn new(net: &'a CompiledNetwork) -> Result<Direct<'a>> {
        let m = net.num_channels();
        let (dep_offsets, deps) = net.dependency_csr();
        let mut xf: Vec<f64> = net.initial_state().iter().map(|&v| v as f64).collect();
        xf.push(1.0);
        let mut s = Direct {
            net,
            dep_offsets,
            deps,
            x: net.initial_state().to_vec(),
            xf,
            t: 0.0,
            a: vec![0.0; m],
            a0: 0.0,
            order: (0..m as u32).collect(),
            pos: (0..m as u32).collect(),
            since_refresh: 0,
            events: 0,
        };
        s.recompute()?;
        Ok(s)
    }

    fn recompute(&mut self) -> Result<()> {
        let mut a0 = 0.0;
        for k in 0..self.a.len() {
            let j = self.order[k] as usize;
            let v = checked(self.net, j, self.net.propensity(j, &self.x))?;
            self.a[k] = v;
            a0 += v;
        }
        self.a0 = a0;
        self.since_refresh = 0;
        Ok(())
    }

    fn resum(&mut self) {
        self.a0 = self.a.iter().sum();
        self.since_refresh = 0;
    }

    /// Current propensity of channel `j`.
    pub fn propensity(&self, j: usize) -> f64 {
        self.a[self.pos[j] as usize]
    }
}

impl Simulator for Direct<'_> {
    fn time(&self) -> f64 {
        self.t
    }

    fn state(&self) -> &[u64] {
        &self.x
    }

    fn reset(&mut self, x0: &[u64], t0: f64) -> Result<()> {
        check_state(self.net, x0)?;
        self.x.copy_from_slice(x0);
        for (f, &v) in self.xf.iter_mut().zip(x0) {
            *f = v as f64;
        }
        self.t = t0;
        self.events = 0;
        // A trajectory depends on (state, random stream) only, not on earlier runs.
        for (k, (o, p)) in self.order.iter_mut().zip(self.pos.iter_mut()).enumerate() {
            *o = k as u32;
            *p = k as u32;
        }
        self.recompute()
    }

    #[inline]
    fn propose(&mut self, rng: &mut Rng, _horizon: f64) -> Result<Option<(f64, usize)>> {
        loop {
            if self.a0 <= 0.0 {
                self.resum();
                if self.a0 <= 0.0 {
                    return Ok(None);
                }
            }
            let tau = exponential(rng, self.a0);
            let target = rng.random::<f64>() * self.a0;
            let mut acc = 0.0;
            for (k, &ak) in self.a.iter().enumerate() {
                acc += ak;
                if acc > target {
                    return Ok(Some((self.t + tau, self.order[k] as usize)));
                }
            }
            // Round-off: the running total fell short of a₀. Re-sum and draw again.
            self.resum();
        }
    }

    #[inline]
    fn commit(&mut self, t: f64, r: usize, _rng: &mut Rng) -> Result<()> {
        let net = self.net;
        if net.apply_mirrored(r, &mut self.x, &mut self.xf).is_err() {
            // Report the error with its names (the state is unchanged).
            return apply(net, r, &mut self.x.clone());
        }
        self.t = t;
        self.events += 1;
        let mut a0 = self.a0;
        let mut finite = true;
        let m = self.a.len();
        for &j in &self.deps[self.dep_offsets[r]..self.dep_offsets[r + 1]] {
            let j = j as usize;
            debug_assert!(j < m && self.xf.len() > net.num_species());
            // SAFETY: dependents are channel indices (< m, checked when the dependency
            // graph was built from the channels), `pos` and `a` have one entry per channel,
            // and `pos` is a permutation of 0..m; `xf` has a slot per species plus one.
            unsafe {
                let v = net.propensity_f64_unchecked(j, &self.xf, &self.x);
                finite &= v.is_finite();
                let k = *self.pos.get_unchecked(j) as usize;
                let old = self.a.get_unchecked_mut(k);
                a0 += v - *old;
                *old = v;
            }
        }
        let _ = m;
        if !finite {
            return self.recompute();
        }
        self.a0 = a0;
        // Sorting: the fired channel moves one place towards the front.
        let p = self.pos[r] as usize;
        if p > 0 {
            let q = self.order[p - 1] as usize;
            self.order.swap(p - 1, p);
            self.a.swap(p - 1, p);
            self.pos[r] = (p - 1) as u32;
            self.pos[q] = p as u32;
        }
        self.since_refresh += 1;
        if self.since_refresh >= REFRESH {
            self.resum();
        }
        Ok(())
    }

    fn hold_until(&mut self, t: f64) {
        self.t = t;
    }

    fn events(&self) -> u64 {
        self.events
    }
}
