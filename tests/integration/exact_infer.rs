//! Exact-CME inference from snapshot data (`surrogate::inference::exact`), checked against
//! the immigration–death process, whose law from x0 = 0 is Poisson with mean
//! λ(t) = k/g (1 − e^(−g t)).

use crnkit::cme::FspOptions;
use crnkit::cme::ln_factorial;
use crnkit::surrogate::{
    ExactLikelihood, ExactMleConfig, ExactModel, Snapshots, cramer_rao_std_errors,
};

use super::surrogate::birth_death;

fn model() -> ExactModel {
    ExactModel::new(
        &birth_death(),
        &["k".to_string(), "g".to_string()],
        &[0],
        FspOptions {
            tol: 1e-12,
            ..FspOptions::default()
        },
    )
    .unwrap()
}

fn lambda(k: f64, g: f64, t: f64) -> f64 {
    k / g * (1.0 - (-g * t).exp())
}

fn ln_poisson(n: u64, lam: f64) -> f64 {
    n as f64 * lam.ln() - lam - ln_factorial(n)
}

/// (time, count) of a few cells.
const CELLS: [(f64, u64); 7] = [
    (0.5, 1),
    (0.5, 3),
    (0.5, 1),
    (2.0, 4),
    (2.0, 7),
    (5.0, 5),
    (5.0, 2),
];

fn data() -> Snapshots {
    let times: Vec<f64> = CELLS.iter().map(|c| c.0).collect();
    let counts: Vec<u64> = CELLS.iter().map(|c| c.1).collect();
    Snapshots::new(&["X".to_string()], &times, &counts).unwrap()
}

#[test]
fn log_likelihood_is_the_poisson_one() {
    let m = model();
    let data = data();
    let lik = ExactLikelihood::new(&m, &data).unwrap();
    assert_eq!(lik.num_cells(), 7);
    for (k, g) in [(5.0, 1.0), (3.0, 0.7), (8.0, 1.6)] {
        let want: f64 = CELLS
            .iter()
            .map(|&(t, n)| ln_poisson(n, lambda(k, g, t)))
            .sum();
        let got = lik.log_likelihood(&[k, g]).unwrap();
        assert!(
            (got - want).abs() < 1e-8,
            "k = {k}, g = {g}: {got} vs {want}"
        );
    }
}

#[test]
fn wrong_species_or_parameters_are_errors() {
    let net = birth_death();
    let opts = FspOptions::default();
    assert!(ExactModel::new(&net, &["nope".to_string()], &[0], opts.clone()).is_err());
    assert!(
        ExactModel::new(
            &net,
            &["k".to_string(), "k".to_string()],
            &[0],
            opts.clone()
        )
        .is_err()
    );
    assert!(ExactModel::new(&net, &["k".to_string()], &[0, 0], opts).is_err());
    let m = model();
    let other = Snapshots::new(&["Y".to_string()], &[1.0], &[0]).unwrap();
    assert!(ExactLikelihood::new(&m, &other).is_err());
    assert!(model().network_at(&[1.0]).is_err());
}

#[test]
fn mle_maximises_the_likelihood() {
    let m = model();
    let data = data();
    let lik = ExactLikelihood::new(&m, &data).unwrap();
    let start = [5.0, 1.0];
    let res = lik.mle(&start, &ExactMleConfig::default()).unwrap();
    let at = |th: &[f64]| lik.log_likelihood(th).unwrap();
    assert!((res.log_likelihood - at(&res.estimate)).abs() < 1e-12);
    assert!(res.log_likelihood >= at(&start));
    for j in 0..2 {
        for f in [0.98, 1.02] {
            let mut th = res.estimate.clone();
            th[j] *= f;
            assert!(res.log_likelihood >= at(&th) - 1e-6, "{th:?}");
        }
    }
    assert!(res.evaluations >= 3 && res.evaluations <= 610);
    assert!(lik.mle(&[0.0, 1.0], &ExactMleConfig::default()).is_err());
}

#[test]
fn fisher_information_and_cramer_rao_are_the_poisson_ones() {
    // One cell at each time: I = Σ_t ∇λ ∇λᵀ / λ.
    let (k, g) = (5.0, 1.0);
    let times = [0.5, 2.0];
    let law = model().law_on_box(&[k, g], &times, &[60]).unwrap();
    for (i, &t) in times.iter().enumerate() {
        let lam = lambda(k, g, t);
        assert!(law.outside[i] < 1e-12);
        for n in 0..20u64 {
            let want = ln_poisson(n, lam).exp();
            assert!((law.joint[i][n as usize] - want).abs() < 1e-10);
            assert_eq!(law.joint[i][n as usize], law.marginals[i][0][n as usize]);
        }
    }
    let info = model()
        .fisher_information(&[k, g], &times, &[60], 1e-4)
        .unwrap();
    let mut want = [[0.0; 2]; 2];
    for &t in &times {
        let lam = lambda(k, g, t);
        let e = (-g * t).exp();
        let grad = [lam / k, -k / (g * g) * (1.0 - e) + k / g * t * e];
        for a in 0..2 {
            for b in 0..2 {
                want[a][b] += grad[a] * grad[b] / lam;
            }
        }
    }
    for a in 0..2 {
        for b in 0..2 {
            let rel = (info[a][b] - want[a][b]).abs() / want[a][b].abs();
            assert!(rel < 1e-5, "I[{a}][{b}] = {} vs {}", info[a][b], want[a][b]);
        }
    }
    // Cramér–Rao of a diagonal and of a singular matrix.
    let se = cramer_rao_std_errors(&[vec![4.0, 0.0], vec![0.0, 0.25]], 4);
    assert!((se[0] - 0.25).abs() < 1e-15 && (se[1] - 1.0).abs() < 1e-15);
    let det = want[0][0] * want[1][1] - want[0][1] * want[1][0];
    let se = cramer_rao_std_errors(&info, 100);
    assert!((se[0] - (want[1][1] / det / 100.0).sqrt()).abs() < 1e-4 * se[0]);
    assert!(
        cramer_rao_std_errors(&[vec![1.0, 1.0], vec![1.0, 1.0]], 1)
            .iter()
            .all(|v| v.is_nan())
    );
}
