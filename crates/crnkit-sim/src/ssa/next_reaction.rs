//! Gibson and Bruck's next reaction method.

use super::events::EventMemory;
use super::heap::IndexedHeap;
use super::{Simulator, apply, check_state, checked, exponential};
use crnkit_core::error::Result;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::rng::Rng;

/// The next reaction method: each channel holds an absolute tentative firing time in an
/// indexed priority queue. After a firing at time t, the fired channel draws a fresh time;
/// a dependent channel j whose propensity changed from a to a′ rescales its time,
/// t_j ← t + (a / a′)(t_j − t), reusing its random number.
#[derive(Debug, Clone)]
pub struct NextReaction<'a> {
    net: &'a CompiledNetwork,
    x: Vec<u64>,
    t: f64,
    a: Vec<f64>,
    heap: Option<IndexedHeap>,
    events: u64,
    ev: EventMemory,
}

impl<'a> NextReaction<'a> {
    /// A simulator at the network's initial state, time 0. Its tentative times are drawn
    /// at the first proposal.
    pub fn new(net: &'a CompiledNetwork) -> Result<NextReaction<'a>> {
        let mut s = NextReaction {
            net,
            x: net.initial_state().to_vec(),
            t: 0.0,
            a: vec![0.0; net.num_channels()],
            heap: None,
            events: 0,
            ev: EventMemory::default(),
        };
        if net.has_events() {
            s.reset(net.initial_state(), 0.0)?;
        } else {
            s.recompute()?;
        }
        Ok(s)
    }

    fn recompute(&mut self) -> Result<()> {
        for j in 0..self.a.len() {
            self.a[j] = checked(self.net, j, self.net.propensity(j, &self.x))?;
        }
        // Tentative times need random numbers: drawn lazily in `propose`.
        self.heap = None;
        Ok(())
    }

    fn draw_times(&mut self, rng: &mut Rng) {
        let keys: Vec<f64> = self
            .a
            .iter()
            .map(|&a| {
                if a > 0.0 {
                    self.t + exponential(rng, a)
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        self.heap = Some(IndexedHeap::new(keys));
    }
}

impl Simulator for NextReaction<'_> {
    fn time(&self) -> f64 {
        self.t
    }

    fn state(&self) -> &[u64] {
        &self.x
    }

    fn reset(&mut self, x0: &[u64], t0: f64) -> Result<()> {
        check_state(self.net, x0)?;
        let x0 = self.ev.start(self.net, x0, t0)?;
        self.x.copy_from_slice(&x0);
        self.t = t0;
        self.events = 0;
        self.recompute()
    }

    #[inline]
    fn propose(&mut self, rng: &mut Rng, _horizon: f64) -> Result<Option<(f64, usize)>> {
        if self.heap.is_none() {
            self.draw_times(rng);
        }
        Ok(match self.heap.as_ref().and_then(IndexedHeap::top) {
            Some((j, t)) if t.is_finite() => Some((t, j)),
            _ => None,
        })
    }

    #[inline]
    fn commit(&mut self, t: f64, r: usize, rng: &mut Rng) -> Result<()> {
        let net = self.net;
        apply(net, r, &mut self.x)?;
        self.t = t;
        self.events += 1;
        let Some(heap) = self.heap.as_mut() else {
            return Ok(());
        };
        for &j in net.dependents_of(r) {
            let j = j as usize;
            if j == r {
                continue;
            }
            let old = self.a[j];
            let new = net.propensity(j, &self.x);
            if !new.is_finite() {
                return checked(net, j, new).map(|_| ());
            }
            self.a[j] = new;
            let tj = heap.key(j);
            let key = if new > 0.0 {
                if old > 0.0 && tj.is_finite() {
                    t + (old / new) * (tj - t)
                } else {
                    t + exponential(rng, new)
                }
            } else {
                f64::INFINITY
            };
            heap.update(j, key);
        }
        let ar = checked(net, r, net.propensity(r, &self.x))?;
        self.a[r] = ar;
        let key = if ar > 0.0 {
            t + exponential(rng, ar)
        } else {
            f64::INFINITY
        };
        heap.update(r, key);
        Ok(())
    }

    fn hold_until(&mut self, t: f64) {
        // Absolute tentative times stay valid: waiting times are memoryless.
        self.t = t;
    }

    fn events(&self) -> u64 {
        self.events
    }

    fn network(&self) -> &CompiledNetwork {
        self.net
    }

    fn jump(&mut self, x: &[u64], t: f64) -> Result<()> {
        check_state(self.net, x)?;
        self.x.copy_from_slice(x);
        self.t = t;
        // Fresh tentative times from t (memoryless), drawn at the next proposal.
        self.recompute()
    }

    fn check_events(&mut self, after_reaction: bool) -> Result<bool> {
        match self.ev.check(self.net, &self.x, self.t, after_reaction)? {
            Some(x) => self.jump(&x, self.t).map(|()| true),
            None => Ok(false),
        }
    }
}
