//! Thermodynamics: entropy production and free energy from the ODE, the CME and paths.

use crnkit::Network;
use crnkit::cme::{self, Distribution, FspOptions};
use crnkit::error::ModelError;
use crnkit::ssa::{Method, TimeGrid};
use crnkit::thermo::cme_entropy::{CmeThermoConfig, cme_thermo, cme_thermo_series};
use crnkit::thermo::ode::{MassAction, steady_state};
use crnkit::thermo::path::{PathConfig, path_entropy};
use crnkit::thermo::reverse_pairs;

use crate::stats::bonferroni_z;

fn network(text: &str) -> Network {
    Network::from_crn_str(text, "test.crn").unwrap()
}

const BALANCED: &str =
    "species: A = 10, B = 0, C = 0\nab: A <-> B @ 1, 2\nbc: B <-> C @ 1, 1\nca: C <-> A @ 2, 1\n";
/// The same triangle driven round the cycle: affinity ln 8.
const DRIVEN: &str =
    "species: A = 8, B = 0, C = 0\nab: A <-> B @ 2, 1\nbc: B <-> C @ 2, 1\nca: C <-> A @ 2, 1\n";

#[test]
fn detailed_balance_means_no_entropy_production() {
    let net = network(BALANCED);
    let (c, pairs) = reverse_pairs(&net).unwrap();
    // ODE at its steady state.
    let x0: Vec<f64> = c.initial_state().iter().map(|&v| v as f64).collect();
    let xs = steady_state(&c, &x0).unwrap();
    let (sigma, per) = MassAction::new(&c).entropy_production(&pairs, &xs);
    assert_eq!(per.len(), 3);
    assert!(sigma.abs() <= 1e-12, "ODE σ = {sigma:e}");
    // CME at its stationary distribution.
    let st = cme::stationary(&c, &FspOptions::default()).unwrap();
    let th = cme_thermo(
        &c,
        &pairs,
        st.distribution.space(),
        st.distribution.probabilities(),
        Some(&st.distribution),
    );
    assert!(
        th.entropy_production.abs() <= 1e-12,
        "CME σ = {:e}",
        th.entropy_production
    );
    assert!(th.medium_entropy_flow.abs() <= 1e-12);
    assert!(th.free_energy.unwrap().abs() <= 1e-12);
    // Paths started in equilibrium: ⟨Δs_m⟩ and ⟨Δs_tot⟩ are 0 within their standard errors.
    let cfg = PathConfig {
        until: 2.0,
        every: 0.5,
        runs: 4000,
        seed: 7,
        method: Method::Direct,
        bin: 0.5,
        progress: Default::default(),
    };
    let grid = TimeGrid::new(cfg.until, cfg.every).unwrap();
    let dists: Vec<Distribution> = (0..grid.len()).map(|_| st.distribution.clone()).collect();
    let r = path_entropy(&c, &pairs, &cfg, Some(&st.distribution), Some(&dists)).unwrap();
    assert_eq!(r.outside, 0);
    let z = bonferroni_z(1e-3, 2 * grid.len());
    for k in 1..grid.len() {
        let (m, se) = (r.mean(k, 0), r.standard_error(k, 0));
        assert!(se > 0.01, "paths do exchange heat");
        assert!(m.abs() <= z * se, "t = {}: ⟨Δs_m⟩ = {m} ± {se}", r.times[k]);
        // Under detailed balance from π, Δs_m = ln π(x_t) − ln π(x_0) on every path, so
        // Δs_tot vanishes path by path, not only on average.
        assert!(r.mean(k, 2).abs() <= 1e-12 && r.variance(k, 2) <= 1e-24);
    }
}

#[test]
fn free_energy_decreases_and_its_rate_is_minus_sigma() {
    let net = network(BALANCED);
    let (c, pairs) = reverse_pairs(&net).unwrap();
    let opts = FspOptions {
        tol: 1e-13,
        ..FspOptions::default()
    };
    let st = cme::stationary(&c, &opts).unwrap();
    let h = 0.005;
    let grid = TimeGrid::new(2.0, h).unwrap();
    let cfg = CmeThermoConfig {
        fsp: opts.clone(),
        stationary: Some(&st.distribution),
        ..CmeThermoConfig::default()
    };
    let s = cme_thermo_series(&c, &pairs, &grid, &cfg).unwrap();
    let f: Vec<f64> = s.values.iter().map(|v| v.free_energy.unwrap()).collect();
    for k in 1..f.len() {
        assert!(f[k] < f[k - 1], "F rose at t = {}", s.times[k]);
    }
    // Central differences: dF/dt = −σ to second order in h.
    // From t = 0.1 on (the point-mass start relaxes on a much faster scale at first).
    for k in (20..f.len() - 1).step_by(10) {
        let dfdt = (f[k + 1] - f[k - 1]) / (2.0 * h);
        let sigma = s.values[k].entropy_production;
        assert!(
            (dfdt + sigma).abs() <= 2e-3 * sigma + 1e-9,
            "t = {}: dF/dt = {dfdt}, σ = {sigma}",
            s.times[k]
        );
        // σ = dS/dt + Ṡ_m as well.
        let dsdt = (s.values[k + 1].system_entropy - s.values[k - 1].system_entropy) / (2.0 * h);
        let total = dsdt + s.values[k].medium_entropy_flow;
        // The finite-difference error is relative to dS/dt, which nearly cancels Ṡ_m late on.
        let scale = dsdt.abs() + s.values[k].medium_entropy_flow.abs();
        assert!(
            (total - sigma).abs() <= 2e-3 * scale + 1e-9,
            "t = {}: dS/dt {dsdt} Ṡm {} σ {sigma}",
            s.times[k],
            s.values[k].medium_entropy_flow
        );
    }
}

#[test]
fn integral_fluctuation_theorem_and_mean_entropy_production() {
    let net = network(DRIVEN);
    let (c, pairs) = reverse_pairs(&net).unwrap();
    // Initial distribution: uniform over the conservation class (45 states).
    let space = cme::enumerate(&c, c.initial_state(), &[], 1000).unwrap();
    let n = space.len();
    let initial = Distribution::new(space, vec![1.0 / n as f64; n]);
    let cfg = PathConfig {
        until: 1.0,
        every: 0.25,
        runs: 20_000,
        seed: 11,
        method: Method::Direct,
        bin: 0.5,
        progress: Default::default(),
    };
    let grid = TimeGrid::new(cfg.until, cfg.every).unwrap();
    let opts = FspOptions {
        tol: 1e-12,
        ..FspOptions::default()
    };
    let mut dists = Vec::new();
    cme::solve_transient_from(&c, Some(&initial), &grid, &opts, |s| {
        dists.push(Distribution::new(s.space.clone(), s.p.to_vec()));
    })
    .unwrap();
    let r = path_entropy(&c, &pairs, &cfg, Some(&initial), Some(&dists)).unwrap();
    assert_eq!(r.outside, 0);
    // Entropy production from the CME on a fine grid (trapezoid error ≪ the SE).
    let fine = TimeGrid::new(cfg.until, 0.001).unwrap();
    let series = CmeThermoConfig {
        initial: Some(&initial),
        fsp: opts.clone(),
        ..CmeThermoConfig::default()
    };
    let s = cme_thermo_series(&c, &pairs, &fine, &series).unwrap();
    let z = bonferroni_z(1e-3, 2 * (grid.len() - 1));
    for k in 1..grid.len() {
        let (m, se) = (r.mean(k, 3), r.standard_error(k, 3));
        assert!(
            (m - 1.0).abs() <= z * se,
            "⟨exp(−Δs_tot)⟩ = {m} ± {se} at t = {}",
            r.times[k]
        );
        let kf = (r.times[k] / 0.001).round() as usize;
        let cme_total = s.total_entropy_produced[kf];
        let (mt, set) = (r.mean(k, 2), r.standard_error(k, 2));
        assert!(
            (mt - cme_total).abs() <= z * set,
            "t = {}: ⟨Δs_tot⟩ = {mt} ± {set}, CME {cme_total}",
            r.times[k]
        );
        assert!(cme_total > 10.0 * set, "a driven network produces entropy");
    }
}

#[test]
fn cme_entropy_production_per_volume_approaches_the_ode() {
    // A + X ⇌ 2X, X ⇌ B with chemostats A, B (concentrations 1 and 2): driven, monostable.
    let ode_rate = |omega: f64| {
        let net = network(&format!(
            "parameters: V = {omega}\nvolume: V\nspecies: X = {x0}, A = {a} constant, B = {b} constant\n\
             A + X <-> 2 X @ 1, 0.5\nX <-> B @ 1, 0.25\n",
            x0 = omega as u64,
            a = omega as u64,
            b = 2 * omega as u64
        ));
        let (c, pairs) = reverse_pairs(&net).unwrap();
        let x0: Vec<f64> = c.initial_state().iter().map(|&v| v as f64).collect();
        let xs = steady_state(&c, &x0).unwrap();
        let ode = MassAction::new(&c).entropy_production(&pairs, &xs).0 / omega;
        let st = cme::stationary(
            &c,
            &FspOptions {
                tol: 1e-12,
                ..FspOptions::default()
            },
        )
        .unwrap();
        let th = cme_thermo(
            &c,
            &pairs,
            st.distribution.space(),
            st.distribution.probabilities(),
            None,
        );
        (ode, th.entropy_production / omega)
    };
    let mut last = f64::INFINITY;
    let mut gaps = Vec::new();
    for omega in [5.0, 10.0, 20.0, 40.0, 80.0, 160.0] {
        let (ode, cme) = ode_rate(omega);
        let gap = (cme - ode).abs() / ode;
        gaps.push((omega, ode, cme, gap));
        assert!(
            gap < last,
            "Ω = {omega}: gap {gap} did not shrink ({gaps:?})"
        );
        last = gap;
    }
    eprintln!("Ω, ODE σ/Ω, CME σ/Ω, relative gap: {gaps:?}");
    assert!(last < 0.02, "{gaps:?}");
}

#[test]
fn irreversible_reactions_are_named() {
    let net = network(
        "species: X = 0, Y = 0\nmake: 0 -> X @ 1\nswap: X <-> Y @ 1, 1\ndecay: Y -> 0 @ 1\n",
    );
    let e = reverse_pairs(&net).unwrap_err();
    match &e {
        ModelError::Irreversible { reactions } => {
            assert!(
                reactions.contains("make") && reactions.contains("decay"),
                "{e}"
            );
            assert!(!reactions.contains("swap"), "{e}");
        }
        other => panic!("{other}"),
    }
    // Two one-way reactions that undo each other form a pair.
    let net = network("species: X = 0\nin: 0 -> X @ 1\nout: X -> 0 @ 2\n");
    assert!(reverse_pairs(&net).is_ok());
}

#[test]
fn current_statistics_match_the_ring_and_obey_the_tur() {
    // M independent molecules on a uniform 3-state ring with force a per edge:
    // j = M (k⁺ − k⁻)/3, D₂ = M (k⁺ + k⁻)/9, σ = M (k⁺ − k⁻) a, Q = a coth(a/2) ≥ 2.
    use crnkit::thermo::current::current_statistics;
    for a in [0.05f64, 0.5, 2.0, 6.0] {
        let (kp, km) = ((a / 2.0).exp(), (-a / 2.0).exp());
        let m = 6.0;
        let net = network(&format!(
            "species: A = 6, B = 0, C = 0\nab: A <-> B @ {kp}, {km}\nbc: B <-> C @ {kp}, {km}\nca: C <-> A @ {kp}, {km}\n"
        ));
        let (c, pairs) = reverse_pairs(&net).unwrap();
        let st = cme::stationary(&c, &FspOptions::default()).unwrap();
        let s = current_statistics(
            &c,
            &pairs,
            st.distribution.space(),
            st.distribution.probabilities(),
            0,
        )
        .unwrap();
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs().max(1e-12);
        assert!(
            close(s.mean_rate, m * (kp - km) / 3.0),
            "a = {a}: j = {}",
            s.mean_rate
        );
        assert!(
            close(s.variance_rate, m * (kp + km) / 9.0),
            "a = {a}: D = {}",
            s.variance_rate
        );
        assert!(close(s.entropy_production, m * (kp - km) * a), "a = {a}");
        let q = a / (a / 2.0).tanh();
        assert!(
            close(s.tur_ratio, q) && s.tur_ratio >= 2.0,
            "a = {a}: Q = {}",
            s.tur_ratio
        );
    }
}

#[test]
fn heat_and_work_of_a_chemostatted_network() {
    use crnkit::thermo::work::WorkSplit;
    let net = crnkit::models::bundled("schlogl").unwrap();
    let (c, pairs) = reverse_pairs(&net).unwrap();
    let split = WorkSplit::new(&net, &c).unwrap();
    // Stationary: all chemical work is dissipated, σ = Ṡ_m = Ẇ.
    let opts = FspOptions {
        tol: 1e-12,
        ..FspOptions::default()
    };
    let st = cme::stationary(&c, &opts).unwrap();
    let (sp, p) = (st.distribution.space(), st.distribution.probabilities());
    let th = cme_thermo(&c, &pairs, sp, p, None);
    let (wdot, _) = split.work_rate(&c, &pairs, sp, p);
    assert!(wdot > 100.0, "the Schlögl model is driven: Ẇ = {wdot}");
    assert!(
        (th.medium_entropy_flow - wdot).abs() <= 1e-8 * wdot,
        "Ṡ_m = {}, Ẇ = {wdot}",
        th.medium_entropy_flow
    );
    // Transient from X = 250: first law Ṡ_m = Ẇ − d⟨E⟩/dt (central differences).
    let h = 1e-3;
    let grid = TimeGrid::from_times(vec![0.0, 0.5 - h, 0.5, 0.5 + h]).unwrap();
    let mut rows = Vec::new();
    cme::solve_transient_with(&c, &grid, &opts, |s| {
        let th = cme_thermo(&c, &pairs, s.space, s.p, None);
        let (w, e) = split.work_rate(&c, &pairs, s.space, s.p);
        rows.push((th.medium_entropy_flow, w, e));
    })
    .unwrap();
    let dedt = (rows[3].2 - rows[1].2) / (2.0 * h);
    let (sm, w) = (rows[2].0, rows[2].1);
    assert!(
        (sm - (w - dedt)).abs() <= 1e-4 * w.abs(),
        "Ṡ_m {sm}, Ẇ {w}, d⟨E⟩/dt {dedt}"
    );
    // At the chemostat ratio of equilibrium there is no work in the stationary state.
    let mut eq = net.clone();
    let k = |n: &str| net.parameter(n).unwrap();
    let b_eq = k("k1") * 1e5 * k("k4") / (k("k2") * k("k3"));
    eq.set_initial(eq.species_index("B").unwrap(), b_eq.round() as u64)
        .unwrap();
    let (ce, pe) = reverse_pairs(&eq).unwrap();
    let se = WorkSplit::new(&eq, &ce).unwrap();
    let st = cme::stationary(&ce, &opts).unwrap();
    let (w, _) = se.work_rate(
        &ce,
        &pe,
        st.distribution.space(),
        st.distribution.probabilities(),
    );
    let th = cme_thermo(
        &ce,
        &pe,
        st.distribution.space(),
        st.distribution.probabilities(),
        None,
    );
    assert!(
        w.abs() < 1e-2 && th.medium_entropy_flow.abs() < 1e-2,
        "Ẇ = {w}"
    );
}
