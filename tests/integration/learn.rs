//! Learning by relative entropy: exact objective, gradient and the L-BFGS baseline.

use crnkit::learn::{GenerativeModel, fit_exact};
use crnkit::{Error, Network, ThermodynamicBuilder};
use rand::Rng as _;

/// A random detailed-balanced network on 4 species with one conservation class of a few
/// hundred states at most: A ⇌ B, A + B ⇌ C, 2 B ⇌ D, C ⇌ D (barriers and energies random).
fn random_network(seed: u64) -> Network {
    let mut rng = crnkit::rng::stream(seed, 0);
    let mut g = || rng.random::<f64>() * 4.0 - 2.0;
    let (ga, gb, gc, gd) = (g(), g(), g(), g());
    let (b1, b2, b3, b4) = (g(), g(), g(), g());
    ThermodynamicBuilder::new()
        .species("A", ga, 6)
        .species("B", gb, 2)
        .species("C", gc, 0)
        .species("D", gd, 1)
        .reaction(&[("A", 1)], &[("B", 1)], b1)
        .reaction(&[("A", 1), ("B", 1)], &[("C", 1)], b2)
        .reaction(&[("B", 2)], &[("D", 1)], b3)
        .reaction(&[("C", 1)], &[("D", 1)], b4)
        .build()
        .unwrap()
}

#[test]
fn exact_gradient_matches_finite_differences() {
    for seed in 0..8u64 {
        let net = random_network(seed);
        // A and C visible, B and D hidden.
        let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
        let mut rng = crnkit::rng::stream(seed, 1);
        let rows: Vec<(Vec<u32>, f64)> = model
            .visible_states()
            .iter()
            .map(|v| (v.clone(), rng.random::<f64>() + 0.05))
            .collect();
        let target = model.target(&rows).unwrap();
        let g: Vec<f64> = model
            .initial_parameters()
            .iter()
            .map(|v| v + rng.random::<f64>() - 0.5)
            .collect();
        let (d, grad) = model.objective(&target, &g).unwrap();
        assert!(d > 0.0);
        let h = 1e-5;
        for i in 0..g.len() {
            let mut gp = g.clone();
            let mut gm = g.clone();
            gp[i] += h;
            gm[i] -= h;
            let fd = (model.objective(&target, &gp).unwrap().0
                - model.objective(&target, &gm).unwrap().0)
                / (2.0 * h);
            let scale = grad.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(
                (fd - grad[i]).abs() <= 1e-6 * scale,
                "seed {seed}, G_{i}: exact {} vs finite difference {fd}",
                grad[i]
            );
        }
    }
}

#[test]
fn lbfgs_recovers_a_target_from_the_model_family() {
    let net = random_network(42);
    let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
    // Target: the model's own visible law at other free energies.
    let truth: Vec<f64> = model
        .initial_parameters()
        .iter()
        .enumerate()
        .map(|(i, g)| g + [0.7, -0.4, 0.3, -0.9][i])
        .collect();
    let p = model.visible_marginal(&truth).unwrap();
    let rows: Vec<(Vec<u32>, f64)> = model.visible_states().iter().cloned().zip(p).collect();
    let target = model.target(&rows).unwrap();
    let start = model.initial_parameters().to_vec();
    let d0 = model.objective(&target, &start).unwrap().0;
    let fit = fit_exact(&model, &target, &start, 500).unwrap();
    assert!(d0 > 1e-2, "{d0}");
    assert!(
        fit.divergence <= 1e-10,
        "D = {} after {} iterations",
        fit.divergence,
        fit.iterations
    );
}

#[test]
fn bad_learning_input_is_refused_by_name() {
    // Not detailed balanced (a driven cycle).
    let driven = Network::from_crn_str(
        "species: A = 3, B = 0, C = 0\nA <-> B @ 2, 1\nB <-> C @ 2, 1\nC <-> A @ 2, 1\n",
        "d.crn",
    )
    .unwrap();
    let e = GenerativeModel::new(&driven, &["A"], 1000).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("detailed balanced"),
        "{e}"
    );
    let net = random_network(3);
    let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
    // A target over a hidden species.
    let e = model
        .target_from_csv("A,B,probability\n1,0,1\n", "t.csv")
        .unwrap_err();
    assert!(e.to_string().contains("not a visible species"), "{e}");
    // Support the class cannot reach (A + B + 2C + 2D = 10 here, so A ≤ 10).
    let e = model.target(&[(vec![11, 0], 1.0)]).unwrap_err();
    assert!(e.to_string().contains("cannot reach"), "{e}");
    // A malformed cell: located error.
    let e = model
        .target_from_csv("C,A,count\n0,1,3\n0,x,2\n", "t.csv")
        .unwrap_err();
    let loc = e.location().expect("located");
    assert_eq!((loc.line, loc.col), (3, 3), "{e}");
    // Columns in any order.
    let t = model
        .target_from_csv("C,A,count\n0,1,3\n1,0,1\n", "t.csv")
        .unwrap();
    assert_eq!(t.states, vec![vec![1, 0], vec![0, 1]]);
    assert_eq!(t.probabilities, vec![0.75, 0.25]);
    // An unknown visible species and a constant one.
    assert!(matches!(
        GenerativeModel::new(&net, &["Q"], 100).unwrap_err(),
        Error::UnknownSpecies { .. }
    ));
}

#[test]
fn sampled_gradient_is_unbiased_within_its_standard_error() {
    use crate::stats::bonferroni_z;
    for seed in [5u64, 6] {
        let net = random_network(seed);
        let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
        let mut rng = crnkit::rng::stream(seed, 9);
        let rows: Vec<(Vec<u32>, f64)> = model
            .visible_states()
            .iter()
            .map(|v| (v.clone(), rng.random::<f64>()))
            .collect();
        let target = model.target(&rows).unwrap();
        let g: Vec<f64> = model
            .initial_parameters()
            .iter()
            .map(|v| v + 0.3 * (rng.random::<f64>() - 0.5))
            .collect();
        let exact = model.objective(&target, &g).unwrap().1;
        // Rates are e^(±2) at most, so a burn-in of 40 is many relaxation times.
        let s = model
            .sampled_gradient(&target, &g, 4000, 40.0, 100 + seed)
            .unwrap();
        let z = bonferroni_z(1e-3, 2 * exact.len());
        for (j, &e) in exact.iter().enumerate() {
            let (m, se) = (s.gradient[j], s.standard_error[j]);
            assert!(se > 0.0 && se < 0.2, "seed {seed}, G_{j}: se {se}");
            assert!(
                (m - e).abs() <= z * se,
                "seed {seed}, G_{j}: sampled {m} ± {se}, exact {e}"
            );
        }
    }
    // The clamped reactions must connect each clamped class. With A and D visible, every
    // reaction changes one of them, yet B + 2C is free: the hidden configurations cannot be
    // sampled, and the estimator says so.
    let net = random_network(5);
    let model = GenerativeModel::new(&net, &["A", "D"], 10_000).unwrap();
    let rows: Vec<(Vec<u32>, f64)> = model
        .visible_states()
        .iter()
        .map(|v| (v.clone(), 1.0))
        .collect();
    let target = model.target(&rows).unwrap();
    let g = model.initial_parameters().to_vec();
    let e = model.sampled_gradient(&target, &g, 10, 1.0, 0).unwrap_err();
    assert!(e.to_string().contains("clamped sampling"), "{e}");
}
