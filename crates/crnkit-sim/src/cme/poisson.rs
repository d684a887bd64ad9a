//! Truncated Poisson weights for uniformization (Fox & Glynn 1988 style).

/// ln n! : exact summation below 20, Stirling's series with four correction terms above
/// (absolute error < 1e-15 for n ≥ 20).
pub fn ln_factorial(n: u64) -> f64 {
    if n < 20 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let x = n as f64;
    let x2 = x * x;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x2)
        + 1.0 / (1260.0 * x * x2 * x2)
        - 1.0 / (1680.0 * x * x2 * x2 * x2)
}

/// ln of the Poisson weight at the mode m = ⌊λ⌋, e^(−λ) λ^m / m!, written to avoid the
/// cancellation of large terms: m ln(λ/m) + (m − λ) − ½ ln(2πm) − (Stirling corrections).
fn ln_weight_at_mode(lambda: f64, m: u64) -> f64 {
    if m == 0 {
        return -lambda;
    }
    if m < 20 {
        return -lambda + m as f64 * lambda.ln() - ln_factorial(m);
    }
    let x = m as f64;
    let x2 = x * x;
    let corr = 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x2) + 1.0 / (1260.0 * x * x2 * x2)
        - 1.0 / (1680.0 * x * x2 * x2 * x2);
    x * ((lambda - x) / x).ln_1p() + (x - lambda)
        - 0.5 * (2.0 * std::f64::consts::PI * x).ln()
        - corr
}

/// The Poisson(λ) weights w_k = e^(−λ) λ^k / k! for k in `left..=right`, with the omitted
/// mass on both sides bounded by `omitted` ≤ the requested ε.
#[derive(Debug, Clone)]
pub(crate) struct PoissonWeights {
    /// First kept index L.
    pub left: usize,
    /// w_L, …, w_R.
    pub w: Vec<f64>,
    /// Upper bound of Σ_{k<L} w_k + Σ_{k>R} w_k.
    pub omitted: f64,
}

impl PoissonWeights {
    /// Last kept index R.
    pub fn right(&self) -> usize {
        self.left + self.w.len() - 1
    }

    /// Weights for rate λ ≥ 0 with omitted mass ≤ ε (ε > 0). The weights are absolute (not
    /// renormalised): a truncated sum Σ w_k P^k p is an elementwise under-estimate of
    /// exp(λ(P − I)) p when P ≥ 0.
    ///
    /// Tail bounds: for k > λ the ratio w_{k+1}/w_k = λ/(k+1) is decreasing, so
    /// Σ_{k>R} w_k ≤ w_{R+1} / (1 − λ/(R+2)); for k < λ, w_{k−1}/w_k = k/λ, so
    /// Σ_{k<L} w_k ≤ w_{L−1} / (1 − (L−1)/λ).
    pub fn new(lambda: f64, eps: f64) -> PoissonWeights {
        debug_assert!(lambda >= 0.0 && eps > 0.0);
        if lambda == 0.0 {
            return PoissonWeights {
                left: 0,
                w: vec![1.0],
                omitted: 0.0,
            };
        }
        let m = lambda.floor() as u64;
        let wm = ln_weight_at_mode(lambda, m).exp();
        let half = 0.5 * eps;
        // Right side.
        let mut right = vec![wm];
        let mut k = m;
        let right_tail;
        loop {
            let wk = *right.last().expect("non-empty");
            let next = wk * lambda / (k + 1) as f64;
            let ratio = lambda / (k + 2) as f64;
            if ratio < 1.0 {
                let bound = next / (1.0 - ratio);
                if bound <= half {
                    right_tail = bound;
                    break;
                }
            }
            right.push(next);
            k += 1;
        }
        // Left side.
        let mut left_w = Vec::new();
        let mut k = m;
        let mut wk = wm;
        let left_tail;
        loop {
            if k == 0 {
                left_tail = 0.0;
                break;
            }
            let prev = wk * k as f64 / lambda;
            let ratio = (k - 1) as f64 / lambda;
            let bound = prev / (1.0 - ratio);
            if bound <= half {
                left_tail = bound;
                break;
            }
            left_w.push(prev);
            wk = prev;
            k -= 1;
        }
        let left = k as usize;
        left_w.reverse();
        left_w.extend_from_slice(&right);
        PoissonWeights {
            left,
            w: left_w,
            omitted: left_tail + right_tail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_factorial_matches_sum() {
        let mut s = 0.0f64;
        for n in 1..200u64 {
            s += (n as f64).ln();
            let e = (ln_factorial(n) - s).abs();
            assert!(e < 1e-12 * s.max(1.0), "n = {n}: {e}");
        }
    }

    #[test]
    fn weights_sum_to_one_minus_omitted() {
        for &lambda in &[0.3, 1.0, 7.5, 30.0, 123.4, 5000.0, 2.0e5] {
            for &eps in &[1e-6, 1e-10, 1e-14] {
                let p = PoissonWeights::new(lambda, eps);
                let total: f64 = p.w.iter().sum();
                assert!(p.omitted <= eps, "λ={lambda} ε={eps}");
                // The kept mass plus the bound covers 1; and it is not larger than 1.
                assert!(
                    total + p.omitted >= 1.0 - 1e-13,
                    "λ={lambda} ε={eps}: {total}"
                );
                assert!(total <= 1.0 + 1e-13, "λ={lambda}: {total}");
                // Weights follow the pmf at a few points.
                let k = p.left + p.w.len() / 2;
                // The reference itself carries the rounding of its large cancelling terms.
                let (a, b, c) = (lambda, k as f64 * lambda.ln(), ln_factorial(k as u64));
                let exact = (-a + b - c).exp();
                let rel = 1e-12 + 4.0 * f64::EPSILON * (a + b + c);
                assert!((p.w[k - p.left] - exact).abs() <= rel * exact, "λ={lambda}");
            }
        }
    }
}
