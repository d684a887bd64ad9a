//! Statistics helpers for the validation tests: normal and chi-square quantiles, and
//! thresholds derived from the sample size with a Bonferroni correction.

/// Complementary error function (W. J. Cody's rational approximations via the
/// Numerical Recipes `erfcc` form; relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Upper tail of the standard normal, P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// z such that P(|Z| > z) = p (two-sided), by bisection.
pub fn two_sided_z(p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 2.0 * normal_sf(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Critical |z| for `m` two-sided tests with family-wise error `alpha` (Bonferroni).
pub fn bonferroni_z(alpha: f64, m: usize) -> f64 {
    two_sided_z(alpha / m.max(1) as f64)
}

/// Upper quantile of chi-square with `df` degrees of freedom at tail probability `p`
/// (Wilson–Hilferty; accurate to a few parts in a thousand for df ≥ 3).
pub fn chi2_quantile(df: f64, p: f64) -> f64 {
    let z = two_sided_z(2.0 * p);
    let a = 2.0 / (9.0 * df);
    df * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Pearson chi-square of `observed` counts against probabilities `expected` (summing to 1
/// over the listed states), pooling states whose expected count is below 5 into one bin.
/// Returns (statistic, degrees of freedom).
pub fn chi_square(observed: &[u64], expected: &[f64], n: u64) -> (f64, f64) {
    let n = n as f64;
    let (mut stat, mut bins) = (0.0, 0usize);
    let (mut pool_o, mut pool_e) = (0.0, 0.0);
    for (&o, &p) in observed.iter().zip(expected) {
        let e = p * n;
        if e < 5.0 {
            pool_o += o as f64;
            pool_e += e;
        } else {
            stat += (o as f64 - e).powi(2) / e;
            bins += 1;
        }
    }
    if pool_e > 0.0 {
        stat += (pool_o - pool_e).powi(2) / pool_e.max(1e-300);
        bins += 1;
    }
    (stat, bins.saturating_sub(1) as f64)
}

/// Two-sample Kolmogorov–Smirnov distance of two integer samples.
pub fn ks_distance(a: &[u64], b: &[u64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let v = a[i].min(b[j]);
        while i < a.len() && a[i] == v {
            i += 1;
        }
        while j < b.len() && b[j] == v {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// KS critical distance for samples of sizes n and m at level `alpha` (asymptotic; for
/// discrete data the test is conservative).
pub fn ks_critical(n: usize, m: usize, alpha: f64) -> f64 {
    let c = (-(alpha / 2.0).ln() / 2.0).sqrt();
    c * ((n + m) as f64 / (n as f64 * m as f64)).sqrt()
}

#[test]
fn quantiles() {
    assert!((two_sided_z(0.05) - 1.959964).abs() < 1e-4);
    assert!((two_sided_z(0.0027) - 3.0).abs() < 1e-3);
    // chi-square(10) upper 1% point is 23.209.
    assert!((chi2_quantile(10.0, 0.01) - 23.209).abs() < 0.1);
    assert_eq!(ks_distance(&[1, 2, 3], &[1, 2, 3]), 0.0);
    assert!((ks_distance(&[0, 0], &[1, 1]) - 1.0).abs() < 1e-12);
}
