//! The sparse CME generator on a finite state projection.

use rayon::prelude::*;

use super::space::{StateSpace, propensity_u32, step_state};
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

/// Rows per block of the generator: blocks are built and multiplied in parallel.
pub(crate) const BLOCK_ROWS: usize = 4096;

/// One block of consecutive rows in CSR form with block-local row offsets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Block {
    pub row_ptr: Vec<u32>,
    pub cols: Vec<u32>,
    pub vals: Vec<f64>,
}

/// The CME generator A restricted to a projection X_J, dp/dt = A p:
/// A_{yx} = Σ_{r : x + S_r = y} a_r(x) for x ≠ y in X_J and A_{xx} = −Σ_r a_r(x) over every
/// channel that changes the state, including those that leave X_J.
///
/// Columns of A sum to −(rate of leaving X_J) ≤ 0: probability that leaves the projection
/// is lost, which is what makes the finite state projection a certified under-estimate
/// (Munsky & Khammash 2006). The rate of leaving from each state is kept in
/// [`Generator::exit_rates`].
///
/// Storage: rows in blocks of 4096, each block CSR with `u32` columns and `f64` values,
/// built in parallel (each row *pulls* its incoming transitions, so no two threads write
/// the same row) without ever holding a second copy of the matrix.
#[derive(Debug, Clone)]
pub struct Generator {
    n: usize,
    pub(crate) blocks: Vec<Block>,
    exit: Vec<f64>,
    max_rate: f64,
}

impl Generator {
    /// Build the generator of `net` on `space`. Propensities must be finite.
    pub fn build(net: &CompiledNetwork, space: &StateSpace) -> Result<Generator> {
        Self::build_bounded(net, space, &vec![u32::MAX - 1; net.num_species()])
    }

    pub(crate) fn build_bounded(
        net: &CompiledNetwork,
        space: &StateSpace,
        bounds: &[u32],
    ) -> Result<Generator> {
        super::space::refuse_events(net)?;
        let n = space.len();
        let moving: Vec<usize> = (0..net.num_channels())
            .filter(|&r| net.changes_of(r).1.iter().any(|&d| d != 0))
            .collect();
        let rows = Rows {
            net,
            space,
            bounds,
            moving: &moving,
        };
        let nblocks = n.div_ceil(BLOCK_ROWS);
        let built: Vec<Result<(Block, Vec<f64>, f64)>> = (0..nblocks)
            .into_par_iter()
            .map(|b| {
                let lo = b * BLOCK_ROWS;
                rows.block(lo, (lo + BLOCK_ROWS).min(n))
            })
            .collect();
        let mut blocks = Vec::with_capacity(nblocks);
        let mut exit = Vec::with_capacity(n);
        let mut max_rate = 0.0f64;
        for b in built {
            let (block, e, m) = b?;
            blocks.push(block);
            exit.extend_from_slice(&e);
            max_rate = max_rate.max(m);
        }
        Ok(Generator {
            n,
            blocks,
            exit,
            max_rate,
        })
    }

    /// Number of states (rows and columns).
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Number of stored entries (diagonal included).
    pub fn nnz(&self) -> usize {
        self.blocks.iter().map(|b| b.cols.len()).sum()
    }

    /// Bytes held by the matrix (row offsets, columns, values).
    pub fn bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.row_ptr.len() * 4 + b.cols.len() * 4 + b.vals.len() * 8)
            .sum()
    }

    /// Rate of leaving the projection from each state: Σ_r a_r(x) over the channels whose
    /// target lies outside it.
    pub fn exit_rates(&self) -> &[f64] {
        &self.exit
    }

    /// The largest total exit rate max_x |A_xx|: the uniformization rate.
    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }

    /// Entries of row `y` as (column, value) pairs.
    pub fn row(&self, y: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let b = &self.blocks[y / BLOCK_ROWS];
        let r = y % BLOCK_ROWS;
        let (lo, hi) = (b.row_ptr[r] as usize, b.row_ptr[r + 1] as usize);
        b.cols[lo..hi]
            .iter()
            .zip(&b.vals[lo..hi])
            .map(|(&c, &v)| (c as usize, v))
    }

    /// out = A v (parallel over row blocks; every row is summed in a fixed order, so the
    /// result does not depend on the thread count).
    pub fn mul_vec(&self, v: &[f64], out: &mut [f64]) {
        assert_eq!(v.len(), self.n);
        assert_eq!(out.len(), self.n);
        out.par_chunks_mut(BLOCK_ROWS)
            .zip(self.blocks.par_iter())
            .for_each(|(o, b)| {
                for (r, oy) in o.iter_mut().enumerate() {
                    let (lo, hi) = (b.row_ptr[r] as usize, b.row_ptr[r + 1] as usize);
                    let mut s = 0.0;
                    for k in lo..hi {
                        s += b.vals[k] * v[b.cols[k] as usize];
                    }
                    *oy = s;
                }
            });
    }

    /// The matrix in global CSR form (row offsets, columns, values), e.g. for export or a
    /// sparse factorisation.
    pub fn to_csr(&self) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
        let mut ptr = Vec::with_capacity(self.n + 1);
        let mut cols = Vec::with_capacity(self.nnz());
        let mut vals = Vec::with_capacity(self.nnz());
        ptr.push(0);
        for b in &self.blocks {
            for r in 0..b.row_ptr.len() - 1 {
                let (lo, hi) = (b.row_ptr[r] as usize, b.row_ptr[r + 1] as usize);
                cols.extend_from_slice(&b.cols[lo..hi]);
                vals.extend_from_slice(&b.vals[lo..hi]);
                ptr.push(cols.len());
            }
        }
        (ptr, cols, vals)
    }
}

/// What every row of the generator reads: the network, the projection, its bounds and the
/// channels that change the state.
struct Rows<'a> {
    net: &'a CompiledNetwork,
    space: &'a StateSpace,
    bounds: &'a [u32],
    moving: &'a [usize],
}

/// Scratch space for the rows of one block.
struct Scratch {
    /// The row's entries (column, value) before sorting and merging.
    row: Vec<(u32, f64)>,
    /// A neighbouring state.
    x: Vec<u32>,
    /// A state as `u64` counts, for the propensities.
    buf: Vec<u64>,
}

impl Rows<'_> {
    /// Rows `lo..hi` as one block, with their rates of leaving the projection and their
    /// largest total exit rate. Each row *pulls* its incoming transitions.
    fn block(&self, lo: usize, hi: usize) -> Result<(Block, Vec<f64>, f64)> {
        let ns = self.net.num_species();
        let mut block = Block {
            row_ptr: Vec::with_capacity(hi - lo + 1),
            cols: Vec::new(),
            vals: Vec::new(),
        };
        block.row_ptr.push(0);
        let mut exit = Vec::with_capacity(hi - lo);
        let mut max_rate = 0.0f64;
        let mut s = Scratch {
            row: Vec::with_capacity(2 * self.moving.len() + 1),
            x: vec![0u32; ns],
            buf: vec![0u64; ns],
        };
        for yi in lo..hi {
            let y = self.space.state(yi);
            s.row.clear();
            let (out_rate, leave) = self.transitions(y, &mut s)?;
            s.row.push((yi as u32, -out_rate));
            push_row(&mut block, &mut s.row);
            exit.push(leave);
            max_rate = max_rate.max(out_rate);
        }
        block.cols.shrink_to_fit();
        block.vals.shrink_to_fit();
        Ok((block, exit, max_rate))
    }

    /// The incoming transitions of state `y` into `s.row`; returns its total exit rate and
    /// its rate of leaving the projection.
    #[inline]
    fn transitions(&self, y: &[u32], s: &mut Scratch) -> Result<(f64, f64)> {
        let mut out_rate = 0.0;
        let mut leave = 0.0;
        for &r in self.moving {
            // Outgoing: a_r(y), to y + S_r.
            let a = propensity_u32(self.net, r, y, &mut s.buf);
            if !a.is_finite() {
                return Err(overflow(self.net, r, a));
            }
            if a > 0.0 {
                out_rate += a;
                let inside = step_state(self.net, r, y, self.bounds, &mut s.x).is_some()
                    && self.space.index_of(&s.x).is_some();
                if !inside {
                    leave += a;
                }
            }
            if let Some(entry) = self.incoming(r, y, s) {
                s.row.push(entry);
            }
        }
        Ok((out_rate, leave))
    }

    /// The transition into `y` by channel `r`, from x = y − S_r, when x is a state of the
    /// projection and a_r(x) > 0: (index of x, a_r(x)).
    #[inline]
    fn incoming(&self, r: usize, y: &[u32], s: &mut Scratch) -> Option<(u32, f64)> {
        let (sp, d) = self.net.changes_of(r);
        let x = &mut s.x;
        x.copy_from_slice(y);
        for (&i, &dv) in sp.iter().zip(d) {
            let v = i64::from(x[i as usize]) - dv;
            if v < 0 || v >= i64::from(u32::MAX) {
                return None;
            }
            x[i as usize] = v as u32;
        }
        let xi = self.space.index_of(x)?;
        let a = propensity_u32(self.net, r, x, &mut s.buf);
        (a > 0.0 && a.is_finite()).then_some((xi as u32, a))
    }
}

/// Append a row to `block` in column order, summing the entries of one column.
#[inline]
fn push_row(block: &mut Block, row: &mut [(u32, f64)]) {
    row.sort_unstable_by_key(|e| e.0);
    let mut last = u32::MAX;
    for &(c, v) in row.iter() {
        if c == last {
            *block.vals.last_mut().expect("merged entry") += v;
        } else {
            block.cols.push(c);
            block.vals.push(v);
            last = c;
        }
    }
    block.row_ptr.push(block.cols.len() as u32);
}

/// The error for a propensity of channel `r` that is not finite.
#[cold]
fn overflow(net: &CompiledNetwork, r: usize, a: f64) -> Error {
    let (rx, rev) = net.origin(r);
    Error::PropensityOverflow {
        reaction: format!("#{}{}", rx + 1, if rev { " (reverse)" } else { "" }),
        value: a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cme::space::enumerate;
    use crnkit_core::Network;

    #[test]
    fn columns_sum_to_minus_exit_rate() {
        let net = Network::from_crn_str(
            "species: X = 0\nbirth: 0 -> X @ 2\ndeath: X -> 0 @ 0.5\n",
            "t",
        )
        .unwrap();
        let c = net.compile();
        let space = enumerate(&c, c.initial_state(), &[Some(5)], 100).unwrap();
        let g = Generator::build(&c, &space).unwrap();
        assert_eq!(g.dim(), 6);
        let mut colsum = [0.0; 6];
        for y in 0..6 {
            for (x, v) in g.row(y) {
                colsum[x] += v;
            }
        }
        for (x, c) in colsum.iter().enumerate() {
            assert!((c + g.exit_rates()[x]).abs() < 1e-12, "{x}");
        }
        // Only the top state leaks (by birth, rate 2).
        let top = space.index_of(&[5]).unwrap();
        assert_eq!(g.exit_rates()[top], 2.0);
        assert_eq!(g.max_rate(), 2.0 + 2.5);
        let v: Vec<f64> = (0..6).map(|i| i as f64).collect();
        let mut out = vec![0.0; 6];
        g.mul_vec(&v, &mut out);
        let (ptr, cols, vals) = g.to_csr();
        for y in 0..6 {
            let s: f64 = (ptr[y]..ptr[y + 1])
                .map(|k| vals[k] * v[cols[k] as usize])
                .sum();
            assert_eq!(s, out[y]);
        }
    }
}
