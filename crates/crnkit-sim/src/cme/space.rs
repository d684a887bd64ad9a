//! Finite sets of states (count vectors) with a fast state ↔ index map.

use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

const EMPTY: u32 = u32::MAX;

/// A finite set of states of a network, stored flat (`num_species` counts per state, in
/// insertion order) with an open-addressing hash table from state to index.
///
/// Indices are stable: inserting never moves a state. Lookups hash the count vector
/// (FxHash-style multiply–rotate with a final avalanche) and probe linearly; the table is
/// kept at most half full.
#[derive(Debug, Clone)]
pub struct StateSpace {
    n: usize,
    states: Vec<u32>,
    table: Vec<u32>,
    mask: usize,
    count: usize,
}

#[inline]
fn hash(s: &[u32]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for &v in s {
        h = (h.rotate_left(5) ^ u64::from(v)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl StateSpace {
    /// An empty set of states with `num_species` counts each.
    pub fn new(num_species: usize) -> StateSpace {
        StateSpace {
            n: num_species,
            states: Vec::new(),
            table: vec![EMPTY; 16],
            mask: 15,
            count: 0,
        }
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts per state.
    pub fn num_species(&self) -> usize {
        self.n
    }

    /// The counts of state `i`.
    #[inline]
    pub fn state(&self, i: usize) -> &[u32] {
        &self.states[i * self.n..(i + 1) * self.n]
    }

    /// All states, flat: state i is `[i * num_species, (i + 1) * num_species)`.
    pub fn flat(&self) -> &[u32] {
        &self.states
    }

    /// Iterate over the states in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        (0..self.len()).map(move |i| self.state(i))
    }

    /// The index of state `x`, if it is in the set.
    #[inline]
    pub fn index_of(&self, x: &[u32]) -> Option<usize> {
        debug_assert_eq!(x.len(), self.n);
        let mut slot = (hash(x) as usize) & self.mask;
        loop {
            let e = self.table[slot];
            if e == EMPTY {
                return None;
            }
            if self.state(e as usize) == x {
                return Some(e as usize);
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// Insert `x`; returns its index and whether it was new. Fails past `u32::MAX − 1`
    /// states.
    pub fn insert(&mut self, x: &[u32]) -> Result<(usize, bool)> {
        debug_assert_eq!(x.len(), self.n);
        let mut slot = (hash(x) as usize) & self.mask;
        loop {
            let e = self.table[slot];
            if e == EMPTY {
                break;
            }
            if self.state(e as usize) == x {
                return Ok((e as usize, false));
            }
            slot = (slot + 1) & self.mask;
        }
        let idx = self.len();
        if idx >= (EMPTY - 1) as usize {
            return Err(Error::TooManyStates {
                limit: (EMPTY - 1) as usize,
                context: "state indices are 32-bit".into(),
            });
        }
        self.states.extend_from_slice(x);
        self.table[slot] = idx as u32;
        self.count += 1;
        if 2 * (idx + 1) > self.table.len() {
            self.grow();
        }
        Ok((idx, true))
    }

    fn grow(&mut self) {
        let cap = self.table.len() * 2;
        self.table = vec![EMPTY; cap];
        self.mask = cap - 1;
        for i in 0..self.len() {
            let mut slot = (hash(self.state(i)) as usize) & self.mask;
            while self.table[slot] != EMPTY {
                slot = (slot + 1) & self.mask;
            }
            self.table[slot] = i as u32;
        }
    }

    /// The states at `keep` (in that order) as a new set.
    pub fn subset(&self, keep: &[usize]) -> StateSpace {
        let mut out = StateSpace::new(self.n);
        out.states.reserve(keep.len() * self.n);
        for &i in keep {
            // Distinct states of a set stay distinct: insert cannot fail below u32::MAX.
            let _ = out.insert(self.state(i));
        }
        out
    }

    /// Largest count of each species over the set.
    pub fn max_counts(&self) -> Vec<u32> {
        let mut m = vec![0u32; self.n];
        for s in self.iter() {
            for (a, &b) in m.iter_mut().zip(s) {
                *a = (*a).max(b);
            }
        }
        m
    }
}

/// Convert a network state to the `u32` counts of a [`StateSpace`].
pub(crate) fn to_u32_state(net: &CompiledNetwork, x: &[u64]) -> Result<Vec<u32>> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v)
                .ok()
                .filter(|&v| v < u32::MAX)
                .ok_or_else(|| Error::InvalidCount {
                    species: net.species_names()[i].clone(),
                    value: format!("{v} (the CME solver holds counts below 2^32 − 1)"),
                })
        })
        .collect()
}

/// One reaction channel applied to a state in `u32` counts: the target, or `None` when a
/// count would leave `0..=bound` (or `u32` range).
#[inline]
pub(crate) fn step_state(
    net: &CompiledNetwork,
    r: usize,
    x: &[u32],
    bounds: &[u32],
    out: &mut [u32],
) -> Option<()> {
    step_within(net, r, x, out, |i| i64::from(bounds[i]))
}

/// [`step_state`] with no bounds but the `u32` range (`u32::MAX` itself is reserved).
#[inline]
pub(crate) fn step_unbounded(
    net: &CompiledNetwork,
    r: usize,
    x: &[u32],
    out: &mut [u32],
) -> Option<()> {
    step_within(net, r, x, out, |_| i64::from(u32::MAX) - 1)
}

#[inline]
fn step_within(
    net: &CompiledNetwork,
    r: usize,
    x: &[u32],
    out: &mut [u32],
    limit: impl Fn(usize) -> i64,
) -> Option<()> {
    out.copy_from_slice(x);
    let (sp, d) = net.changes_of(r);
    for (&i, &dv) in sp.iter().zip(d) {
        let i = i as usize;
        let v = i64::from(out[i]) + dv;
        if v < 0 || v > limit(i) {
            return None;
        }
        out[i] = v as u32;
    }
    Some(())
}

/// Propensity of channel `r` in a `u32` state (`buf` is scratch of the species length).
#[inline]
pub(crate) fn propensity_u32(net: &CompiledNetwork, r: usize, x: &[u32], buf: &mut [u64]) -> f64 {
    for (b, &v) in buf.iter_mut().zip(x) {
        *b = u64::from(v);
    }
    net.propensity(r, buf)
}

/// Per-species upper bounds as an array (`u32::MAX − 1` for "none").
pub(crate) fn bound_array(bounds: &[Option<u32>], n: usize) -> Vec<u32> {
    (0..n)
        .map(|i| bounds.get(i).copied().flatten().unwrap_or(u32::MAX - 1))
        .collect()
}

/// Breadth-first growth of `space`: starting from the states at `frontier`, add every state
/// reachable by one channel with positive propensity, within `bounds`, for `layers` layers
/// (or until no new state appears). Returns the number of states added.
///
/// Fails with [`Error::TooManyStates`] as soon as the set would exceed `max_states`.
pub(crate) fn grow_bfs(
    net: &CompiledNetwork,
    space: &mut StateSpace,
    frontier: Vec<usize>,
    bounds: &[u32],
    layers: usize,
    max_states: usize,
    context: &dyn Fn() -> String,
) -> Result<usize> {
    grow_bfs_capped(
        net,
        space,
        frontier,
        bounds,
        layers,
        usize::MAX,
        max_states,
        context,
    )
}

/// [`grow_bfs`] that stops after the first layer that brings the states added to `soft_cap`
/// or more.
#[allow(clippy::too_many_arguments)] // the BFS's inputs, each needed
pub(crate) fn grow_bfs_capped(
    net: &CompiledNetwork,
    space: &mut StateSpace,
    frontier: Vec<usize>,
    bounds: &[u32],
    layers: usize,
    soft_cap: usize,
    max_states: usize,
    context: &dyn Fn() -> String,
) -> Result<usize> {
    let n = space.num_species();
    let start = space.len();
    let mut x = vec![0u32; n];
    let mut y = vec![0u32; n];
    let mut buf = vec![0u64; n];
    let mut current = frontier;
    for _ in 0..layers {
        let mut next = Vec::new();
        for &i in &current {
            x.copy_from_slice(space.state(i));
            for r in 0..net.num_channels() {
                if step_state(net, r, &x, bounds, &mut y).is_none() || y == x {
                    continue;
                }
                if propensity_u32(net, r, &x, &mut buf) <= 0.0 {
                    continue;
                }
                if space.index_of(&y).is_some() {
                    continue;
                }
                if space.len() >= max_states {
                    return Err(Error::TooManyStates {
                        limit: max_states,
                        context: context(),
                    });
                }
                let (j, _) = space.insert(&y)?;
                next.push(j);
            }
        }
        if next.is_empty() || space.len() - start >= soft_cap {
            break;
        }
        current = next;
    }
    Ok(space.len() - start)
}

/// The CME solvers treat time-homogeneous chains: events (discontinuous changes of the state
/// at trigger instants) are refused by name. Propensity laws are fine.
pub(crate) fn refuse_events(net: &CompiledNetwork) -> Result<()> {
    if net.has_events() {
        return Err(crnkit_core::error::Error::Unsupported {
            feature: "the chemical master equation of a network with events (simulate it with \
                      the exact simulators)"
                .into(),
        });
    }
    Ok(())
}

/// The states reachable from `x0` (with positive propensities) within `bounds`, in
/// breadth-first order: the whole reachability class when it is finite. Fails with
/// [`Error::TooManyStates`] past `max_states`.
pub fn enumerate(
    net: &CompiledNetwork,
    x0: &[u64],
    bounds: &[Option<u32>],
    max_states: usize,
) -> Result<StateSpace> {
    refuse_events(net)?;
    let n = net.num_species();
    let x0 = to_u32_state(net, x0)?;
    let b = bound_array(bounds, n);
    for i in 0..n {
        if x0[i] > b[i] {
            return Err(Error::InvalidSetting {
                name: "bound",
                value: format!(
                    "{} = {} (initial count {})",
                    net.species_names()[i],
                    b[i],
                    x0[i]
                ),
                reason: "a bound must be at least the initial count",
            });
        }
    }
    let mut space = StateSpace::new(n);
    space.insert(&x0)?;
    grow_bfs(
        net,
        &mut space,
        vec![0],
        &b,
        usize::MAX,
        max_states,
        &|| "enumerating the reachable states".into(),
    )?;
    Ok(space)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crnkit_core::Network;

    #[test]
    fn insert_lookup_grow() {
        let mut s = StateSpace::new(2);
        for a in 0..100u32 {
            for b in 0..50u32 {
                let (i, new) = s.insert(&[a, b]).unwrap();
                assert!(new);
                assert_eq!(i, (a * 50 + b) as usize);
            }
        }
        assert_eq!(s.len(), 5000);
        assert_eq!(s.index_of(&[7, 3]), Some(353));
        assert_eq!(s.index_of(&[100, 0]), None);
        assert_eq!(s.insert(&[7, 3]).unwrap(), (353, false));
        let sub = s.subset(&[353, 0]);
        assert_eq!(sub.index_of(&[7, 3]), Some(0));
        assert_eq!(sub.max_counts(), vec![7, 3]);
    }

    #[test]
    fn conservation_class_is_enumerated() {
        let net = Network::from_crn_str("species: A = 3, B = 0\nA <-> B @ 1, 1\n", "t").unwrap();
        let c = net.compile();
        let s = enumerate(&c, c.initial_state(), &[], 100).unwrap();
        assert_eq!(s.len(), 4);
        let e = enumerate(&c, c.initial_state(), &[], 3).unwrap_err();
        assert!(matches!(e, Error::TooManyStates { limit: 3, .. }));
    }
}
