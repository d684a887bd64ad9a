//! Exact stochastic simulation (the stochastic simulation algorithm family).
//!
//! Three exact simulators share the [`Simulator`] trait; all sample the same continuous-time
//! Markov chain (the chemical master equation's process), so they agree in distribution:
//!
//! * [`Direct`]: Gillespie's direct method (J. Phys. Chem. 81:2340, 1977,
//!   doi:10.1021/j100540a008) with a reaction dependency graph (only the propensities a
//!   firing can change are recomputed) and *sorting* search (McCollum et al., Comput. Biol.
//!   Chem. 30:39, 2006, doi:10.1016/j.compbiolchem.2005.10.007): a channel moves one place
//!   towards the front of the search order each time it fires, so frequent channels are found
//!   after a few comparisons. Best for small and medium networks.
//! * [`NextReaction`]: Gibson and Bruck's next reaction method (J. Phys. Chem. A 104:1876,
//!   2000, doi:10.1021/jp993732q): absolute tentative times in an indexed priority queue,
//!   reused after rescaling, one random number per event.
//! * [`Rejection`]: the rejection-based SSA with composition-rejection search, RSSA-CR
//!   (Thanh, Priami, Zunino, J. Chem. Phys. 141:134116, 2014, doi:10.1063/1.4896985; Thanh,
//!   Zunino, Priami, J. Chem. Phys. 146:084107, 2017, doi:10.1063/1.4976703): propensity
//!   bounds from a fluctuation interval of each species, updated only when a count leaves
//!   its interval; candidates drawn by composition-rejection over power-of-two groups of the
//!   upper bounds and accepted by thinning. Cost per event nearly independent of the network
//!   size: for networks of thousands of reactions.
//!
//! [`Method::Auto`] picks by size (see [`Method::resolve`]).
//!
//! Counts never go negative; a count leaving 0..=2^53 − 1 is [`Error::CountOutOfRange`] and an
//! infinite or NaN propensity is [`Error::PropensityOverflow`], never a silent wrap-around.

mod direct;
mod ensemble;
mod events;
mod heap;
mod kernel;
mod next_reaction;
mod recorder;
mod rejection;

pub use direct::Direct;
pub use ensemble::{EnsembleConfig, EnsembleResult};
pub use events::EventMemory;
pub use next_reaction::NextReaction;
pub use recorder::Moments;
pub use recorder::{EventLog, GridRecorder, Recorder, TimeGrid};
pub use rejection::{DEFAULT_DELTA, Rejection};

use std::fmt;
use std::str::FromStr;

use crnkit_core::error::{Error, Result};
use crnkit_core::network::{CompiledNetwork, MAX_COUNT};
use crnkit_core::rng::Rng;

/// Why [`Simulator::advance_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The requested time was reached.
    ReachedTime,
    /// No reaction can fire any more (every propensity is zero): the state is absorbing and
    /// stays as it is until the requested time.
    Absorbed,
}

/// A simulation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Choose by network size (see [`Method::resolve`]).
    #[default]
    Auto,
    /// Direct method with dependency graph and sorting search.
    Direct,
    /// Gibson–Bruck next reaction method.
    NextReaction,
    /// Rejection-based SSA with composition-rejection (RSSA-CR).
    Rejection,
}

/// Above this many channels [`Method::Auto`] uses RSSA-CR, below it the sorting direct
/// method. Measured crossover, see `docs/benchmarks.md`.
pub const AUTO_REJECTION_THRESHOLD: usize = 200;

impl Method {
    /// The concrete method: `Auto` becomes [`Method::Direct`] for networks with fewer than
    /// [`AUTO_REJECTION_THRESHOLD`] channels and [`Method::Rejection`] otherwise.
    pub fn resolve(self, net: &CompiledNetwork) -> Method {
        match self {
            Method::Auto if net.num_channels() < AUTO_REJECTION_THRESHOLD => Method::Direct,
            Method::Auto => Method::Rejection,
            m => m,
        }
    }

    /// All concrete methods.
    pub const ALL: [Method; 3] = [Method::Direct, Method::NextReaction, Method::Rejection];
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Auto => "auto",
            Method::Direct => "direct",
            Method::NextReaction => "next-reaction",
            Method::Rejection => "rejection",
        })
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method> {
        Ok(match s {
            "auto" => Method::Auto,
            "direct" => Method::Direct,
            "next-reaction" | "nrm" => Method::NextReaction,
            "rejection" | "rssa" | "rssa-cr" => Method::Rejection,
            other => {
                return Err(Error::InvalidSetting {
                    name: "method",
                    value: other.to_string(),
                    reason: "expected auto, direct, next-reaction or rejection",
                });
            }
        })
    }
}

/// An exact stochastic simulator of one trajectory.
///
/// The driver [`Simulator::advance_until`] asks for the next event with
/// [`Simulator::propose`] and applies it with [`Simulator::commit`] unless it lies past the
/// requested time; then [`Simulator::hold_until`] moves the clock (exact by the memoryless
/// property of the waiting time).
pub trait Simulator {
    /// Current time.
    fn time(&self) -> f64;
    /// Current state.
    fn state(&self) -> &[u64];
    /// Start again from `x0` at time `t0`.
    fn reset(&mut self, x0: &[u64], t0: f64) -> Result<()>;
    /// The next event (time, channel) without applying it; `None` when no channel can fire.
    /// A proposal later than `horizon` may carry a channel index that must not be committed.
    fn propose(&mut self, rng: &mut Rng, horizon: f64) -> Result<Option<(f64, usize)>>;
    /// Apply a proposed event.
    fn commit(&mut self, t: f64, channel: usize, rng: &mut Rng) -> Result<()>;
    /// Move the clock to `t` without an event (after a proposal past `t` was discarded).
    fn hold_until(&mut self, t: f64);
    /// Events fired since the last reset.
    fn events(&self) -> u64;
    /// The network simulated.
    fn network(&self) -> &CompiledNetwork;
    /// Continue from state `x` at time `t` (after an event of the network changed the
    /// state): every propensity is recomputed; the event counter and the trigger memory are
    /// kept.
    fn jump(&mut self, x: &[u64], t: f64) -> Result<()>;
    /// Evaluate the network's event triggers at the current state and time (only those that
    /// read the state when `after_reaction`) and fire the events whose trigger went from
    /// false to true (see [`EventMemory`]). True when the state changed.
    fn check_events(&mut self, after_reaction: bool) -> Result<bool>;

    /// Simulate until time `t_end`, giving the recorder its sample-and-hold samples (the
    /// state at a sample time is the state after the last event at or before it) and every
    /// event.
    fn advance_until<R: Recorder>(
        &mut self,
        t_end: f64,
        rng: &mut Rng,
        rec: &mut R,
    ) -> Result<StopReason>
    where
        Self: Sized,
    {
        drive(self, t_end, rng, rec)
    }
}

/// The generic event loop behind [`Simulator::advance_until`]: propose, sample the
/// recorder's grid up to the proposal (sample-and-hold), commit or stop.
pub(crate) fn drive<S: Simulator, R: Recorder>(
    sim: &mut S,
    t_end: f64,
    rng: &mut Rng,
    rec: &mut R,
) -> Result<StopReason> {
    if sim.network().has_events() {
        return events::drive_events(sim, t_end, rng, rec);
    }
    loop {
        let proposal = sim.propose(rng, t_end)?;
        let t_next = proposal.map_or(f64::INFINITY, |(t, _)| t);
        loop {
            let ts = rec.next_sample();
            if ts < t_next && ts <= t_end {
                rec.sample(sim.state());
            } else {
                break;
            }
        }
        match proposal {
            Some((t, r)) if t <= t_end => {
                sim.commit(t, r, rng)?;
                rec.event(t, r, sim.state());
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

/// An exponential waiting time with rate `a` (> 0).
#[inline]
pub(crate) fn exponential(rng: &mut Rng, a: f64) -> f64 {
    // Exp(1) by the ziggurat method (exact, and faster than -ln u).
    crnkit_core::rng::exp1(rng) / a
}

/// Check a freshly computed propensity.
#[inline]
pub(crate) fn checked(net: &CompiledNetwork, r: usize, a: f64) -> Result<f64> {
    if a.is_finite() {
        Ok(a)
    } else {
        Err(overflow(net, r, a))
    }
}

#[cold]
pub(crate) fn overflow(net: &CompiledNetwork, r: usize, a: f64) -> Error {
    if net.is_law(r) {
        return Error::InvalidPropensity {
            reaction: channel_name(net, r),
            value: a,
            state: "a state reached by the simulation (negative or undefined values read as NaN)"
                .into(),
        };
    }
    Error::PropensityOverflow {
        reaction: channel_name(net, r),
        value: a,
    }
}

pub(crate) fn channel_name(net: &CompiledNetwork, r: usize) -> String {
    let (rx, rev) = net.origin(r);
    format!("#{}{}", rx + 1, if rev { " (reverse)" } else { "" })
}

/// Apply channel `r`, turning a count out of range into an error.
#[inline]
pub(crate) fn apply(net: &CompiledNetwork, r: usize, x: &mut [u64]) -> Result<()> {
    net.apply(r, x).map_err(|e| Error::CountOutOfRange {
        species: net.species_names()[e.species].clone(),
        reaction: channel_name(net, r),
        limit: MAX_COUNT,
    })
}

/// Check a state before starting from it.
pub(crate) fn check_state(net: &CompiledNetwork, x0: &[u64]) -> Result<()> {
    if x0.len() != net.num_species() {
        return Err(Error::InvalidSetting {
            name: "initial state",
            value: format!("{} counts", x0.len()),
            reason: "one count per species is required",
        });
    }
    if let Some(i) = x0.iter().position(|&v| v > MAX_COUNT) {
        return Err(Error::InvalidCount {
            species: net.species_names()[i].clone(),
            value: x0[i].to_string(),
        });
    }
    Ok(())
}

/// A simulator of any method, for code that picks the method at run time.
pub enum AnySimulator<'a> {
    /// Direct method.
    Direct(Direct<'a>),
    /// Next reaction method.
    NextReaction(NextReaction<'a>),
    /// RSSA-CR.
    Rejection(Rejection<'a>),
}

impl<'a> AnySimulator<'a> {
    /// A simulator of `method` (resolved if `Auto`) starting from the network's initial state.
    pub fn new(net: &'a CompiledNetwork, method: Method) -> Result<AnySimulator<'a>> {
        Ok(match method.resolve(net) {
            Method::Direct | Method::Auto => AnySimulator::Direct(Direct::new(net)?),
            Method::NextReaction => AnySimulator::NextReaction(NextReaction::new(net)?),
            Method::Rejection => AnySimulator::Rejection(Rejection::new(net)?),
        })
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnySimulator::Direct($s) => $e,
            AnySimulator::NextReaction($s) => $e,
            AnySimulator::Rejection($s) => $e,
        }
    };
}

impl Simulator for AnySimulator<'_> {
    fn time(&self) -> f64 {
        dispatch!(self, s => s.time())
    }
    fn state(&self) -> &[u64] {
        dispatch!(self, s => s.state())
    }
    fn reset(&mut self, x0: &[u64], t0: f64) -> Result<()> {
        dispatch!(self, s => s.reset(x0, t0))
    }
    fn propose(&mut self, rng: &mut Rng, horizon: f64) -> Result<Option<(f64, usize)>> {
        dispatch!(self, s => s.propose(rng, horizon))
    }
    fn commit(&mut self, t: f64, channel: usize, rng: &mut Rng) -> Result<()> {
        dispatch!(self, s => s.commit(t, channel, rng))
    }
    fn hold_until(&mut self, t: f64) {
        dispatch!(self, s => s.hold_until(t))
    }
    fn events(&self) -> u64 {
        dispatch!(self, s => s.events())
    }
    fn network(&self) -> &CompiledNetwork {
        dispatch!(self, s => s.network())
    }
    fn jump(&mut self, x: &[u64], t: f64) -> Result<()> {
        dispatch!(self, s => s.jump(x, t))
    }
    fn check_events(&mut self, after_reaction: bool) -> Result<bool> {
        dispatch!(self, s => s.check_events(after_reaction))
    }
    fn advance_until<R: Recorder>(
        &mut self,
        t_end: f64,
        rng: &mut Rng,
        rec: &mut R,
    ) -> Result<StopReason> {
        // Dispatch once per call, so the event loop is monomorphised per method.
        dispatch!(self, s => s.advance_until(t_end, rng, rec))
    }
}
