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
    x: Vec<u64>,
    t: f64,
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
        let mut s = Direct {
            net,
            x: net.initial_state().to_vec(),
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
        for j in 0..self.a.len() {
            let v = checked(self.net, j, self.net.propensity(j, &self.x))?;
            self.a[j] = v;
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

    /// Current propensities.
    pub fn propensities(&self) -> &[f64] {
        &self.a
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
            for &j in &self.order {
                let aj = self.a[j as usize];
                acc += aj;
                if acc > target {
                    return Ok(Some((self.t + tau, j as usize)));
                }
            }
            // Round-off: the running total fell short of a₀. Re-sum and draw again.
            self.resum();
        }
    }

    #[inline]
    fn commit(&mut self, t: f64, r: usize, _rng: &mut Rng) -> Result<()> {
        let net = self.net;
        apply(net, r, &mut self.x)?;
        self.t = t;
        self.events += 1;
        let mut a0 = self.a0;
        for &j in net.dependents_of(r) {
            let j = j as usize;
            let v = net.propensity(j, &self.x);
            if !v.is_finite() {
                return checked(net, j, v).map(|_| ());
            }
            a0 += v - self.a[j];
            self.a[j] = v;
        }
        self.a0 = a0;
        // Sorting: the fired channel moves one place towards the front.
        let p = self.pos[r] as usize;
        if p > 0 {
            let q = self.order[p - 1] as usize;
            self.order.swap(p - 1, p);
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
