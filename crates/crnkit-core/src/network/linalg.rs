//! Exact sparse integer linear algebra for stoichiometric matrices: a reduced row echelon
//! form built one row at a time, rank and integer null-space bases. Entries are `i128` with
//! checked arithmetic, so a result is either exact or an [`Error::Overflow`].
//!
//! Rows are sparse (a reaction touches a handful of species), so the cost follows the
//! non-zeros rather than species × reactions: a 10⁵-reaction chain reduces in linear time
//! and memory. The pivots are canonical (each row's leftmost non-zero), so the echelon form
//! — and every basis derived from it — is the unique reduced form of the row space, scaled
//! to primitive integer rows with positive pivots, whatever the order the rows arrive in.
//! The total number of non-zeros is bounded by a budget: a matrix whose elimination fills
//! in beyond it gives [`Error::Unsupported`] naming the limit instead of exhausting memory.

use crate::error::{Error, Result};

/// A sparse integer vector: (index, value) pairs sorted by index, no zero values.
pub(crate) type SparseVec = Vec<(usize, i128)>;

pub(crate) fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    if let (Ok(x), Ok(y)) = (u64::try_from(a), u64::try_from(b)) {
        // Stoichiometric entries are small: 64-bit division is several times faster.
        let (mut x, mut y) = (x, y);
        while y != 0 {
            (x, y) = (y, x % y);
        }
        return i128::from(x);
    }
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i128
}

/// The net change `products − reactants` as a sparse vector, each term's index mapped by
/// `index` (terms it maps to `None` are left out); entries that cancel are dropped.
pub(crate) fn net_change(
    reactants: &[(usize, u32)],
    products: &[(usize, u32)],
    index: impl Fn(usize) -> Option<usize>,
) -> SparseVec {
    let mut col: Vec<(usize, i128)> = Vec::with_capacity(reactants.len() + products.len());
    let signed = reactants
        .iter()
        .map(|&(i, c)| (i, -i128::from(c)))
        .chain(products.iter().map(|&(i, c)| (i, i128::from(c))));
    for (i, x) in signed {
        if let Some(k) = index(i) {
            col.push((k, x));
        }
    }
    col.sort_unstable_by_key(|&(k, _)| k);
    let mut merged: SparseVec = Vec::with_capacity(col.len());
    for (k, x) in col {
        match merged.last_mut() {
            Some((j, y)) if *j == k => *y += x,
            _ => merged.push((k, x)),
        }
    }
    merged.retain(|&(_, x)| x != 0);
    merged
}

/// Divide a sparse vector by the gcd of its entries.
pub(crate) fn normalize_sparse(v: &mut SparseVec) {
    let g = v.iter().fold(0, |g, &(_, x)| gcd(g, x));
    if g > 1 {
        for (_, x) in v.iter_mut() {
            *x /= g;
        }
    }
}

fn overflow() -> Error {
    Error::Overflow("exact row reduction")
}

/// `a·fa − b·fb`, merged over the union of indices, zeros dropped.
pub(crate) fn combine(
    a: &[(usize, i128)],
    fa: i128,
    b: &[(usize, i128)],
    fb: i128,
) -> Result<SparseVec> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let (col, x) = match (a.get(i), b.get(j)) {
            (Some(&(ca, va)), Some(&(cb, vb))) if ca == cb => {
                i += 1;
                j += 1;
                let x = va.checked_mul(fa).ok_or_else(overflow)?;
                let y = vb.checked_mul(fb).ok_or_else(overflow)?;
                (ca, x.checked_sub(y).ok_or_else(overflow)?)
            }
            (Some(&(ca, va)), Some(&(cb, _))) if ca < cb => {
                i += 1;
                (ca, va.checked_mul(fa).ok_or_else(overflow)?)
            }
            (Some(&(ca, va)), None) => {
                i += 1;
                (ca, va.checked_mul(fa).ok_or_else(overflow)?)
            }
            (_, Some(&(cb, vb))) => {
                j += 1;
                (
                    cb,
                    vb.checked_mul(fb)
                        .ok_or_else(overflow)?
                        .checked_neg()
                        .ok_or_else(overflow)?,
                )
            }
            (None, None) => unreachable!("loop condition"),
        };
        if x != 0 {
            out.push((col, x));
        }
    }
    Ok(out)
}

/// The value of `v` at index `col` (0 when absent).
fn value_at(v: &[(usize, i128)], col: usize) -> i128 {
    v.binary_search_by_key(&col, |&(c, _)| c)
        .map_or(0, |k| v[k].1)
}

/// Eliminate column `col` of `target` with `pivot_row` (whose value there is `piv`).
fn eliminate(
    target: &[(usize, i128)],
    pivot_row: &[(usize, i128)],
    col: usize,
) -> Result<SparseVec> {
    let x = value_at(target, col);
    let piv = value_at(pivot_row, col);
    let g = gcd(piv, x);
    let mut out = combine(target, piv / g, pivot_row, x / g)?;
    normalize_sparse(&mut out);
    Ok(out)
}

/// A row echelon form over `ncols` columns, grown one row at a time: every row's leading
/// entry (its pivot) is in a column of its own. Forward elimination only, so inserting a
/// row costs its own fill-in; [`Echelon::nullspace`] back-substitutes once.
pub(crate) struct Echelon {
    ncols: usize,
    /// Rows, each with a positive leading entry.
    rows: Vec<SparseVec>,
    /// Per column: the row whose leading entry it holds.
    pivot_row: Vec<Option<usize>>,
    nnz: usize,
    budget: usize,
    what: &'static str,
    /// Arithmetic modulo this prime instead of exact integers (rank only).
    modulus: Option<i128>,
    /// Entries merged so far, and the most allowed.
    work: u64,
    work_limit: u64,
}

/// Entries an elimination may merge (about a second of work) before it is refused by name.
pub(crate) const WORK_LIMIT: u64 = 400_000_000;

/// The primes of [`Echelon::modular`]: 2⁶¹ − 1 and 2³¹ − 1.
pub(crate) const PRIMES: [i128; 2] = [(1 << 61) - 1, (1 << 31) - 1];

/// a^e mod p.
fn pow_mod(mut a: i128, mut e: i128, p: i128) -> i128 {
    let mut r = 1;
    a = a.rem_euclid(p);
    while e > 0 {
        if e & 1 == 1 {
            r = r * a % p;
        }
        a = a * a % p;
        e >>= 1;
    }
    r
}

impl Echelon {
    /// An empty echelon form over `ncols` columns holding at most `budget` non-zeros;
    /// `what` names the computation in the error when the budget is exceeded.
    pub(crate) fn new(ncols: usize, budget: usize, what: &'static str) -> Echelon {
        Echelon {
            ncols,
            rows: Vec::new(),
            pivot_row: vec![None; ncols],
            nnz: 0,
            budget,
            what,
            modulus: None,
            work: 0,
            work_limit: WORK_LIMIT,
        }
    }

    /// An echelon form over the integers modulo the prime `p` (< 2⁶²): entries never grow,
    /// so it cannot overflow. Its rank is at most the rank over the rationals, and equal
    /// unless `p` divides every maximal non-zero minor; the larger rank over two primes is
    /// the rank of any matrix whose exact elimination overflows in practice.
    pub(crate) fn modular(ncols: usize, budget: usize, what: &'static str, p: i128) -> Echelon {
        Echelon {
            modulus: Some(p),
            ..Echelon::new(ncols, budget, what)
        }
    }

    /// Eliminate column `col` of `v` with row `k` (modular or exact).
    fn eliminate_with(&mut self, v: &[(usize, i128)], k: usize, col: usize) -> Result<SparseVec> {
        let row = &self.rows[k];
        self.work += (v.len() + row.len()) as u64;
        if self.work > self.work_limit {
            return Err(self.over("exact elimination", self.work_limit, "steps"));
        }
        match self.modulus {
            None => eliminate(v, row, col),
            Some(p) => {
                // Rows have leading entry 1 modulo p.
                let x = value_at(v, col);
                let mut out = combine(v, 1, row, x)?;
                out.iter_mut().for_each(|(_, y)| *y = y.rem_euclid(p));
                out.retain(|&(_, y)| y != 0);
                Ok(out)
            }
        }
    }

    /// Rank of the rows inserted so far.
    pub(crate) fn rank(&self) -> usize {
        self.rows.len()
    }

    /// `v` reduced until its leading entry is in no pivot column (empty iff `v` lies in the
    /// row space).
    fn reduce(&mut self, mut v: SparseVec) -> Result<SparseVec> {
        while let Some(&(c, _)) = v.first() {
            let Some(k) = self.pivot_row[c] else { break };
            v = self.eliminate_with(&v, k, c)?;
        }
        Ok(v)
    }

    fn charge(&mut self, added: usize) -> Result<()> {
        self.nnz += added;
        if self.nnz > self.budget {
            return Err(self.over("exact elimination", self.budget as u64, "non-zeros"));
        }
        Ok(())
    }

    /// The error for `stage` needing more than `limit` `unit`.
    fn over(&self, stage: &str, limit: u64, unit: &str) -> Error {
        Error::Unsupported {
            feature: format!(
                "{}: {stage} on a {}-column matrix needs more than {limit} {unit}",
                self.what, self.ncols
            ),
        }
    }

    /// Insert a row; true when the rank grew.
    pub(crate) fn insert(&mut self, v: SparseVec) -> Result<bool> {
        let mut w = self.reduce(v)?;
        let Some(&(c, lead)) = w.first() else {
            return Ok(false);
        };
        if let Some(p) = self.modulus {
            let inv = pow_mod(lead, p - 2, p);
            w.iter_mut()
                .for_each(|(_, y)| *y = y.rem_euclid(p) * inv % p);
        } else {
            normalize_sparse(&mut w);
        }
        if lead < 0 && self.modulus.is_none() {
            for (_, x) in w.iter_mut() {
                *x = -*x;
            }
        }
        self.charge(w.len())?;
        self.pivot_row[c] = Some(self.rows.len());
        self.rows.push(w);
        Ok(true)
    }

    /// The reduced row echelon form: every pivot column zero outside its row, rows
    /// primitive with positive pivots (unique for the row space), by back substitution.
    fn reduced(&self) -> Result<Vec<SparseVec>> {
        if self.modulus.is_some() {
            return Err(Error::Unsupported {
                feature: format!("{}: a null space from modular arithmetic", self.what),
            });
        }
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_unstable_by_key(|&k| std::cmp::Reverse(self.rows[k][0].0));
        let mut out: Vec<SparseVec> = vec![Vec::new(); self.rows.len()];
        let mut nnz = 0u64;
        let mut work = self.work;
        for k in order {
            let mut row = self.rows[k].clone();
            let later: Vec<usize> = row[1..]
                .iter()
                .filter_map(|&(c, _)| self.pivot_row[c])
                .collect();
            // Rows with larger pivots are reduced already, so eliminating with them only
            // touches free columns: one pass suffices.
            for j in later {
                work += (row.len() + out[j].len()) as u64;
                if work > self.work_limit {
                    return Err(self.over("back substitution", self.work_limit, "steps"));
                }
                row = eliminate(&row, &out[j], out[j][0].0)?;
            }
            nnz += row.len() as u64;
            if nnz > self.budget as u64 {
                return Err(self.over("back substitution", self.budget as u64, "non-zeros"));
            }
            out[k] = row;
        }
        Ok(out)
    }

    /// An integer basis of the null space {x : R x = 0}, one vector per free column in
    /// increasing order, each divided by the gcd of its entries.
    pub(crate) fn nullspace(&self) -> Result<Vec<SparseVec>> {
        let rows = self.reduced()?;
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); self.ncols];
        for (k, row) in rows.iter().enumerate() {
            for &(c, _) in &row[1..] {
                holders[c].push(k);
            }
        }
        let mut basis = Vec::new();
        for f in (0..self.ncols).filter(|&c| self.pivot_row[c].is_none()) {
            // x_f = L, x_p = −R[k][f]·L / R[k][p] for each row k with R[k][f] ≠ 0.
            let mut l: i128 = 1;
            for &k in &holders[f] {
                let d = rows[k][0].1;
                l = (l / gcd(l, d)).checked_mul(d).ok_or_else(overflow)?;
            }
            let mut v: SparseVec = vec![(f, l)];
            for &k in &holders[f] {
                let (p, d) = rows[k][0];
                let x = value_at(&rows[k], f)
                    .checked_mul(l / d)
                    .ok_or_else(overflow)?;
                v.push((p, -x));
            }
            v.sort_unstable_by_key(|&(c, _)| c);
            normalize_sparse(&mut v);
            basis.push(v);
        }
        Ok(basis)
    }
}

/// Exact rank of `rows` over `ncols` columns.
#[cfg(test)]
fn rank(rows: &[SparseVec], ncols: usize) -> Result<usize> {
    let mut e = Echelon::new(ncols, usize::MAX, "rank");
    for r in rows {
        e.insert(r.clone())?;
    }
    Ok(e.rank())
}

/// A dense vector as a sparse one.
#[cfg(test)]
fn sparse(v: &[i128]) -> SparseVec {
    v.iter()
        .enumerate()
        .filter(|(_, x)| **x != 0)
        .map(|(i, &x)| (i, x))
        .collect()
}

/// A sparse vector as a dense one of length `n`.
pub(crate) fn dense(v: &[(usize, i128)], n: usize) -> Vec<i128> {
    let mut out = vec![0; n];
    for &(i, x) in v {
        out[i] = x;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(m: &[Vec<i128>]) -> Vec<SparseVec> {
        m.iter().map(|r| sparse(r)).collect()
    }

    fn nullspace(m: &[Vec<i128>], n: usize) -> Vec<Vec<i128>> {
        let mut e = Echelon::new(n, usize::MAX, "test");
        for r in rows(m) {
            e.insert(r).unwrap();
        }
        e.nullspace().unwrap().iter().map(|v| dense(v, n)).collect()
    }

    #[test]
    fn rank_and_nullspace() {
        // S for A <-> B <-> C <-> A (rows species, columns reactions).
        let s = vec![vec![-1, 0, 1], vec![1, -1, 0], vec![0, 1, -1]];
        assert_eq!(rank(&rows(&s), 3).unwrap(), 2);
        let ns = nullspace(&s, 3);
        assert_eq!(ns.len(), 1);
        for v in &ns {
            for row in &s {
                assert_eq!(row.iter().zip(v).map(|(a, b)| a * b).sum::<i128>(), 0);
            }
        }
        // Dimerisation 2P -> P2: one column (-2, 1); left null space (1, 2).
        let ns = nullspace(&[vec![-2, 1]], 2);
        assert_eq!(ns.len(), 1);
        assert_eq!(
            ns[0].iter().map(|x| x.abs()).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn the_echelon_form_does_not_depend_on_the_row_order() {
        let m = vec![
            vec![2, 4, 0, 6, 1],
            vec![0, 3, 3, 0, -2],
            vec![1, 0, -2, 3, 0],
            vec![3, 7, 1, 9, -1],
        ];
        let forward = nullspace(&m, 5);
        let mut rev = m.clone();
        rev.reverse();
        assert_eq!(forward, nullspace(&rev, 5));
        assert_eq!(rank(&rows(&m), 5).unwrap(), 3);
        for v in &forward {
            for row in &m {
                assert_eq!(row.iter().zip(v).map(|(a, b)| a * b).sum::<i128>(), 0);
            }
        }
    }

    #[test]
    fn a_long_chain_reduces_in_linear_memory() {
        let n = 100_000;
        let mut e = Echelon::new(n + 1, 10 * n, "chain");
        for i in 0..n {
            assert!(e.insert(vec![(i, -1), (i + 1, 1)]).unwrap());
        }
        assert_eq!(e.rank(), n);
        let ns = e.nullspace().unwrap();
        assert_eq!(ns.len(), 1);
        assert!(ns[0].iter().all(|&(_, x)| x == 1) && ns[0].len() == n + 1);
    }

    #[test]
    fn modular_rank_agrees_with_the_exact_rank() {
        let m = vec![
            vec![2, 4, 0, 6, 1],
            vec![0, 3, 3, 0, -2],
            vec![1, 0, -2, 3, 0],
            vec![3, 7, 1, 9, -1],
            vec![-5, 1, 0, 0, 7],
        ];
        for p in PRIMES {
            let mut e = Echelon::modular(5, usize::MAX, "test", p);
            for r in rows(&m) {
                e.insert(r).unwrap();
            }
            assert_eq!(e.rank(), rank(&rows(&m), 5).unwrap());
            assert!(e.nullspace().is_err());
        }
    }

    #[test]
    fn fill_beyond_the_budget_is_refused_by_name() {
        // A dense matrix fills in completely.
        let mut e = Echelon::new(8, 20, "test matrix");
        let mut err = None;
        for i in 0..8 {
            let row: Vec<i128> = (0..8).map(|j| ((i * 7 + j * 3) % 5 + 1) as i128).collect();
            if let Err(x) = e.insert(sparse(&row)) {
                err = Some(x);
                break;
            }
        }
        let msg = err.expect("budget exceeded").to_string();
        assert!(
            msg.contains("test matrix") && msg.contains("20 non-zeros"),
            "{msg}"
        );
    }
}
