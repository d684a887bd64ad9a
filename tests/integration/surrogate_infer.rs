//! Parameter inference from snapshot data with a distilled surrogate: likelihood and its
//! gradient, maximum likelihood, Metropolis–Hastings, CSV input.

use std::sync::OnceLock;

use super::surrogate::birth_death;
use crnkit::error::{ModelError, SurrogateError};
use crnkit::ssa::{AnySimulator, GridRecorder, Method, Simulator, TimeGrid};
use crnkit::surrogate::{
    Activation, Architecture, CARD_FORMAT, Card, DistillConfig, InferenceSpec, Likelihood,
    McmcConfig, Metrics, MleConfig, Model, ParamBox, PromptSpec, Snapshots, Surrogate, distill,
    gelman_rubin, parse_snapshots, read_snapshots,
};
use crnkit::{Error, Network};

/// The true rates (those of `BIRTH_DEATH`).
const TRUTH: [f64; 2] = [5.0, 1.0];

/// Measurement times (on the training grid 0.5, 1, …, 5).
const TIMES: [f64; 4] = [0.5, 1.0, 2.0, 5.0];

/// The fast recipe of `surrogate.rs` (k ∈ [1, 10], g ∈ [0.5, 2] on a log scale, x0 = 0,
/// times 0.5..5) with twice the design points and more epochs: the surrogate's own error
/// then biases the estimates far less than the sampling error of the data sets here.
/// Measured (2 cores): the recipe of `surrogate.rs` (48 points, 60 epochs, 0.9 s, median
/// Hellinger 0.016) has pseudo-true rates (MLE on 100,000 SSA cells per time) of
/// (4.86, 0.962), biases of −2.8 % and −3.8 %, about 1.7 standard errors of the data of the
/// SSA test; this one (2.8 s, median Hellinger 0.0024) gives (4.989, 0.998), −0.2 % each,
/// within the 0.2 % sampling error of that check.
fn fast_config() -> DistillConfig {
    let mut cfg = super::surrogate::fast_config();
    cfg.train_points = 96;
    cfg.train.epochs = 100;
    cfg.train.patience = 100;
    cfg
}

/// One surrogate for every test here (trained once, about 3 s).
fn surrogate() -> &'static Surrogate {
    static S: OnceLock<Surrogate> = OnceLock::new();
    S.get_or_init(|| {
        let t = std::time::Instant::now();
        let d = distill(&birth_death(), &fast_config()).unwrap();
        eprintln!(
            "inference surrogate: {:.1} s, caps {:?}, Hellinger median {:.4}",
            t.elapsed().as_secs_f64(),
            d.surrogate.card.arch.caps,
            d.surrogate.card.metrics.hellinger_median
        );
        d.surrogate
    })
}

/// `n` cells per time of `TIMES` drawn from the surrogate itself at `theta`.
fn surrogate_data(s: &Surrogate, theta: &[f64], n: usize, seed: u64) -> Snapshots {
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for (k, &t) in TIMES.iter().enumerate() {
        let x = s.sample_at(n, theta, &[0], t, seed + k as u64).unwrap();
        times.extend(std::iter::repeat_n(t, n));
        counts.extend(x.iter().map(|&v| v as u64));
    }
    Snapshots::new(&s.card.species, &times, &counts).unwrap()
}

/// `n` cells per time of `TIMES` from exact SSA of the network at the true rates: every
/// cell its own trajectory (snapshot cells are independent), stream (seed, time × 2³² + cell).
fn ssa_data(n: usize, seed: u64) -> Snapshots {
    let net = birth_death();
    let compiled = net.compile();
    let mut sim = AnySimulator::new(&compiled, Method::Direct).unwrap();
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for (k, &t) in TIMES.iter().enumerate() {
        let grid = TimeGrid::from_times(vec![t]).unwrap();
        for c in 0..n {
            let mut rng = crnkit::rng::stream(seed, ((k as u64) << 32) | c as u64);
            sim.reset(&[0], 0.0).unwrap();
            let mut rec = GridRecorder::new(&grid);
            sim.advance_until(t, &mut rng, &mut rec).unwrap();
            times.push(t);
            counts.push(rec.states[0]);
        }
    }
    Snapshots::new(&["X".to_string()], &times, &counts).unwrap()
}

/// Data of test (a): 1,000 cells per time from the surrogate at the truth.
fn data_a() -> &'static Snapshots {
    static D: OnceLock<Snapshots> = OnceLock::new();
    D.get_or_init(|| surrogate_data(surrogate(), &TRUTH, 1000, 17))
}

#[test]
fn mle_recovers_surrogate_parameters_and_gradient_is_exact() {
    let s = surrogate();
    let data = data_a();
    assert_eq!(data.num_cells(), 4000);
    eprintln!(
        "data (a): {} cells, {} distinct rows",
        data.num_cells(),
        data.num_rows()
    );
    let lik = Likelihood::new(s, data, &InferenceSpec::default()).unwrap();
    assert_eq!(lik.names(), ["k", "g"]);

    // ℓ agrees with the surrogate's own log_prob summed cell by cell.
    let theta = [3.0, 1.5];
    let direct: f64 = data
        .rows()
        .map(|(t, x, n)| n as f64 * s.log_prob_at(x, &theta, &[0], t).unwrap()[0])
        .sum();
    let l = lik.log_likelihood(&theta).unwrap();
    assert!((l - direct).abs() < 1e-6 * direct.abs(), "{l} vs {direct}");

    // Autodiff gradient against central differences of ℓ (away from the optimum). The
    // f32 network makes ℓ rough at about 1e-7 relative; a relative step of 1e-3 keeps
    // that and the O(h²) truncation both below 1e-3 of the gradient.
    let (l2, g) = lik.gradient(&theta).unwrap();
    assert_eq!(l, l2);
    for j in 0..2 {
        let h = 1e-3 * theta[j];
        let mut up = theta;
        let mut dn = theta;
        up[j] += h;
        dn[j] -= h;
        let fd = (lik.log_likelihood(&up).unwrap() - lik.log_likelihood(&dn).unwrap()) / (2.0 * h);
        eprintln!(
            "∂ℓ/∂{}: autodiff {:.6} finite difference {:.6}",
            lik.names()[j],
            g[j],
            fd
        );
        assert!(
            (g[j] - fd).abs() < 1e-3 * g[j].abs().max(1.0),
            "parameter {j}: {} vs {fd}",
            g[j]
        );
    }

    let t = std::time::Instant::now();
    let fit = lik.mle(&MleConfig::default()).unwrap();
    eprintln!("gradient at the MLE: {:?}", fit.gradient);
    eprintln!(
        "MLE (a) in {:.2} s: k = {:.4} ± {:.4}, g = {:.4} ± {:.4}, ℓ = {:.2}, {} iterations, starts {:?}",
        t.elapsed().as_secs_f64(),
        fit.estimate[0],
        fit.std_error[0],
        fit.estimate[1],
        fit.std_error[1],
        fit.log_likelihood,
        fit.iterations,
        fit.starts
            .iter()
            .map(|s| (s.log_likelihood, s.iterations))
            .collect::<Vec<_>>()
    );
    assert!(fit.covariance.is_some());
    assert!(!fit.on_boundary.iter().any(|&b| b));
    for (j, &truth) in TRUTH.iter().enumerate() {
        assert!(fit.std_error[j] > 0.0 && fit.std_error[j] < 0.2 * truth);
        assert!(
            (fit.estimate[j] - truth).abs() < 4.0 * fit.std_error[j],
            "{}: {} vs {} (se {})",
            fit.names[j],
            fit.estimate[j],
            truth,
            fit.std_error[j]
        );
        // An interior optimum: the gradient times the standard error (≈ the distance to the
        // maximum in standard errors) is small.
        assert!(
            fit.gradient[j].abs() * fit.std_error[j] < 0.05,
            "{:?}",
            fit.gradient
        );
    }
    // Every start reached the same optimum (ℓ within 0.01 nats).
    for st in &fit.starts {
        assert!(fit.log_likelihood - st.log_likelihood < 1e-2, "{st:?}");
    }
    // ℓ at the optimum beats ℓ at the truth (it is the maximum).
    assert!(fit.log_likelihood >= lik.log_likelihood(&TRUTH).unwrap() - 1e-6);

    // One free parameter, the other fixed at its true value.
    let spec = InferenceSpec {
        fixed: vec![("g".into(), 1.0)],
        ..InferenceSpec::default()
    };
    let lik_k = Likelihood::new(s, data, &spec).unwrap();
    assert_eq!(lik_k.names(), ["k"]);
    let fk = lik_k.mle(&MleConfig::default()).unwrap();
    eprintln!(
        "MLE (a), g fixed: k = {:.4} ± {:.4}",
        fk.estimate[0], fk.std_error[0]
    );
    assert!((fk.estimate[0] - 5.0).abs() < 4.0 * fk.std_error[0]);
    // Fixing g removes its correlation with k: a smaller standard error.
    assert!(fk.std_error[0] < fit.std_error[0]);
}

#[test]
fn mcmc_on_surrogate_data_converges_to_the_mle() {
    let s = surrogate();
    let lik = Likelihood::new(s, data_a(), &InferenceSpec::default()).unwrap();
    let fit = lik.mle(&MleConfig::default()).unwrap();
    let t = std::time::Instant::now();
    let cfg = McmcConfig::default();
    let post = lik.mcmc(&cfg).unwrap();
    eprintln!(
        "MH (a) in {:.2} s: acceptance {:.3} (per chain {:?})",
        t.elapsed().as_secs_f64(),
        post.acceptance,
        post.chains.iter().map(|c| c.acceptance).collect::<Vec<_>>()
    );
    assert_eq!(post.chains.len(), 4);
    assert!(post.chains.iter().all(|c| c.samples.len() == 2000));
    // Random-walk acceptance after adaptation towards 0.3.
    assert!(post.acceptance > 0.15 && post.acceptance < 0.5);
    for (j, p) in post.summary.iter().enumerate() {
        eprintln!(
            "  {}: mean {:.4} sd {:.4} 95% [{:.4}, {:.4}] R-hat {:.4}; MLE {:.4} ± {:.4}",
            p.name, p.mean, p.sd, p.q025, p.q975, p.rhat, fit.estimate[j], fit.std_error[j]
        );
        assert!(p.rhat < 1.1, "R-hat {}", p.rhat);
        assert!(p.q025 < p.q50 && p.q50 < p.q975);
        // Bernstein–von Mises: the posterior is close to N(θ̂, I⁻¹) with 4,000 cells. The
        // mean is within 0.5 sd of the MLE (the prior and skewness shift it by O(1/N),
        // Monte Carlo error is about sd/√ESS), and the sd is the standard error to within
        // the Monte Carlo error of a variance from a few hundred effective draws.
        assert!(
            (p.mean - fit.estimate[j]).abs() < 0.5 * p.sd,
            "posterior mean {} vs MLE {}",
            p.mean,
            fit.estimate[j]
        );
        let ratio = p.sd / fit.std_error[j];
        assert!(ratio > 0.75 && ratio < 1.33, "sd / se = {ratio}");
    }
}

#[test]
fn inference_on_exact_ssa_data_recovers_the_rates() {
    let s = surrogate();
    // 2,000 cells per time: standard errors of about 1.6 % (k) and 2.2 % (g) (printed and
    // checked below), so the 10 % bound is more than four standard errors, with room for
    // the surrogate's own bias (about 0.2 %, see `fast_config`).
    let data = ssa_data(2000, 23);
    let lik = Likelihood::new(s, &data, &InferenceSpec::default()).unwrap();
    let fit = lik.mle(&MleConfig::default()).unwrap();
    let cfg = McmcConfig {
        seed: 5,
        ..McmcConfig::default()
    };
    let post = lik.mcmc(&cfg).unwrap();
    for (j, &truth) in TRUTH.iter().enumerate() {
        let p = &post.summary[j];
        eprintln!(
            "SSA data: {} MLE {:.4} ± {:.4} (error {:+.2} %), posterior 95% [{:.4}, {:.4}] (width {:.4}), R-hat {:.4}",
            fit.names[j],
            fit.estimate[j],
            fit.std_error[j],
            100.0 * (fit.estimate[j] / truth - 1.0),
            p.q025,
            p.q975,
            p.q975 - p.q025,
            p.rhat
        );
        assert!(4.0 * fit.std_error[j] < 0.1 * truth);
        assert!(
            (fit.estimate[j] / truth - 1.0).abs() < 0.1,
            "{}: {}",
            fit.names[j],
            fit.estimate[j]
        );
        // Each 95 % interval covers the truth with probability about 0.95 over data sets
        // (the surrogate's bias is about 0.1 standard error, see `fast_config`); the seed
        // was fixed before the first run.
        assert!(p.q025 < truth && truth < p.q975, "{p:?}");
        assert!(p.rhat < 1.1);
    }
}

#[test]
fn mcmc_is_reproducible() {
    let s = surrogate();
    let data = surrogate_data(s, &TRUTH, 200, 3);
    let lik = Likelihood::new(s, &data, &InferenceSpec::default()).unwrap();
    let cfg = McmcConfig {
        chains: 2,
        burn_in: 200,
        samples: 200,
        seed: 9,
        ..McmcConfig::default()
    };
    let a = lik.mcmc(&cfg).unwrap();
    let b = lik.mcmc(&cfg).unwrap();
    assert_eq!(a, b);
    let c = lik
        .mcmc(&McmcConfig {
            seed: 10,
            ..cfg.clone()
        })
        .unwrap();
    assert_ne!(a.chains[0].samples, c.chains[0].samples);
    // Chains start from distinct dispersed points of the box.
    assert_ne!(a.chains[0].start, a.chains[1].start);
    // The MLE is deterministic too.
    let m = MleConfig {
        starts: 2,
        ..MleConfig::default()
    };
    assert_eq!(lik.mle(&m).unwrap(), lik.mle(&m).unwrap());
}

#[test]
fn gelman_rubin_detects_disagreeing_chains() {
    // Two chains of the same law agree; shifting one by 3 sd does not.
    let mut rng = crnkit::rng::stream(1, 1);
    use rand::Rng as _;
    let mut draw = |shift: f64| -> Vec<f64> {
        (0..1000)
            .map(|_| (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0 + shift)
            .collect()
    };
    let same = [draw(0.0), draw(0.0)];
    let apart = [draw(0.0), draw(3.0)];
    let r1 = gelman_rubin(&same);
    let r2 = gelman_rubin(&apart);
    assert!(r1 < 1.01, "{r1}");
    assert!(r2 > 1.5, "{r2}");
    // A drifting single chain fails too (split chains).
    let drift: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
    assert!(gelman_rubin(&[drift]) > 1.5);
    assert!(gelman_rubin(&[vec![1.0, 2.0]]).is_nan());
}

fn species() -> Vec<String> {
    vec!["X".into()]
}

/// The location of a CSV error.
fn at(r: Result<Snapshots, SurrogateError>) -> (usize, usize, String) {
    let e = Error::from(r.unwrap_err());
    let loc = e
        .location()
        .unwrap_or_else(|| panic!("no location in `{e}`"));
    assert_eq!(loc.file, "cells.csv");
    (loc.line, loc.col, e.to_string())
}

#[test]
fn snapshot_csv_parses_groups_and_reports_errors() {
    let sp = species();
    let text = "# cells\ntime,X\n1.0, 3\n\n1,3\n2.5,0\n1.0,4\n";
    let d = parse_snapshots(text, "cells.csv", &sp).unwrap();
    assert_eq!(d.num_cells(), 4);
    assert_eq!(d.num_rows(), 3);
    let rows: Vec<(f64, Vec<u32>, u64)> = d.rows().map(|(t, x, n)| (t, x.to_vec(), n)).collect();
    assert_eq!(
        rows,
        vec![(1.0, vec![3], 2), (1.0, vec![4], 1), (2.5, vec![0], 1)]
    );
    assert_eq!(d.times(), vec![1.0, 2.5]);
    assert_eq!(d.origin(0), Some("cells.csv:3"));

    // Two species, columns in another order, CRLF line ends.
    let xy = vec!["X".to_string(), "Y".to_string()];
    let d2 = parse_snapshots("time,Y,X\r\n0.5,7,2\r\n", "cells.csv", &xy).unwrap();
    assert_eq!(d2.rows().next().unwrap().1, [2, 7]);

    for (text, line, col, what) in [
        ("", 1, 1, "empty file"),
        ("\n# only a comment\n", 1, 1, "empty file"),
        ("t,X\n1,2\n", 1, 1, "`time`"),
        ("time,Y\n1,2\n", 1, 6, "unknown species `Y`"),
        ("time, X, X\n1,2,2\n", 1, 10, "duplicate species `X`"),
        ("time,X\n", 1, 1, "at least one data line"),
        ("time,X\n1,2\n2,-1\n", 3, 3, "invalid count"),
        ("time,X\n1,2\n2,1.5\n", 3, 3, "invalid count"),
        ("time,X\n1,abc\n", 2, 3, "invalid count"),
        ("time,X\n1,99999999999\n", 2, 3, "invalid count"),
        ("time,X\nnan,2\n", 2, 1, "a time"),
        ("time,X\n-1,2\n", 2, 1, "a time"),
        ("time,X\ninf,2\n", 2, 1, "a time"),
        ("time,X\n1,2,3\n", 2, 1, "2 comma-separated cells"),
        ("time,X\n1\n", 2, 1, "2 comma-separated cells"),
    ] {
        let (l, c, msg) = at(parse_snapshots(text, "cells.csv", &sp));
        assert_eq!((l, c), (line, col), "{text:?}: {msg}");
        assert!(msg.contains(what), "{text:?}: {msg}");
    }
    // A species of the model without a column.
    let (l, _, msg) = at(parse_snapshots("time,X\n1,2\n", "cells.csv", &xy));
    assert_eq!(l, 1);
    assert!(msg.contains("no column for Y"), "{msg}");

    // Files: a missing one is an I/O error; a present one parses with its path.
    let dir = std::env::temp_dir().join(format!("crnkit-infer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cells.csv");
    std::fs::write(&path, "time,X\n1,2\n1,x\n").unwrap();
    let e = Error::from(read_snapshots(&path, &sp).unwrap_err());
    assert_eq!(e.location().unwrap().line, 3);
    assert!(matches!(e.kind(), Some(ModelError::InvalidCount { .. })));
    assert!(matches!(e, Error::Model(ModelError::Parse { .. })));
    assert!(matches!(
        read_snapshots(dir.join("absent.csv"), &sp),
        Err(SurrogateError::Model(ModelError::Io { .. }))
    ));
    std::fs::remove_dir_all(&dir).ok();

    // Vectors: lengths, times, no cells.
    assert!(Snapshots::new(&sp, &[1.0], &[1, 2]).is_err());
    assert!(Snapshots::new(&sp, &[f64::NAN], &[1]).is_err());
    assert!(Snapshots::new(&sp, &[-1.0], &[1]).is_err());
    assert!(Snapshots::new(&sp, &[], &[]).is_err());
    assert!(Snapshots::new(&[], &[1.0], &[]).is_err());
    assert!(Snapshots::new(&sp, &[1.0], &[1u64 << 40]).is_err());
}

#[test]
fn inference_settings_are_validated() {
    let s = surrogate();
    let sp = species();
    let data = Snapshots::new(&sp, &[1.0, 2.0, 2.0], &[3, 4, 4]).unwrap();
    let spec = |free: &[&str], fixed: &[(&str, f64)]| InferenceSpec {
        free: free.iter().map(|n| n.to_string()).collect(),
        fixed: fixed.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        initial: None,
    };
    let err = |sp: InferenceSpec, d: &Snapshots| -> String {
        match Likelihood::new(s, d, &sp) {
            Ok(_) => panic!("{sp:?} was accepted"),
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        SurrogateError::InvalidQuery { .. }
                            | SurrogateError::OutsideDomain { .. }
                            | SurrogateError::Data { .. }
                    ),
                    "{e}"
                );
                e.to_string()
            }
        }
    };
    assert!(err(spec(&["kk"], &[("g", 1.0)]), &data).contains("`kk` is not a parameter"));
    assert!(err(spec(&[], &[("gg", 1.0)]), &data).contains("`gg` is not a parameter"));
    assert!(err(spec(&["k"], &[("g", 3.0)]), &data).contains("outside the trained range"));
    assert!(err(spec(&["k"], &[("g", f64::NAN)]), &data).contains("outside the trained range"));
    assert!(err(spec(&["k"], &[]), &data).contains("neither free nor fixed"));
    assert!(err(spec(&["k", "g"], &[("g", 1.0)]), &data).contains("both free and fixed"));
    assert!(err(spec(&["k", "k"], &[("g", 1.0)]), &data).contains("twice"));
    assert!(err(spec(&[], &[("g", 1.0), ("k", 2.0)]), &data).contains("no free parameter"));
    let bad_x0 = InferenceSpec {
        initial: Some(vec![3]),
        ..InferenceSpec::default()
    };
    assert!(err(bad_x0, &data).contains("initial count"));
    // A time outside the trained range [0.5, 5].
    let late = Snapshots::new(&sp, &[9.0], &[3]).unwrap();
    assert!(err(InferenceSpec::default(), &late).contains("time 9"));
    // A cell beyond the cap: named by its origin, never a silent −∞.
    let cap = s.card.prompt.caps[0] as u64;
    let csv = format!("time,X\n1,2\n2,{}\n", cap + 1);
    let over = parse_snapshots(&csv, "cells.csv", &sp).unwrap();
    let msg = err(InferenceSpec::default(), &over);
    assert!(msg.contains("cells.csv:3") && msg.contains("cap"), "{msg}");
    // Data of other species.
    let other = Snapshots::new(&["Y".to_string()], &[1.0], &[1]).unwrap();
    assert!(err(InferenceSpec::default(), &other).contains("species"));

    // Run settings.
    let lik = Likelihood::new(s, &data, &InferenceSpec::default()).unwrap();
    let setting =
        |r: Result<(), SurrogateError>| matches!(r, Err(SurrogateError::InvalidSetting { .. }));
    for cfg in [
        McmcConfig {
            samples: 0,
            ..McmcConfig::default()
        },
        McmcConfig {
            chains: 0,
            ..McmcConfig::default()
        },
        McmcConfig {
            thin: 0,
            ..McmcConfig::default()
        },
        McmcConfig {
            target_acceptance: 1.0,
            ..McmcConfig::default()
        },
        McmcConfig {
            initial_scale: f64::NAN,
            ..McmcConfig::default()
        },
    ] {
        assert!(setting(cfg.validate()), "{cfg:?}");
        assert!(lik.mcmc(&cfg).is_err());
    }
    for cfg in [
        MleConfig {
            starts: 0,
            ..MleConfig::default()
        },
        MleConfig {
            max_iters: 0,
            ..MleConfig::default()
        },
        MleConfig {
            hessian_step: 0.0,
            ..MleConfig::default()
        },
    ] {
        assert!(setting(cfg.validate()), "{cfg:?}");
        assert!(lik.mle(&cfg).is_err());
    }
    // Parameter vectors: wrong length, outside the box.
    assert!(lik.log_likelihood(&[5.0]).is_err());
    assert!(lik.log_likelihood(&[50.0, 1.0]).is_err());
    assert!(lik.gradient(&[5.0, 0.1]).is_err());
    assert!(lik.log_likelihood_normalised(&[f64::NAN, 0.0]).is_err());
    // Normalised coordinates round-trip.
    let u = lik.normalise(&[5.0, 1.0]).unwrap();
    let back = lik.natural(&u);
    assert!((back[0] - 5.0).abs() < 1e-12 && (back[1] - 1.0).abs() < 1e-12);
    assert_eq!(lik.full_params(&[5.0, 1.0]).unwrap(), vec![5.0, 1.0]);
}

/// A two-species surrogate with an untrained network (no training needed): a linear and
/// two log-scale parameters, one of them fixed, a non-zero initial state.
fn untrained_two_species() -> Surrogate {
    let net = Network::from_crn_str(
        "parameters: a = 2, b = 1, c = 0.5\nspecies: X = 1, Y = 0\n0 -> X @ a\nX -> Y @ b\nY -> 0 @ c\n",
        "chain.crn",
    )
    .unwrap();
    let params = ParamBox::new(
        vec!["a".into(), "b".into(), "c".into()],
        vec![1.0, 0.5, 0.1],
        vec![4.0, 2.0, 1.0],
        vec![true, false, true],
    )
    .unwrap();
    let prompt = PromptSpec {
        params,
        t_min: 0.5,
        t_max: 3.0,
        initial: vec![1, 0],
        initial_box: None,
        caps: vec![10, 12],
    };
    let arch = Architecture {
        prompt_dim: prompt.dim(),
        caps: prompt.caps.clone(),
        hidden: 16,
        activation: Activation::Tanh,
    };
    let card = Card {
        format: CARD_FORMAT.into(),
        network: net.to_crn_string(),
        species: vec!["X".into(), "Y".into()],
        prompt,
        arch: arch.clone(),
        metrics: Metrics::default(),
        weights_sha256: None,
    };
    card.validate().unwrap();
    Surrogate {
        card,
        model: Model::new(arch, 4).unwrap(),
    }
}

#[test]
fn two_species_likelihood_and_gradient_with_a_fixed_parameter() {
    let s = untrained_two_species();
    let theta = [2.0, 1.2];
    let full = [2.0, 1.2, 0.3];
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for (k, &t) in [0.5, 1.5, 3.0].iter().enumerate() {
        let x = s.sample_at(400, &full, &[1, 0], t, k as u64).unwrap();
        times.extend(std::iter::repeat_n(t, 400));
        counts.extend(x.iter().map(|&v| v as u64));
    }
    let data = Snapshots::new(&s.card.species, &times, &counts).unwrap();
    assert!(data.num_rows() < 1200);
    let spec = InferenceSpec {
        free: vec!["a".into(), "b".into()],
        fixed: vec![("c".into(), 0.3)],
        initial: None,
    };
    let lik = Likelihood::new(&s, &data, &spec).unwrap();
    assert_eq!(lik.log_scale(), vec![true, false]);
    assert_eq!(lik.full_params(&theta).unwrap(), full.to_vec());
    let direct: f64 = data
        .rows()
        .map(|(t, x, n)| n as f64 * s.log_prob_at(x, &full, &[1, 0], t).unwrap()[0])
        .sum();
    let (l, g) = lik.gradient(&theta).unwrap();
    assert!((l - direct).abs() < 1e-6 * direct.abs(), "{l} vs {direct}");
    for j in 0..2 {
        let h = 1e-3 * theta[j];
        let (mut up, mut dn) = (theta, theta);
        up[j] += h;
        dn[j] -= h;
        let fd = (lik.log_likelihood(&up).unwrap() - lik.log_likelihood(&dn).unwrap()) / (2.0 * h);
        assert!(
            (g[j] - fd).abs() < 1e-3 * g[j].abs().max(1.0),
            "parameter {j}: {} vs {fd}",
            g[j]
        );
    }
    // The optimiser finds at least the data-generating point's likelihood.
    let fit = lik.mle(&MleConfig::default()).unwrap();
    eprintln!("two species: MLE {:?} ± {:?}", fit.estimate, fit.std_error);
    assert!(fit.log_likelihood >= l - 1e-3);
    assert!(
        lik.mcmc(&McmcConfig {
            chains: 2,
            burn_in: 100,
            samples: 100,
            ..McmcConfig::default()
        })
        .is_ok()
    );
}
