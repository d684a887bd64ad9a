//! Gillespie's direct method with a dependency graph and sorting search.

use rand::Rng as _;

use super::events::EventMemory;
use super::kernel::{Clock, Exit, Kernel, valid};
use super::{Recorder, Simulator, StopReason, apply, check_state, checked, exponential};
use crnkit_core::error::Result;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::rng::{ExpZiggurat, Rng};

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
    /// The compact kernel, for networks of order ≤ 2 changing ≤ 3 species per channel;
    /// then `a` is in the kernel's storage order and `xf` has n + 2 slots.
    kernel: Option<Box<Kernel>>,
    ev: EventMemory,
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
            // Two spare slots mirror the kernel's f64 layout (1.0 slot, dummy slot).
            x: net.initial_state().iter().copied().chain([1, 0]).collect(),
            xf,
            t: 0.0,
            a: vec![0.0; m],
            a0: 0.0,
            order: (0..m as u32).collect(),
            pos: (0..m as u32).collect(),
            since_refresh: 0,
            events: 0,
            kernel: Kernel::new(net).map(Box::new),
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
        if let Some(k) = &self.kernel {
            // Check every propensity (errors name the channel), then fill the kernel's view.
            for j in 0..self.net.num_channels() {
                checked(self.net, j, self.net.propensity(j, &self.x))?;
            }
            let n = self.net.num_species();
            self.a0 = k.init(&self.x[..n], &mut self.xf, &mut self.a);
            self.since_refresh = 0;
            return Ok(());
        }
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
        // (With the kernel, `a` ends in its sentinel slot.)
        self.a0 = self.a[..self.net.num_channels()].iter().sum();
        self.since_refresh = 0;
    }

    /// Current propensity of channel `j`.
    pub fn propensity(&self, j: usize) -> f64 {
        match &self.kernel {
            Some(k) => self.a[k.slot(j)],
            None => self.a[self.pos[j] as usize],
        }
    }

    /// The event loop with the compact kernel: the same draws in the same order as the
    /// generic driver (waiting time, then the uniform for the channel). The hot part is
    /// [`Kernel::run`], which fires events until the next one lies beyond the next sample
    /// time, the re-sum is due, or something rare happens; this loop does the rare work
    /// (samples, re-sums, re-sorts, errors) through the steps of [`Pass`]. The integer
    /// state is written from the `f64` state only when a recorder looks at it.
    fn advance_kernel<R: Recorder>(
        &mut self,
        t_end: f64,
        rng: &mut Rng,
        rec: &mut R,
    ) -> Result<StopReason> {
        let net = self.net;
        let n = net.num_species();
        let Direct {
            x,
            xf,
            t,
            a,
            a0,
            since_refresh,
            events,
            kernel,
            ..
        } = self;
        let Some(k) = kernel.as_mut() else {
            return Ok(StopReason::ReachedTime);
        };
        if !k.fits(xf, a) {
            return Err(inconsistent_buffers());
        }
        // Channels; `a` has one more slot, the kernel's search sentinel.
        let m = net.num_channels();
        let mut s = Pass {
            clock: Clock {
                now: *t,
                total: *a0,
                fired: 0,
            },
            fired: 0,
            since: *since_refresh,
            next_ts: rec.next_sample(),
            // Counts far below MAX_COUNT cannot reach it before the next re-sum (at most
            // REFRESH events away), so the per-event overflow test is needed only near it.
            safe: k.headroom(xf, REFRESH),
            pending: None,
            zig: crnkit_core::rng::exp_tables(),
        };
        let stop = loop {
            if !valid(s.clock.total) {
                s.new_block(k, xf, &a[..m]);
                if !s.clock.total.is_finite() {
                    // An overflowing propensity: report it by name. (The total is kept as it
                    // is, so that a later call starts by re-checking it.)
                    s.save(&mut x[..n], xf, a0, t, events);
                    self.recompute()?;
                    return Ok(StopReason::ReachedTime);
                }
                if s.clock.total <= 0.0 {
                    break StopReason::Absorbed;
                }
            }
            let drawn = s.draw(rng);
            s.sample_before(drawn.0, t_end, &mut x[..n], xf, rec);
            if drawn.0 > t_end {
                break StopReason::ReachedTime;
            }
            match s.run::<R>(k, xf, a, rng, drawn, t_end) {
                Exit::Time(t_next, target) => s.pending = Some((t_next, target)),
                Exit::Budget => {}
                Exit::Short => {
                    // Round-off: the running total fell short. Re-sum and draw again.
                    s.clock.total = a[..m].iter().sum();
                    continue;
                }
                Exit::Overflow(slot) => {
                    s.save(&mut x[..n], xf, a0, t, events);
                    let r = k.id(slot);
                    return apply(net, r, &mut x[..n].to_vec()).map(|_| StopReason::ReachedTime);
                }
                Exit::Fired(slot) => {
                    sync(&mut x[..n], xf);
                    rec.event(s.clock.now, k.id(slot), &x[..n]);
                    s.next_ts = rec.next_sample();
                }
                Exit::Layout => return Err(inconsistent_buffers()),
            }
            s.refresh(net, k, &mut x[..n], xf, a);
        };
        *events += s.fired;
        *since_refresh = s.since;
        sync(&mut x[..n], xf);
        while rec.next_sample() <= t_end {
            rec.sample(&x[..n]);
        }
        *a0 = s.clock.total;
        *t = t_end;
        Ok(stop)
    }

    /// `commit` with the compact kernel.
    #[inline(always)]
    fn commit_kernel(&mut self, t: f64, r: usize) -> Result<()> {
        let Some(k) = self.kernel.as_mut() else {
            return Ok(());
        };
        let slot = k.slot(r);
        if !k.fits(&self.xf, &self.a) {
            return self.recompute();
        }
        let n = self.net.num_species();
        // SAFETY: slot is a storage slot (< number of channels) and the layout was just
        // checked.
        match unsafe { k.fire_checked(slot, &mut self.xf, &mut self.a, self.a0) } {
            Ok(a0) => {
                self.a0 = a0;
                for (xi, &v) in self.x[..n].iter_mut().zip(&self.xf) {
                    *xi = v as i64 as u64;
                }
            }
            Err(()) => {
                // Report with names; the state is unchanged.
                let n = self.net.num_species();
                return apply(self.net, r, &mut self.x[..n].to_vec());
            }
        }
        self.t = t;
        self.events += 1;
        if !self.a0.is_finite() {
            return self.recompute();
        }
        if k.tick(self.net) {
            let n = self.net.num_species();
            self.a0 = k.init(&self.x[..n], &mut self.xf, &mut self.a);
            self.since_refresh = 0;
        }
        self.since_refresh += 1;
        if self.since_refresh >= REFRESH {
            self.resum();
        }
        Ok(())
    }
}

/// The error for kernel buffers that do not have the kernel's layout.
fn inconsistent_buffers() -> crnkit_core::error::Error {
    crnkit_core::error::Error::Unsupported {
        feature: "direct-method kernel with inconsistent buffers".into(),
    }
}

/// Write the integer state `x` (one count per species) from the `f64` state.
#[inline]
fn sync(x: &mut [u64], xf: &[f64]) {
    for (xi, &v) in x.iter_mut().zip(xf) {
        *xi = v as i64 as u64;
    }
}

/// The state of [`Direct::advance_kernel`] between calls of [`Kernel::run`].
struct Pass {
    clock: Clock,
    /// Events fired in this call.
    fired: u64,
    /// Events since the re-sort (one counter: re-sum every REFRESH, re-sort every RESORT).
    since: u32,
    /// The recorder's next sample time.
    next_ts: f64,
    /// [`Kernel::headroom`] for the current re-sum block: the overflow test may be skipped.
    safe: bool,
    /// An event drawn but not yet applied (its time lay beyond a sample time).
    pending: Option<(f64, f64)>,
    zig: &'static ExpZiggurat,
}

impl Pass {
    /// Re-sum an invalid total; a new re-sum block starts here: renew the headroom for it.
    fn new_block(&mut self, k: &Kernel, xf: &[f64], a: &[f64]) {
        self.clock.total = a.iter().sum();
        self.since = 0;
        self.safe = k.headroom(xf, REFRESH);
    }

    /// Write the state back before an early return (the integer state, total, time and
    /// event count).
    fn save(&self, x: &mut [u64], xf: &[f64], a0: &mut f64, t: &mut f64, events: &mut u64) {
        sync(x, xf);
        *a0 = self.clock.total;
        *t = self.clock.now;
        *events += self.fired;
    }

    /// The next event (time, target): the pending one, or a new draw (waiting time, then
    /// the uniform for the channel).
    #[inline]
    fn draw(&mut self, rng: &mut Rng) -> (f64, f64) {
        self.pending.take().unwrap_or_else(|| {
            let t_next =
                self.clock.now + crnkit_core::rng::exp1_with(rng, self.zig) / self.clock.total;
            (t_next, rng.random::<f64>() * self.clock.total)
        })
    }

    /// Record the samples due before `t_next` (and not after `t_end`).
    #[inline]
    fn sample_before<R: Recorder>(
        &mut self,
        t_next: f64,
        t_end: f64,
        x: &mut [u64],
        xf: &[f64],
        rec: &mut R,
    ) {
        if self.next_ts < t_next && self.next_ts <= t_end {
            sync(x, xf);
            while self.next_ts < t_next && self.next_ts <= t_end {
                rec.sample(x);
                self.next_ts = rec.next_sample();
            }
        }
    }

    /// Fire the events due before both the next sample time and `t_end`, and the re-sum,
    /// with one monomorphised loop per (overflow test, per-event exit, edge layout).
    #[inline]
    fn run<R: Recorder>(
        &mut self,
        k: &mut Kernel,
        xf: &mut [f64],
        a: &mut [f64],
        rng: &mut Rng,
        drawn: (f64, f64),
        t_end: f64,
    ) -> Exit {
        let limit = if self.next_ts <= t_end {
            self.next_ts
        } else {
            t_end
        };
        let budget = REFRESH - self.since % REFRESH;
        let (zig, clock) = (self.zig, &mut self.clock);
        macro_rules! run {
            ($check:literal, $each:literal, $inline:literal) => {
                k.run::<$check, $each, $inline>(xf, a, rng, zig, clock, drawn, limit, budget)
            };
        }
        let exit = match (R::EVENTS, self.safe, k.inline()) {
            (false, true, true) => run!(false, false, true),
            (false, true, false) => run!(false, false, false),
            (false, false, true) => run!(true, false, true),
            (false, false, false) => run!(true, false, false),
            (true, _, true) => run!(true, true, true),
            (true, _, false) => run!(true, true, false),
        };
        self.fired += u64::from(self.clock.fired);
        self.since += self.clock.fired;
        exit
    }

    /// One counter: re-sum every REFRESH events, re-sort every RESORT events.
    #[inline]
    fn refresh(
        &mut self,
        net: &CompiledNetwork,
        k: &mut Kernel,
        x: &mut [u64],
        xf: &mut Vec<f64>,
        a: &mut Vec<f64>,
    ) {
        if self.clock.fired > 0 && self.since.is_multiple_of(REFRESH) {
            self.clock.total = a[..net.num_channels()].iter().sum();
            self.safe = k.headroom(xf, REFRESH);
            if self.since >= super::kernel::RESORT {
                self.since = 0;
                if k.resort(net) {
                    sync(x, xf);
                    self.clock.total = k.init(x, xf, a);
                }
            }
        }
    }
}

impl Simulator for Direct<'_> {
    fn time(&self) -> f64 {
        self.t
    }

    fn state(&self) -> &[u64] {
        &self.x[..self.net.num_species()]
    }

    fn reset(&mut self, x0: &[u64], t0: f64) -> Result<()> {
        check_state(self.net, x0)?;
        let x0 = self.ev.start(self.net, x0, t0)?;
        let x0: &[u64] = &x0;
        self.x[..x0.len()].copy_from_slice(x0);
        for (f, &v) in self.xf.iter_mut().zip(x0) {
            *f = v as f64;
        }
        self.t = t0;
        self.events = 0;
        if let Some(k) = &mut self.kernel {
            k.reset_order(self.net);
        }
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
            let m = self.net.num_channels();
            for (k, &ak) in self.a[..m].iter().enumerate() {
                acc += ak;
                if acc > target {
                    let r = match &self.kernel {
                        Some(kernel) => kernel.id(k),
                        None => self.order[k] as usize,
                    };
                    return Ok(Some((self.t + tau, r)));
                }
            }
            // Round-off: the running total fell short of a₀. Re-sum and draw again.
            self.resum();
        }
    }

    #[inline]
    fn commit(&mut self, t: f64, r: usize, _rng: &mut Rng) -> Result<()> {
        if self.kernel.is_some() {
            return self.commit_kernel(t, r);
        }
        let net = self.net;
        let n = net.num_species();
        if net
            .apply_mirrored(r, &mut self.x[..n], &mut self.xf)
            .is_err()
        {
            // Report the error with its names (the state is unchanged).
            return apply(net, r, &mut self.x[..n].to_vec());
        }
        self.t = t;
        self.events += 1;
        let mut a0 = self.a0;
        let m = self.a.len();
        for &j in &self.deps[self.dep_offsets[r]..self.dep_offsets[r + 1]] {
            let j = j as usize;
            debug_assert!(j < m && self.xf.len() > net.num_species());
            // SAFETY: dependents are channel indices (< m, checked when the dependency
            // graph was built from the channels), `pos` and `a` have one entry per channel,
            // and `pos` is a permutation of 0..m; `xf` has a slot per species plus one.
            unsafe {
                let v = net.propensity_f64_unchecked(j, &self.xf, &self.x);
                let k = *self.pos.get_unchecked(j) as usize;
                let old = self.a.get_unchecked_mut(k);
                a0 += v - *old;
                *old = v;
            }
        }
        let _ = m;
        // An infinite or NaN propensity makes the sum non-finite: recompute to report it.
        if !a0.is_finite() {
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

    fn advance_until<R: Recorder>(
        &mut self,
        t_end: f64,
        rng: &mut Rng,
        rec: &mut R,
    ) -> Result<StopReason> {
        if self.kernel.is_some() {
            return self.advance_kernel(t_end, rng, rec);
        }
        // The generic driver, for networks the kernel cannot take.
        super::drive(self, t_end, rng, rec)
    }

    fn hold_until(&mut self, t: f64) {
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
        self.x[..x.len()].copy_from_slice(x);
        for (f, &v) in self.xf.iter_mut().zip(x) {
            *f = v as f64;
        }
        self.t = t;
        self.recompute()
    }

    fn check_events(&mut self, after_reaction: bool) -> Result<bool> {
        let n = self.net.num_species();
        match self
            .ev
            .check(self.net, &self.x[..n], self.t, after_reaction)?
        {
            Some(x) => self.jump(&x, self.t).map(|()| true),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssa::{GridRecorder, TimeGrid};
    use crnkit_core::rng::stream;

    /// Both dependency-edge layouts of the kernel (inline forms for small networks, indices
    /// for large ones) do the same arithmetic in the same order: the same trajectory bit
    /// for bit, on the Vilar oscillator through re-sums and re-sorts.
    #[test]
    fn both_edge_layouts_give_the_same_trajectory() {
        let net = crnkit_core::models::bundled("vilar").unwrap().compile();
        let grid = TimeGrid::new(20.0, 0.5).unwrap();
        let run = |inline: bool| {
            let mut sim = Direct::new(&net).unwrap();
            let k = sim.kernel.as_mut().expect("Vilar takes the kernel");
            assert!(k.inline(), "Vilar's edges are small enough to be inline");
            k.set_inline(&net, inline);
            sim.reset(net.initial_state(), 0.0).unwrap();
            let mut rec = GridRecorder::new(&grid);
            sim.advance_until(grid.end(), &mut stream(11, 0), &mut rec)
                .unwrap();
            (rec.states, sim.events())
        };
        let (a, ea) = run(true);
        let (b, eb) = run(false);
        assert!(ea > 2 * super::super::kernel::RESORT as u64, "{ea} events");
        assert_eq!(ea, eb);
        assert_eq!(a, b);
    }
}
