//! Random numbers: one generator type and reproducible stream splitting.
//!
//! Every random draw in crnkit comes from [`Rng`] (xoshiro256++). An ensemble derives the
//! stream of item `i` from one master seed with [`stream`], never from a shared generator,
//! so item `i` gives the same numbers whether it runs first or last, on one thread or many,
//! here or in a shard elsewhere.

use rand::SeedableRng;
pub use rand_xoshiro::Xoshiro256PlusPlus as Rng;

/// The generator for item `index` of a run seeded with `seed`.
///
/// The 256-bit state is filled by SplitMix64 from a hash of (seed, index), so distinct
/// indices give unrelated streams and the map is a pure function of its inputs.
pub fn stream(seed: u64, index: u64) -> Rng {
    // Mix the pair with two rounds of the SplitMix64 finaliser before seeding.
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let key = mix(seed ^ mix(index.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    Rng::seed_from_u64(key)
}

/// The tables of Marsaglia and Tsang's exponential ziggurat (256 layers of equal area
/// v, rightmost layer at r), built once by the recurrence x_i = −ln(v / x_{i−1} + e^(−x_{i−1})).
pub struct ExpZiggurat {
    x: [f64; 257],
    f: [f64; 257],
}

const ZIG_EXP_R: f64 = 7.697_117_470_131_05;
// Marsaglia and Tsang's published constant, kept as printed.
#[allow(clippy::excessive_precision)]
const ZIG_EXP_V: f64 = 0.003_949_659_822_581_557_2;

static EXP_ZIGGURAT: std::sync::OnceLock<ExpZiggurat> = std::sync::OnceLock::new();

/// The ziggurat tables, built on first use.
pub fn exp_tables() -> &'static ExpZiggurat {
    EXP_ZIGGURAT.get_or_init(|| {
        let mut x = [0.0f64; 257];
        x[0] = ZIG_EXP_V / (-ZIG_EXP_R).exp();
        x[1] = ZIG_EXP_R;
        for i in 2..256 {
            x[i] = -(ZIG_EXP_V / x[i - 1] + (-x[i - 1]).exp()).ln();
        }
        x[256] = 0.0;
        let mut f = [0.0f64; 257];
        for i in 0..257 {
            f[i] = (-x[i]).exp();
        }
        ExpZiggurat { x, f }
    })
}

/// An Exp(1) variate by the ziggurat method (Marsaglia and Tsang, J. Stat. Softw. 5(8),
/// 2000, doi:10.18637/jss.v005.i08): exact, and in about 99% of draws one 64-bit random
/// number, one multiplication and one comparison. The same algorithm as
/// `rand_distr::Exp1`, written so that it inlines into the simulators' event loops.
#[inline(always)]
pub fn exp1(rng: &mut Rng) -> f64 {
    exp1_with(rng, exp_tables())
}

/// [`exp1`] with the tables already at hand (for event loops).
#[inline(always)]
pub fn exp1_with(rng: &mut Rng, z: &ExpZiggurat) -> f64 {
    use rand::{Rng as _, RngCore};
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // A uniform in (0, 1) from the 52 high bits (independent of the 8 low bits).
        let u = f64::from_bits((bits >> 12) | 0x3ff0_0000_0000_0000) - (1.0 - f64::EPSILON / 2.0);
        let x = u * z.x[i];
        if x < z.x[i + 1] {
            return x;
        }
        if i == 0 {
            // The tail beyond r: r + Exp(1).
            return ZIG_EXP_R - rng.random::<f64>().ln();
        }
        if z.f[i + 1] + (z.f[i] - z.f[i + 1]) * rng.random::<f64>() < (-x).exp() {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn ziggurat_tables_match_the_published_ones() {
        let z = exp_tables();
        // rand_distr's ZIG_EXP_X[0..3] and ZIG_EXP_F[0..2].
        for (got, want) in z.x[..4].iter().zip([
            8.697_117_470_131_053,
            7.697_117_470_131_05,
            6.941_033_629_377_213,
            6.478_378_493_832_57,
        ]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!((z.f[0] - 0.000_167_066_692_307_963).abs() < 1e-15);
        assert!((z.x[255] - 0.0).abs() > 0.0 && z.x[255] < 0.1);
    }

    #[test]
    fn exp1_is_exponential() {
        // Kolmogorov–Smirnov against 1 − e^(−x) with 200,000 draws: the 1e-4 critical
        // distance is 1.949 / sqrt(n); mean and variance within 5 standard errors.
        let mut rng = stream(1, 2);
        let n = 200_000;
        let mut v: Vec<f64> = (0..n).map(|_| exp1(&mut rng)).collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!((mean - 1.0).abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
        // Var(s^2) = (mu4 - sigma^4)/n = 8/n for Exp(1).
        assert!(
            (var - 1.0).abs() < 5.0 * (8.0 / n as f64).sqrt(),
            "var {var}"
        );
        v.sort_by(f64::total_cmp);
        let d = v
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let c = 1.0 - (-x).exp();
                (c - k as f64 / n as f64)
                    .abs()
                    .max(((k + 1) as f64 / n as f64 - c).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.949 / (n as f64).sqrt(), "KS distance {d}");
        // The tail beyond r is reached and is exponential too.
        assert!(v.last().copied().unwrap_or(0.0) > 7.0);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, 3), |r, _| Some(r.random()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, 3), |r, _| Some(r.random()))
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, 4), |r, _| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
