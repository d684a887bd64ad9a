//! Structural analysis: stoichiometric matrix, rank, conservation laws, complexes, linkage
//! classes, deficiency and weak reversibility.
//!
//! Constant species are chemostats: their counts never change, so the analysis works on the
//! *effective* network in which their rows of the stoichiometric matrix are zero and they
//! are dropped from complexes (their concentration is folded into the rate constants).
//! For a network without constant species this is the network as written.
//!
//! * Stoichiometric matrix S (species × reactions), S_ir = ν'_ir − ν_ir; rank s = rank S
//!   (computed exactly over the integers).
//! * Conservation laws: a basis of {c : cᵀS = 0} over the non-constant species. Where the
//!   cone of non-negative conservation laws spans that space, the basis is made of its
//!   extreme rays (minimal semi-positive P-invariants, found by the Farkas / Fourier–Motzkin
//!   algorithm), so every law reads as a sum of counts.
//! * Deficiency δ = n − ℓ − s with n complexes and ℓ linkage classes (Feinberg, *Foundations
//!   of Chemical Reaction Network Theory*, 2019, doi:10.1007/978-3-030-03858-8). The network
//!   is weakly reversible when every linkage class is strongly connected.

use std::collections::HashMap;
use std::fmt;

use nalgebra::DMatrix;
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use petgraph::unionfind::UnionFind;

use super::balance::{self, DetailedBalance};
use super::linalg;
use super::{Network, Term};
use crate::error::Result;

/// A complex: a multiset of (non-constant) species, as (species index, coefficient) sorted
/// by species.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Complex(pub Vec<Term>);

impl Complex {
    /// Write the complex with species names, e.g. `A + 2 X` or `0`.
    pub fn display<'a>(&'a self, names: &'a [&'a str]) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Complex, &'a [&'a str]);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", super::write::side(&self.0.0, self.1))
            }
        }
        D(self, names)
    }
}

/// A basis of conservation laws.
#[derive(Debug, Clone, PartialEq)]
pub struct ConservationLaws {
    /// Integer vectors over *all* species (zero for constant species), each with cᵀS = 0.
    pub laws: Vec<Vec<i64>>,
    /// True when every law of the basis is non-negative.
    pub nonnegative: bool,
}

/// The result of [`Network::analyze`].
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Effective stoichiometric matrix (species × reactions; a reversible pair is one column
    /// in its forward direction; rows of constant species are zero).
    pub stoichiometry: DMatrix<f64>,
    /// Rank of the stoichiometric matrix.
    pub rank: usize,
    /// Conservation laws.
    pub conservation: ConservationLaws,
    /// Complexes of the effective network.
    pub complexes: Vec<Complex>,
    /// Reaction edges between complexes: (from, to) complex indices, one per channel.
    pub complex_edges: Vec<(usize, usize)>,
    /// Linkage classes (connected components of the complex graph), as complex indices.
    pub linkage_classes: Vec<Vec<usize>>,
    /// Number of strong linkage classes (strongly connected components).
    pub strong_linkage_classes: usize,
    /// Deficiency δ = n − ℓ − s.
    pub deficiency: i64,
    /// Every linkage class is strongly connected.
    pub weakly_reversible: bool,
    /// Detailed-balance test (Wegscheider conditions) and free energies.
    pub detailed_balance: DetailedBalance,
}

/// The reduced complex of `terms`: constant species dropped.
pub(crate) fn reduce_complex(net: &Network, terms: &[Term]) -> Complex {
    let constant: Vec<bool> = net.species().map(|s| s.constant).collect();
    Complex(
        terms
            .iter()
            .copied()
            .filter(|&(i, _)| !constant[i])
            .collect(),
    )
}

/// Effective stoichiometric matrix as integer rows (species × reactions).
pub(crate) fn integer_stoichiometry(net: &Network) -> Vec<Vec<i128>> {
    let n = net.num_species();
    let mut s = vec![vec![0i128; net.num_reactions()]; n];
    let constant: Vec<bool> = net.species().map(|s| s.constant).collect();
    #[allow(clippy::needless_range_loop)] // r indexes the network and the matrix
    for r in 0..net.num_reactions() {
        for (i, c) in net.reactants(r) {
            s[i][r] -= i128::from(c);
        }
        for (i, c) in net.products(r) {
            s[i][r] += i128::from(c);
        }
    }
    for (i, row) in s.iter_mut().enumerate() {
        if constant[i] {
            row.iter_mut().for_each(|x| *x = 0);
        }
    }
    s
}

/// Distinct non-zero columns of `s` up to sign, as rows (the rows of Sᵀ that matter).
fn unique_columns(s: &[Vec<i128>], ncols: usize) -> Vec<Vec<i128>> {
    let mut seen: Vec<Vec<i128>> = Vec::new();
    for r in 0..ncols {
        let mut col: Vec<i128> = s.iter().map(|row| row[r]).collect();
        let Some(first) = col.iter().find(|&&x| x != 0).copied() else {
            continue;
        };
        if first < 0 {
            col.iter_mut().for_each(|x| *x = -*x);
        }
        linalg::normalize(&mut col);
        if !seen.contains(&col) {
            seen.push(col);
        }
    }
    seen
}

/// Minimal semi-positive vectors y ≥ 0 with yᵀ S = 0 (extreme rays of the cone), by the
/// Farkas algorithm; `None` if the intermediate tableau grows beyond `limit` rows.
fn nonnegative_laws(cols: &[Vec<i128>], n: usize, limit: usize) -> Option<Vec<Vec<i128>>> {
    // Each row: (its products with the remaining columns, the combination y).
    let mut rows: Vec<(Vec<i128>, Vec<i128>)> = (0..n)
        .map(|i| {
            let mut y = vec![0i128; n];
            y[i] = 1;
            (cols.iter().map(|c| c[i]).collect(), y)
        })
        .collect();
    for j in 0..cols.len() {
        let mut next: Vec<(Vec<i128>, Vec<i128>)> = Vec::new();
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for row in rows {
            match row.0[j].signum() {
                0 => next.push(row),
                1 => pos.push(row),
                _ => neg.push(row),
            }
        }
        let zero_count = next.len();
        for p in &pos {
            for q in &neg {
                let (a, b) = (p.0[j], -q.0[j]);
                let g = linalg::gcd(a, b);
                let (fa, fb) = (b / g, a / g);
                let mut comb = Vec::with_capacity(p.0.len() + n);
                let mut ok = true;
                for (x, y) in p.0.iter().zip(&q.0).chain(p.1.iter().zip(&q.1)) {
                    match x
                        .checked_mul(fa)
                        .and_then(|u| y.checked_mul(fb).and_then(|v| u.checked_add(v)))
                    {
                        Some(v) => comb.push(v),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                let y = comb.split_off(p.0.len());
                let mut full = comb;
                full.extend_from_slice(&y);
                linalg::normalize(&mut full);
                let y = full.split_off(p.0.len());
                next.push((full, y));
            }
        }
        // Keep only rows of minimal support. Rows untouched by this column were extreme
        // before and stay extreme, so only the new combinations need the test.
        let old = zero_count;
        let support = |y: &[i128]| -> Vec<bool> { y.iter().map(|&v| v != 0).collect() };
        let supports: Vec<Vec<bool>> = next.iter().map(|r| support(&r.1)).collect();
        let mut keep = vec![true; next.len()];
        for a in old..next.len() {
            for b in 0..next.len() {
                if a == b || !keep[b] {
                    continue;
                }
                let sub = supports[b]
                    .iter()
                    .zip(&supports[a])
                    .all(|(&sb, &sa)| !sb || sa);
                let equal = supports[a] == supports[b];
                if sub && (!equal || b < a) {
                    keep[a] = false;
                    break;
                }
            }
        }
        rows = next
            .into_iter()
            .zip(keep)
            .filter_map(|(r, k)| k.then_some(r))
            .collect();
        if rows.len() > limit {
            return None;
        }
    }
    Some(rows.into_iter().map(|r| r.1).collect())
}

fn conservation(net: &Network, s: &[Vec<i128>]) -> Result<ConservationLaws> {
    let dynamic: Vec<usize> = net
        .species()
        .enumerate()
        .filter_map(|(i, sp)| (!sp.constant).then_some(i))
        .collect();
    let n = dynamic.len();
    let sub: Vec<Vec<i128>> = dynamic.iter().map(|&i| s[i].clone()).collect();
    let cols = unique_columns(&sub, net.num_reactions());
    let rank = linalg::rank(cols.clone(), n)?;
    let dim = n - rank;
    let mut chosen: Vec<Vec<i128>> = Vec::new();
    let mut nonnegative = true;
    if dim > 0 {
        if let Some(mut cands) = nonnegative_laws(&cols, n, 20_000) {
            cands.sort_by_key(|y| (y.iter().filter(|&&v| v != 0).count(), y.clone()));
            for c in cands {
                let mut trial = chosen.clone();
                trial.push(c.clone());
                if linalg::rank(trial, n)? > chosen.len() {
                    chosen.push(c);
                }
                if chosen.len() == dim {
                    break;
                }
            }
        }
        if chosen.len() < dim {
            nonnegative = false;
            for mut v in linalg::nullspace(cols, n)? {
                if v.iter().all(|&x| x <= 0) {
                    v.iter_mut().for_each(|x| *x = -*x);
                }
                let mut trial = chosen.clone();
                trial.push(v.clone());
                if linalg::rank(trial, n)? > chosen.len() {
                    chosen.push(v);
                }
                if chosen.len() == dim {
                    break;
                }
            }
        }
    }
    let laws = chosen
        .into_iter()
        .map(|v| {
            let mut full = vec![0i64; net.num_species()];
            for (k, &i) in dynamic.iter().enumerate() {
                full[i] = i64::try_from(v[k]).unwrap_or(i64::MAX);
            }
            full
        })
        .collect();
    Ok(ConservationLaws { laws, nonnegative })
}

impl Analysis {
    pub(crate) fn of(net: &Network) -> Result<Analysis> {
        let s = integer_stoichiometry(net);
        let nr = net.num_reactions();
        let ns = net.num_species();
        let rank = linalg::rank(unique_columns(&s, nr), ns)?;
        let stoichiometry = DMatrix::from_fn(ns, nr, |i, r| s[i][r] as f64);
        let conservation = conservation(net, &s)?;

        // Complex graph.
        let mut index: HashMap<Complex, usize> = HashMap::new();
        let mut complexes: Vec<Complex> = Vec::new();
        let mut intern = |c: Complex| -> usize {
            *index.entry(c.clone()).or_insert_with(|| {
                complexes.push(c);
                complexes.len() - 1
            })
        };
        let mut complex_edges = Vec::new();
        for (r, rx) in net.reactions().enumerate() {
            let a = intern(reduce_complex(net, &net.reactants(r)));
            let b = intern(reduce_complex(net, &net.products(r)));
            complex_edges.push((a, b));
            if rx.reverse.is_some() {
                complex_edges.push((b, a));
            }
        }
        let nc = complexes.len();
        let mut uf = UnionFind::<usize>::new(nc);
        let mut g: DiGraph<(), ()> = DiGraph::with_capacity(nc, complex_edges.len());
        let nodes: Vec<_> = (0..nc).map(|_| g.add_node(())).collect();
        for &(a, b) in &complex_edges {
            uf.union(a, b);
            g.add_edge(nodes[a], nodes[b], ());
        }
        let labels = uf.into_labeling();
        let mut classes: Vec<Vec<usize>> = Vec::new();
        let mut class_of: HashMap<usize, usize> = HashMap::new();
        for (c, &root) in labels.iter().enumerate() {
            let k = *class_of.entry(root).or_insert_with(|| {
                classes.push(Vec::new());
                classes.len() - 1
            });
            classes[k].push(c);
        }
        let strong = tarjan_scc(&g).len();
        let deficiency = nc as i64 - classes.len() as i64 - rank as i64;
        let weakly_reversible = strong == classes.len();
        let detailed_balance = balance::detailed_balance(net)?;
        Ok(Analysis {
            stoichiometry,
            rank,
            conservation,
            complexes,
            complex_edges,
            linkage_classes: classes,
            strong_linkage_classes: strong,
            deficiency,
            weakly_reversible,
            detailed_balance,
        })
    }
}

impl Network {
    /// The stoichiometric matrix as written (species × reactions, constant species
    /// included): S_ir = ν'_ir − ν_ir for the forward direction of each reaction.
    pub fn stoichiometric_matrix(&self) -> DMatrix<f64> {
        let mut s = DMatrix::zeros(self.num_species(), self.num_reactions());
        for r in 0..self.num_reactions() {
            for (i, c) in self.reactants(r) {
                s[(i, r)] -= f64::from(c);
            }
            for (i, c) in self.products(r) {
                s[(i, r)] += f64::from(c);
            }
        }
        s
    }
}
