//! Events in the exact simulators.
//!
//! Between reactions the state is constant, so a trigger can change value only (a) after a
//! reaction, when it reads the state, or (b) at one of the instants where one of its clock
//! comparisons flips (`time >= t1` at t1). The driver [`drive_events`] therefore asks the
//! simulator for the next reaction with the next clock instant as horizon; if the reaction
//! falls after that instant, the clock is moved to it without a reaction — exact, because
//! the waiting time is memoryless and the propensities do not depend on time — and the
//! triggers are evaluated there. After every reaction the triggers that read the state are
//! evaluated. An event fires when its trigger goes from false to true; the assignment values
//! of all events firing together are computed from the state before any is applied, the
//! events are applied in declaration order, and the triggers are evaluated again (a cascade,
//! at most [`MAX_CASCADE`] rounds). After a firing the simulator restarts from the new state
//! ([`Simulator::jump`]): every propensity is recomputed, fresh waiting times are drawn.

use std::borrow::Cow;

use super::{Recorder, Simulator, StopReason};
use crnkit_core::error::{Error, Result};
use crnkit_core::network::{CompiledNetwork, MAX_CASCADE, MAX_COUNT};
use crnkit_core::rng::Rng;

/// The trigger values last seen, per event (kept by each simulator across
/// [`Simulator::advance_until`] calls, restarted by [`Simulator::reset`]).
#[derive(Debug, Clone, Default)]
pub struct EventMemory {
    prev: Vec<bool>,
    fire: Vec<usize>,
}

impl EventMemory {
    /// Start a trajectory at (x0, t0): each trigger's previous value is its initial value,
    /// then the triggers are evaluated at the start (events with initial value false whose
    /// trigger holds fire now). Returns the state to start from.
    pub(crate) fn start<'x>(
        &mut self,
        net: &CompiledNetwork,
        x0: &'x [u64],
        t0: f64,
    ) -> Result<Cow<'x, [u64]>> {
        let evs = &net.events().events;
        self.prev.clear();
        self.prev.extend(evs.iter().map(|e| e.initial_value));
        if evs.is_empty() {
            return Ok(Cow::Borrowed(x0));
        }
        Ok(match self.check(net, x0, t0, false)? {
            Some(x) => Cow::Owned(x),
            None => Cow::Borrowed(x0),
        })
    }

    /// Evaluate the triggers in state `x` at time `t` (only those that read the state when
    /// `after_reaction`) and fire the events whose trigger went from false to true,
    /// cascading. Returns the new state if any event fired.
    pub(crate) fn check(
        &mut self,
        net: &CompiledNetwork,
        x: &[u64],
        t: f64,
        after_reaction: bool,
    ) -> Result<Option<Vec<u64>>> {
        let evs = &net.events().events;
        if evs.is_empty() || (after_reaction && !net.events().any_state) {
            return Ok(None);
        }
        if self.prev.len() != evs.len() {
            self.prev = evs.iter().map(|e| e.initial_value).collect();
        }
        let mut state: Option<Vec<u64>> = None;
        for round in 0..=MAX_CASCADE {
            let cur: &[u64] = state.as_deref().unwrap_or(x);
            self.fire.clear();
            for (k, e) in evs.iter().enumerate() {
                if after_reaction && round == 0 && !e.reads_state {
                    continue;
                }
                let now = e.trigger.eval(cur, t);
                if now && !self.prev[k] {
                    self.fire.push(k);
                }
                self.prev[k] = now;
            }
            if self.fire.is_empty() {
                return Ok(state);
            }
            if round == MAX_CASCADE {
                return Err(Error::InvalidEvent {
                    event: evs[self.fire[0]].name.clone(),
                    reason: format!(
                        "more than {MAX_CASCADE} rounds of events at time {t} (a cascade that \
                         does not end)"
                    ),
                });
            }
            // All values from the state before this round's assignments.
            let mut values: Vec<(usize, u64)> = Vec::new();
            for &k in &self.fire {
                let e = &evs[k];
                for (i, code) in &e.assign {
                    let v = code.eval(cur, t);
                    values.push((*i as usize, count(net, &e.name, *i as usize, v)?));
                }
            }
            let next = state.get_or_insert_with(|| x.to_vec());
            for (i, v) in values {
                next[i] = v;
            }
        }
        Ok(state)
    }
}

/// A value assigned to a species: finite, ≥ 0, a whole number (within 1e-9 relative), at
/// most [`MAX_COUNT`].
fn count(net: &CompiledNetwork, event: &str, i: usize, v: f64) -> Result<u64> {
    let r = v.round();
    if v.is_finite() && r >= 0.0 && r <= MAX_COUNT as f64 && (v - r).abs() <= 1e-9 * r.max(1.0) {
        Ok(r as u64)
    } else {
        Err(Error::InvalidEvent {
            event: event.to_string(),
            reason: format!(
                "it sets `{}` to {v}, which is not a count (a whole number from 0 to {MAX_COUNT})",
                net.species_names()[i]
            ),
        })
    }
}

/// The event loop for networks with events (see the module documentation).
pub(crate) fn drive_events<S: Simulator, R: Recorder>(
    sim: &mut S,
    t_end: f64,
    rng: &mut Rng,
    rec: &mut R,
) -> Result<StopReason> {
    loop {
        let t_clock = sim.network().events().next_time_after(sim.time());
        let horizon = t_clock.min(t_end);
        let proposal = sim.propose(rng, horizon)?;
        let t_next = proposal.map_or(f64::INFINITY, |(t, _)| t);
        // Samples strictly before the next change (a reaction or a clock instant), so that
        // a sample at a clock instant sees the events fired there.
        loop {
            let ts = rec.next_sample();
            if ts < t_next && ts < t_clock && ts <= t_end {
                rec.sample(sim.state());
            } else {
                break;
            }
        }
        match proposal {
            Some((t, r)) if t <= t_end && t < t_clock => {
                sim.commit(t, r, rng)?;
                rec.event(t, r, sim.state());
                if sim.check_events(true)? {
                    rec.jump(t, sim.state());
                }
            }
            _ if t_clock <= t_end => {
                sim.hold_until(t_clock);
                if sim.check_events(false)? {
                    rec.jump(t_clock, sim.state());
                }
            }
            Some(_) => {
                sim.hold_until(t_end);
                return Ok(StopReason::ReachedTime);
            }
            None => {
                sim.hold_until(t_end);
                return Ok(StopReason::Absorbed);
            }
        }
    }
}
