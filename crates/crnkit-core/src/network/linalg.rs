//! Exact integer linear algebra for stoichiometric matrices: fraction-free row reduction,
//! rank and integer null-space bases. Entries are `i128` with checked arithmetic, so a
//! result is either exact or an [`Error::Overflow`].

use crate::error::{Error, Result};

pub(crate) fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i128
}

/// Divide a vector by the gcd of its entries (no-op for the zero vector).
pub(crate) fn normalize(v: &mut [i128]) {
    let g = v.iter().fold(0, |g, &x| gcd(g, x));
    if g > 1 {
        for x in v.iter_mut() {
            *x /= g;
        }
    }
}

fn mul(a: i128, b: i128) -> Result<i128> {
    a.checked_mul(b)
        .ok_or(Error::Overflow("exact row reduction"))
}

fn sub(a: i128, b: i128) -> Result<i128> {
    a.checked_sub(b)
        .ok_or(Error::Overflow("exact row reduction"))
}

/// Row-reduce `m` (rows of equal length `ncols`) so that every pivot column is zero outside
/// its pivot row. Returns the reduced rows (zero rows dropped) and the pivot columns.
pub(crate) fn reduce(mut m: Vec<Vec<i128>>, ncols: usize) -> Result<(Vec<Vec<i128>>, Vec<usize>)> {
    let mut pivots = Vec::new();
    let mut row = 0;
    for col in 0..ncols {
        if row == m.len() {
            break;
        }
        // Smallest non-zero pivot keeps entries small.
        let Some(p) = (row..m.len())
            .filter(|&r| m[r][col] != 0)
            .min_by_key(|&r| m[r][col].unsigned_abs())
        else {
            continue;
        };
        m.swap(row, p);
        let piv = m[row][col];
        for i in 0..m.len() {
            if i == row || m[i][col] == 0 {
                continue;
            }
            let b = m[i][col];
            let g = gcd(piv, b);
            let (fa, fb) = (piv / g, b / g);
            let prow = m[row].clone();
            for (x, &p) in m[i].iter_mut().zip(&prow) {
                *x = sub(mul(*x, fa)?, mul(p, fb)?)?;
            }
            normalize(&mut m[i]);
        }
        if m[row][col] < 0 {
            for x in m[row].iter_mut() {
                *x = -*x;
            }
        }
        pivots.push(col);
        row += 1;
    }
    m.truncate(row);
    Ok((m, pivots))
}

/// Exact rank.
pub(crate) fn rank(m: Vec<Vec<i128>>, ncols: usize) -> Result<usize> {
    Ok(reduce(m, ncols)?.1.len())
}

/// An integer basis of the null space {x : M x = 0} of `m` (rows of length `ncols`), one
/// vector per free column, each divided by the gcd of its entries.
pub(crate) fn nullspace(m: Vec<Vec<i128>>, ncols: usize) -> Result<Vec<Vec<i128>>> {
    let (r, pivots) = reduce(m, ncols)?;
    let mut basis = Vec::new();
    for f in (0..ncols).filter(|c| !pivots.contains(c)) {
        // x_f = L, x_p = -R[k][f] * L / R[k][p] for each pivot row k with R[k][f] != 0.
        let mut l: i128 = 1;
        for (k, &p) in pivots.iter().enumerate() {
            if r[k][f] != 0 {
                let d = r[k][p];
                l = mul(l / gcd(l, d), d.abs())?;
            }
        }
        let mut v = vec![0i128; ncols];
        v[f] = l;
        for (k, &p) in pivots.iter().enumerate() {
            if r[k][f] != 0 {
                v[p] = -mul(r[k][f], l / r[k][p])?;
            }
        }
        normalize(&mut v);
        basis.push(v);
    }
    Ok(basis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_and_nullspace() {
        // S for A <-> B <-> C <-> A (rows species, columns reactions).
        let s = vec![vec![-1, 0, 1], vec![1, -1, 0], vec![0, 1, -1]];
        assert_eq!(rank(s.clone(), 3).unwrap(), 2);
        let ns = nullspace(s.clone(), 3).unwrap();
        assert_eq!(ns.len(), 1);
        for v in &ns {
            for row in &s {
                assert_eq!(row.iter().zip(v).map(|(a, b)| a * b).sum::<i128>(), 0);
            }
        }
        // Dimerisation 2P -> P2: one column (-2, 1); left null space (1, 2).
        let st = vec![vec![-2, 1]];
        let ns = nullspace(st, 2).unwrap();
        assert_eq!(ns.len(), 1);
        assert_eq!(
            ns[0].iter().map(|x| x.abs()).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
