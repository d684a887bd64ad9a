//! Neural distillation: design, exact normalisation, training against the FSP teacher,
//! save and load.

use crnkit::Network;
use crnkit::error::{ModelError, SurrogateError};
use crnkit::surrogate::{
    Activation, Architecture, DistillConfig, InitialBox, Model, ParamBox, PromptSpec, Surrogate,
    TeacherConfig, TrainConfig, design_points, distill, halton, hellinger, quantile, solve_teacher,
    train,
};
use rand::Rng as _;

const BIRTH_DEATH: &str = "parameters: k = 5, g = 1\nspecies: X = 0\n0 -> X @ k\nX -> 0 @ g\n";

pub(crate) fn birth_death() -> Network {
    Network::from_crn_str(BIRTH_DEATH, "bd.crn").unwrap()
}

pub(crate) fn bd_box() -> ParamBox {
    ParamBox::new(
        vec!["k".into(), "g".into()],
        vec![1.0, 0.5],
        vec![10.0, 2.0],
        vec![true, true],
    )
    .unwrap()
}

/// Largest |fraction of points in [0, a) × [0, b) − a b| over a 32 × 32 grid of anchors: a
/// lower bound of the star discrepancy.
fn star_discrepancy(points: &[Vec<f64>]) -> f64 {
    let mut d = 0.0f64;
    for i in 1..=32 {
        for j in 1..=32 {
            let (a, b) = (i as f64 / 32.0, j as f64 / 32.0);
            let inside = points.iter().filter(|p| p[0] < a && p[1] < b).count();
            d = d.max((inside as f64 / points.len() as f64 - a * b).abs());
        }
    }
    d
}

#[test]
fn design_is_in_the_box_and_more_uniform_than_iid() {
    let b = bd_box();
    let pts = b.design(0, 256, 7);
    assert_eq!(pts.len(), 256);
    assert!(pts.iter().all(|p| b.contains(p)));
    // Normalised inputs lie in [-1, 1].
    for p in &pts {
        assert!(b.normalise(p).unwrap().iter().all(|v| v.abs() <= 1.0));
    }
    // Same seed, same design; another seed shifts it.
    assert_eq!(pts, b.design(0, 256, 7));
    assert_ne!(pts, b.design(0, 256, 8));
    let d_halton = star_discrepancy(&halton(2, 0, 256, 7));
    // i.i.d. uniform points: D* ≈ 1/√N; the Halton points: O(log² N / N).
    for seed in 0..5 {
        let mut rng = crnkit::rng::stream(seed, 0);
        let iid: Vec<Vec<f64>> = (0..256)
            .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
            .collect();
        let d_iid = star_discrepancy(&iid);
        assert!(
            d_halton < 0.5 * d_iid,
            "halton {d_halton} vs iid {d_iid} (seed {seed})"
        );
    }
}

#[test]
#[allow(clippy::result_large_err)]
fn parameter_box_validation() {
    let mk = |lo: f64, hi: f64, log: bool| {
        ParamBox::new(vec!["k".into()], vec![lo], vec![hi], vec![log])
    };
    assert!(mk(1.0, 2.0, true).is_ok());
    assert!(mk(-1.0, 2.0, false).is_ok());
    for (lo, hi, log) in [
        (2.0, 1.0, false),
        (1.0, 1.0, false),
        (0.0, 1.0, true),
        (1.0, f64::NAN, false),
    ] {
        assert!(
            matches!(mk(lo, hi, log), Err(SurrogateError::InvalidModel { .. })),
            "{lo} {hi} {log}"
        );
    }
    let two = ParamBox::new(
        vec!["k".into(), "k".into()],
        vec![1.0; 2],
        vec![2.0; 2],
        vec![false; 2],
    );
    assert!(two.is_err());
    assert!(mk(1.0, 2.0, true).unwrap().normalise(&[-1.0]).is_err());
}

#[test]
fn autoregressive_model_is_exactly_normalised() {
    let arch = Architecture {
        prompt_dim: 3,
        caps: vec![5, 7],
        hidden: 16,
        activation: Activation::Silu,
    };
    let model = Model::new(arch, 3).unwrap();
    let mut rng = crnkit::rng::stream(11, 0);
    for _ in 0..4 {
        let c: Vec<f64> = (0..3).map(|_| rng.random::<f64>() * 4.0 - 2.0).collect();
        let (states, q) = model.joint(&c).unwrap();
        assert_eq!(q.len(), 6 * 8);
        let total: f64 = q.iter().sum();
        assert!((total - 1.0).abs() < 1e-6, "Σ q = {total}");
        // log_prob agrees with the joint state by state.
        let prompts: Vec<f64> = (0..q.len()).flat_map(|_| c.clone()).collect();
        let lp = model.log_prob(&states, &prompts).unwrap();
        // (f32 weights: batches of different sizes round differently, within 1e-6.)
        for (l, p) in lp.iter().zip(&q) {
            assert!((l.exp() - p).abs() < 1e-6, "{} vs {p}", l.exp());
        }
        // Marginals are the joint's.
        let m1 = model.marginal(1, &c).unwrap();
        for (x, &m) in m1.iter().enumerate() {
            let from_joint: f64 = (0..q.len())
                .filter(|&k| states[2 * k + 1] == x as u32)
                .map(|k| q[k])
                .sum();
            assert!((m - from_joint).abs() < 1e-9);
        }
        // States beyond a cap have probability 0.
        let out = model.log_prob(&[6, 0], &c).unwrap();
        assert_eq!(out[0], f64::NEG_INFINITY);
    }
    // Ancestral samples follow the joint: frequencies within 5 sd on 20,000 draws.
    let c = [0.3, -0.2, 0.9];
    let (states, q) = model.joint(&c).unwrap();
    let n = 20_000;
    let s = model.sample(n, &c, 5).unwrap();
    assert_eq!(s, model.sample(n, &c, 5).unwrap());
    for (k, &p) in q.iter().enumerate() {
        let hits = s
            .chunks_exact(2)
            .filter(|x| *x == &states[2 * k..2 * k + 2])
            .count() as f64;
        let sd = (n as f64 * p * (1.0 - p)).sqrt().max(1.0);
        assert!(
            (hits - n as f64 * p).abs() < 5.0 * sd,
            "state {k}: {hits} vs {}",
            n as f64 * p
        );
    }
}

/// The fast recipe: immigration–death over the box, x0 = 0, times 0.5..5 (shared by the
/// inference and trajectory tests, which adjust it).
pub(crate) fn fast_config() -> DistillConfig {
    DistillConfig {
        params: bd_box(),
        initial: None,
        ssa_samples: None,
        teacher: TeacherConfig {
            times: (1..=10).map(|k| 0.5 * k as f64).collect(),
            ..TeacherConfig::default()
        },
        train_points: 48,
        val_points: 16,
        design_seed: 1,
        hidden: 48,
        activation: Activation::Silu,
        init_seed: 2,
        train: TrainConfig {
            epochs: 60,
            batch_pairs: 16,
            lr: 5e-3,
            patience: 60,
            seed: 3,
            ..TrainConfig::default()
        },
        teacher_cache: None,
    }
}

/// Caps that are natural bounds (a conserved pair A + B = 1) are marked closed by the exact
/// teacher; a truncated count (X) is not; the SSA teacher marks none.
#[test]
fn teacher_marks_natural_bounds_as_closed() {
    let net = Network::from_crn_str(
        "parameters: k = 5, g = 1\nspecies: A = 1, B = 0, X = 0\nA -> B @ 1\nB -> A @ 2\n0 -> X @ k\nX -> 0 @ g\n",
        "ab.crn",
    )
    .unwrap();
    let pts = design_points(&bd_box(), &InitialBox::fixed(&[1, 0, 0]), 0, 6, 1);
    let cfg = TeacherConfig {
        times: vec![0.5, 2.0],
        ..TeacherConfig::default()
    };
    let exact = solve_teacher(&net, &bd_box(), &pts, &cfg).unwrap();
    assert_eq!(exact.caps[..2], [1, 1]);
    assert_eq!(exact.closed, vec![true, true, false]);
    let sampled = crnkit::surrogate::sample_teacher(&net, &bd_box(), &pts, &cfg, 200, 3).unwrap();
    assert_eq!(sampled.closed, vec![false; 3]);
}

/// The teacher cache: a second run reads the solutions back (shown by planting altered data
/// under the right key), and other settings or a damaged file mean solving again.
#[test]
fn teacher_cache_is_reused_only_under_the_same_settings() {
    use crnkit::surrogate::cache::{self, Lookup};
    let dir = std::env::temp_dir().join(format!("crnkit-teacher-cache-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut cfg = fast_config();
    cfg.train_points = 12;
    cfg.val_points = 4;
    cfg.train.epochs = 2;
    cfg.teacher_cache = Some(dir.clone());
    let net = birth_death();
    let first = distill(&net, &cfg).unwrap();
    let val = dir.join("val.bin");
    let bytes = std::fs::read(&val).unwrap();
    let key_len = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let key = std::str::from_utf8(&bytes[16..16 + key_len])
        .unwrap()
        .to_string();
    let Lookup::Hit(mut data) = cache::load(&val, &key) else {
        panic!("the cache just written does not read back");
    };
    assert_eq!(data.points.len(), 4);
    assert_eq!(
        serde_json::to_string(&data.points).unwrap(),
        serde_json::to_string(&first.validation.points).unwrap()
    );
    // Plant a shorter validation set under the same key: the next run must use it.
    data.points.pop();
    cache::store(&val, &key, &data).unwrap();
    let second = distill(&net, &cfg).unwrap();
    assert_eq!(second.validation.points.len(), 3);
    assert_eq!(second.hellinger.len(), 3 * cfg.teacher.times.len());
    // Other settings: the planted file is stale and is replaced by a fresh solve.
    cfg.teacher.tol = 1e-9;
    let third = distill(&net, &cfg).unwrap();
    assert_eq!(third.validation.points.len(), 4);
    assert!(matches!(cache::load(&val, &key), Lookup::Stale));
    // A damaged file is solved again, never trusted.
    let mut bytes = std::fs::read(&val).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0x40;
    std::fs::write(&val, &bytes).unwrap();
    let fourth = distill(&net, &cfg).unwrap();
    assert_eq!(fourth.validation.points.len(), 4);
    assert_eq!(fourth.hellinger, third.hellinger);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn distils_birth_death_within_a_measured_bound() {
    let net = birth_death();
    let t = std::time::Instant::now();
    let d = distill(&net, &fast_config()).unwrap();
    let m = &d.surrogate.card.metrics;
    eprintln!(
        "birth-death fast distillation: {:.2} s, caps {:?}, best epoch {}, val KL {:.3e}, Hellinger median {:.4} p90 {:.4} max {:.4}",
        t.elapsed().as_secs_f64(),
        d.surrogate.card.arch.caps,
        m.best_epoch,
        m.val_kl,
        m.hellinger_median,
        m.hellinger_p90,
        m.hellinger_max
    );
    assert_eq!(d.hellinger.len(), 16 * 10);
    assert!(m.max_outside < 1e-8);
    // Validation KL fell from the random initialisation's.
    assert!(d.report.val_kl[0] > 10.0 * m.val_kl);
    // Measured on this seed: median 0.0158, p90 0.0328, max 0.054 (1.1 s, 2 cores). The
    // bounds leave room for other CPUs' rounding (f32 kernels differ by instruction set).
    assert!(
        m.hellinger_median < 0.025,
        "median Hellinger {}",
        m.hellinger_median
    );
    assert!(m.hellinger_p90 < 0.06, "p90 Hellinger {}", m.hellinger_p90);
}

#[test]
fn distils_birth_death_to_the_acceptance_target() {
    let mut cfg = fast_config();
    cfg.train_points = 128;
    cfg.val_points = 32;
    cfg.teacher.times = (1..=20).map(|k| 0.25 * k as f64).collect();
    cfg.hidden = 64;
    cfg.train.epochs = 300;
    cfg.train.patience = 300;
    let d = distill(&birth_death(), &cfg).unwrap();
    let m = &d.surrogate.card.metrics;
    eprintln!(
        "birth-death full distillation: train {:.1} s, val KL {:.3e}, Hellinger median {:.4} p90 {:.4}",
        m.train_seconds, m.val_kl, m.hellinger_median, m.hellinger_p90
    );
    assert!(
        m.hellinger_median <= 0.02,
        "median Hellinger {}",
        m.hellinger_median
    );
}

fn tiny_surrogate() -> Surrogate {
    let net = birth_death();
    let pbox = bd_box();
    let caps = vec![12];
    let spec = PromptSpec {
        params: pbox,
        t_min: 0.5,
        t_max: 5.0,
        initial: vec![0],
        initial_box: None,
        caps: caps.clone(),
    };
    let arch = Architecture {
        prompt_dim: spec.dim(),
        caps,
        hidden: 8,
        activation: Activation::Tanh,
    };
    Surrogate {
        card: crnkit::surrogate::Card {
            format: crnkit::surrogate::CARD_FORMAT.into(),
            network: net.to_crn_string(),
            species: vec!["X".into()],
            prompt: spec,
            arch: arch.clone(),
            metrics: Default::default(),
            weights_sha256: None,
        },
        model: Model::new(arch, 9).unwrap(),
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crnkit-surrogate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn save_and_load_round_trip() {
    let s = tiny_surrogate();
    let dir = temp_dir("roundtrip");
    s.save(&dir).unwrap();
    let back = Surrogate::load(&dir).unwrap();
    // The saved card records the weights' checksum; the rest is the same.
    let sha = crnkit::surrogate::sha256_hex(&std::fs::read(dir.join("model.safetensors")).unwrap());
    assert_eq!(back.card.weights_sha256.as_deref(), Some(sha.as_str()));
    let unsummed = crnkit::surrogate::Card {
        weights_sha256: None,
        ..back.card.clone()
    };
    assert_eq!(unsummed, s.card);
    let states: Vec<u32> = (0..=12).collect();
    for (params, t) in [([2.0, 1.0], 1.0), ([9.0, 0.6], 4.5)] {
        assert_eq!(
            s.log_prob(&states, &params, t).unwrap(),
            back.log_prob(&states, &params, t).unwrap()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A change to a card's JSON.
type CardEdit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn corrupt_or_mismatched_files_are_errors() {
    let s = tiny_surrogate();
    use std::error::Error as _;
    let load_err = |dir: &std::path::Path| match Surrogate::load(dir) {
        Err(e) => e,
        Ok(_) => panic!("expected an error loading {}", dir.display()),
    };
    let is_err = |dir: &std::path::Path| match load_err(dir) {
        SurrogateError::Card { reason } | SurrogateError::InvalidModel { reason } => reason,
        SurrogateError::Weights { path, reason, .. } => format!("{path}: {reason}"),
        SurrogateError::Model(ModelError::Io { path, .. }) => path,
        other => panic!("expected a card, weights or file error, got {other}"),
    };
    // A broken weights file names the file and keeps candle's error as the source.
    let candle_source = |dir: &std::path::Path| match load_err(dir) {
        e @ SurrogateError::Weights {
            source: Some(_), ..
        } => {
            let src = e.source().expect("a source");
            assert!(src.downcast_ref::<candle_core::Error>().is_some(), "{src}");
            e.to_string()
        }
        other => panic!("expected a weights error from candle, got {other}"),
    };
    // Missing folder.
    let dir = temp_dir("missing");
    assert!(matches!(
        load_err(&dir),
        SurrogateError::Model(ModelError::Io { .. })
    ));
    // Truncated and garbage weights: the card's checksum refuses them by name first.
    let dir = temp_dir("corrupt");
    s.save(&dir).unwrap();
    let w = dir.join("model.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let reason = is_err(&dir);
    assert!(
        reason.contains("model.safetensors") && reason.contains("SHA-256"),
        "{reason}"
    );
    // With a card that records no checksum (written before it was recorded), candle's
    // reader refuses them, kept as the error's source.
    let card_path = dir.join("card.json");
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
    card.as_object_mut().unwrap().remove("weights_sha256");
    std::fs::write(&card_path, serde_json::to_string(&card).unwrap()).unwrap();
    let text = candle_source(&dir);
    assert!(text.contains("model.safetensors"), "{text}");
    std::fs::write(&w, b"not a safetensors file").unwrap();
    let text = candle_source(&dir);
    assert!(text.contains("not a valid safetensors file"), "{text}");
    std::fs::remove_file(&w).unwrap();
    assert!(matches!(
        load_err(&dir),
        SurrogateError::Model(ModelError::Io { ref path, .. }) if path.ends_with("model.safetensors")
    ));
    // Weights of another architecture.
    let other_dir = temp_dir("other");
    let mut other = tiny_surrogate();
    other.card.arch.hidden = 9;
    other.model = Model::new(other.card.arch.clone(), 1).unwrap();
    other.save(&other_dir).unwrap();
    std::fs::copy(other_dir.join("model.safetensors"), &w).unwrap();
    let reason = is_err(&dir);
    assert!(reason.contains("weight"), "{reason}");
    // Cards that do not match themselves or the weights.
    s.save(&dir).unwrap();
    let good = std::fs::read_to_string(&card_path).unwrap();
    let edits: Vec<CardEdit> = vec![
        Box::new(|c| c["format"] = "crnkit-surrogate/999".into()),
        Box::new(|c| c["arch"]["caps"] = serde_json::json!([13])),
        Box::new(|c| c["prompt"]["caps"] = serde_json::json!([13])),
        Box::new(|c| c["arch"]["prompt_dim"] = 7.into()),
        Box::new(|c| c["species"] = serde_json::json!(["Y"])),
        Box::new(|c| c["prompt"]["params"]["names"] = serde_json::json!(["k", "h"])),
        Box::new(|c| c["prompt"]["params"]["lo"] = serde_json::json!([0.0, 0.5])),
        Box::new(|c| c["network"] = "species: X\n0 -> X @ nope\n".into()),
        Box::new(|c| c["arch"]["hidden"] = 9.into()),
    ];
    for (k, edit) in edits.iter().enumerate() {
        let mut card: serde_json::Value = serde_json::from_str(&good).unwrap();
        edit(&mut card);
        std::fs::write(&card_path, serde_json::to_string(&card).unwrap()).unwrap();
        let reason = is_err(&dir);
        assert!(!reason.is_empty(), "edit {k}");
    }
    std::fs::write(&card_path, "{ not json").unwrap();
    match load_err(&dir) {
        e @ SurrogateError::CardFile { .. } => {
            assert!(e.source().unwrap().is::<serde_json::Error>(), "{e}");
        }
        other => panic!("expected a card file error, got {other}"),
    }
    std::fs::write(&card_path, &good).unwrap();
    assert!(Surrogate::load(&dir).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other_dir);
}

#[test]
fn hellinger_distance_basics() {
    assert_eq!(hellinger(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
    assert!((hellinger(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
    assert!((quantile(&[3.0, 1.0, 2.0], 0.5) - 2.0).abs() < 1e-12);
}

/// A small teacher, spec and architecture for the training-loop tests.
fn small_problem() -> (
    crnkit::surrogate::TeacherData,
    crnkit::surrogate::TeacherData,
    PromptSpec,
    Architecture,
) {
    let net = birth_death();
    let b = bd_box();
    let cfg = TeacherConfig {
        times: vec![1.0, 2.0, 4.0],
        ..TeacherConfig::default()
    };
    let tr = solve_teacher(
        &net,
        &b,
        &design_points(&b, &InitialBox::fixed(&[0]), 0, 8, 4),
        &cfg,
    )
    .unwrap();
    let va = solve_teacher(
        &net,
        &b,
        &design_points(&b, &InitialBox::fixed(&[0]), 8, 4, 4),
        &TeacherConfig {
            caps: Some(tr.caps.clone()),
            ..cfg
        },
    )
    .unwrap();
    let spec = PromptSpec {
        params: b,
        t_min: 1.0,
        t_max: 4.0,
        initial: vec![0],
        initial_box: None,
        caps: tr.caps.clone(),
    };
    let arch = Architecture {
        prompt_dim: spec.dim(),
        caps: tr.caps.clone(),
        hidden: 16,
        activation: Activation::Silu,
    };
    (tr, va, spec, arch)
}

#[test]
fn teacher_matches_the_poisson_law_and_training_is_reproducible() {
    let (tr, va, spec, arch) = small_problem();
    // Immigration-death from 0: X(t) ~ Poisson(k/g (1 − e^{−g t})).
    let pt = &tr.points[0];
    let (k, g) = (pt.params[0], pt.params[1]);
    for s in &pt.slices {
        let mean = k / g * (1.0 - (-g * s.time).exp());
        let mut ln_fact = 0.0;
        for (n, &p) in s.probs.iter().enumerate() {
            assert_eq!(s.states[n], n as u32);
            if n > 0 {
                ln_fact += (n as f64).ln();
            }
            let exact = (-mean + n as f64 * mean.ln() - ln_fact).exp();
            assert!(
                (p - exact).abs() < 1e-8,
                "t {} n {n}: {p} vs {exact}",
                s.time
            );
        }
    }
    let cfg = TrainConfig {
        epochs: 3,
        batch_pairs: 4,
        seed: 5,
        ..TrainConfig::default()
    };
    let run = || {
        let mut m = Model::new(arch.clone(), 1).unwrap();
        let r = train(&mut m, &spec, &tr, &va, &cfg).unwrap();
        let states: Vec<u32> = (0..=arch.caps[0]).collect();
        let c = spec.prompt(&[3.0, 1.0], 2.0).unwrap();
        let prompts: Vec<f64> = states.iter().flat_map(|_| c.clone()).collect();
        (r.val_kl, m.log_prob(&states, &prompts).unwrap())
    };
    let (kl1, lp1) = run();
    let (kl2, lp2) = run();
    assert_eq!(kl1, kl2);
    assert_eq!(lp1, lp2);
    assert!(kl1[2] < kl1[0], "{kl1:?}");
}

/// A progress sink that cancels its token once `after` epochs are reported done: a run
/// interrupted at an epoch boundary, as Ctrl-C or a kill between epochs leaves it.
pub(crate) struct CancelAfter {
    pub(crate) token: crnkit::progress::CancelToken,
    pub(crate) after: u64,
}

impl crnkit::progress::Progress for CancelAfter {
    fn start(
        &self,
        _: &str,
        _: crnkit::progress::Unit,
        _: u64,
        _: u64,
    ) -> Box<dyn crnkit::progress::Task> {
        Box::new(CancelAfter {
            token: self.token.clone(),
            after: self.after,
        })
    }
}

impl crnkit::progress::Task for CancelAfter {
    fn set_position(&self, pos: u64) {
        if pos >= self.after {
            self.token.cancel();
        }
    }
    fn inc(&self, _: u64) {}
}

/// Interrupted after epoch 2 of 4 and resumed, training ends with the weights, losses and
/// best epoch of an uninterrupted run, bit for bit (the optimiser's moments are part of the
/// checkpoint).
#[test]
fn interrupted_training_resumes_bit_identically() {
    let (tr, va, spec, arch) = small_problem();
    let cfg = TrainConfig {
        epochs: 4,
        batch_pairs: 4,
        seed: 5,
        ..TrainConfig::default()
    };
    let states: Vec<u32> = (0..=arch.caps[0]).collect();
    let c = spec.prompt(&[3.0, 1.0], 2.0).unwrap();
    let prompts: Vec<f64> = states.iter().flat_map(|_| c.clone()).collect();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();

    let mut whole = Model::new(arch.clone(), 1).unwrap();
    let full = train(&mut whole, &spec, &tr, &va, &cfg).unwrap();

    let dir = temp_dir("interrupted");
    let token = crnkit::progress::CancelToken::new();
    let sink = CancelAfter {
        token: token.clone(),
        after: 2,
    };
    let mut first = cfg.clone();
    first.checkpoint_dir = Some(dir.clone());
    first.progress = crnkit::progress::Reporter::new(sink).with_cancel(token);
    let mut m = Model::new(arch.clone(), 1).unwrap();
    let e = train(&mut m, &spec, &tr, &va, &first).unwrap_err();
    assert!(e.to_string().contains("cancel"), "{e}");

    let mut second = cfg.clone();
    second.checkpoint_dir = Some(dir.clone());
    second.resume = true;
    let mut m = Model::new(arch.clone(), 77).unwrap();
    let resumed = train(&mut m, &spec, &tr, &va, &second).unwrap();
    assert_eq!(resumed.resumed_from, Some(2));
    assert_eq!(bits(&resumed.train_kl), bits(&full.train_kl));
    assert_eq!(bits(&resumed.val_kl), bits(&full.val_kl));
    assert_eq!(resumed.best_epoch, full.best_epoch);
    assert_eq!(
        bits(&m.log_prob(&states, &prompts).unwrap()),
        bits(&whole.log_prob(&states, &prompts).unwrap())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn training_checkpoints_and_resumes() {
    let (tr, va, spec, arch) = small_problem();
    let dir = temp_dir("checkpoint");
    let mut cfg = TrainConfig {
        epochs: 2,
        batch_pairs: 4,
        seed: 5,
        checkpoint_dir: Some(dir.clone()),
        resume: true,
        ..TrainConfig::default()
    };
    let mut m = Model::new(arch.clone(), 1).unwrap();
    let first = train(&mut m, &spec, &tr, &va, &cfg).unwrap();
    assert_eq!(first.epochs_run, 2);
    assert_eq!(first.resumed_from, None);
    // One envelope and the last generation's weights (last and best epoch), nothing else.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint.2.best.safetensors",
            "checkpoint.2.optimizer.safetensors",
            "checkpoint.2.weights.safetensors",
            "checkpoint.json"
        ]
    );
    assert!(!dir.join("checkpoint.json.tmp").exists());
    let cp_path = dir.join("checkpoint.json");
    let seconds_in = |path: &std::path::Path| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["state"]["seconds"].as_f64().unwrap()
    };
    // The last epoch's checkpoint records the time up to that epoch; the report, taken
    // after restoring the best weights, can only exceed it.
    let recorded_first = seconds_in(&cp_path);
    assert!(recorded_first > 0.0 && recorded_first <= first.seconds);
    cfg.epochs = 4;
    let mut fresh = Model::new(arch.clone(), 99).unwrap();
    let second = train(&mut fresh, &spec, &tr, &va, &cfg).unwrap();
    assert_eq!(second.resumed_from, Some(2));
    assert_eq!(second.epochs_run, 4);
    assert_eq!(second.val_kl.len(), 4);
    assert_eq!(second.val_kl[..2], first.val_kl[..]);
    // Training time accumulates over resumed runs and counts toward the budget: a
    // checkpoint recording 1,000 s stops a run with a 500 s budget before any epoch.
    let recorded_second = seconds_in(&cp_path);
    assert!(recorded_first < recorded_second && recorded_second <= second.seconds);
    let mut cp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cp_path).unwrap()).unwrap();
    assert_eq!(cp["format"], "crnkit-checkpoint");
    assert_eq!(cp["job"], "distill");
    cp["state"]["seconds"] = serde_json::json!(1000.0);
    std::fs::write(&cp_path, cp.to_string()).unwrap();
    cfg.epochs = 6;
    cfg.max_seconds = Some(500.0);
    let mut third_model = Model::new(fresh.arch().clone(), 0).unwrap();
    let third = train(&mut third_model, &spec, &tr, &va, &cfg).unwrap();
    assert_eq!(third.stop, crnkit::surrogate::TrainStop::Budget);
    assert_eq!(third.epochs_run, 4);
    assert!(third.seconds >= 1000.0);
    cfg.max_seconds = None;
    // A corrupt checkpoint is a named error, not a panic.
    std::fs::write(dir.join("checkpoint.4.weights.safetensors"), b"garbage").unwrap();
    cfg.epochs = 6;
    let mut again = Model::new(fresh.arch().clone(), 0).unwrap();
    let e = train(&mut again, &spec, &tr, &va, &cfg).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    // A checkpoint of other settings (here the learning rate) is refused by name.
    std::fs::remove_dir_all(&dir).unwrap();
    cfg.epochs = 2;
    train(
        &mut Model::new(arch.clone(), 1).unwrap(),
        &spec,
        &tr,
        &va,
        &cfg,
    )
    .unwrap();
    for change in [
        &|c: &mut TrainConfig| c.lr *= 2.0,
        &|c: &mut TrainConfig| c.seed += 1,
        &|c: &mut TrainConfig| c.batch_pairs += 1,
    ] as [&dyn Fn(&mut TrainConfig); 3]
    {
        let mut other = cfg.clone();
        other.epochs = 3;
        change(&mut other);
        let mut m = Model::new(arch.clone(), 1).unwrap();
        let e = train(&mut m, &spec, &tr, &va, &other).unwrap_err();
        assert!(e.to_string().contains("other settings"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The SSA teacher's empirical distributions agree with the exact Poisson law of
/// immigration–death (chi-square per slice), and do not depend on the thread count.
#[test]
fn ssa_teacher_histograms_follow_the_exact_law() {
    use crnkit::surrogate::sample_teacher;
    let net = birth_death();
    let b = bd_box();
    let pts = design_points(&b, &InitialBox::fixed(&[0]), 0, 6, 11);
    let cfg = TeacherConfig {
        times: vec![0.5, 2.0, 5.0],
        caps: Some(vec![40]),
        ..TeacherConfig::default()
    };
    let n = 4000;
    let data = sample_teacher(&net, &b, &pts, &cfg, n, 5).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| sample_teacher(&net, &b, &pts, &cfg, n, 5).unwrap());
    assert_eq!(
        serde_json::to_string(&data).unwrap(),
        serde_json::to_string(&one).unwrap()
    );
    // Chi-square over bins with expected count ≥ 5 (the rest pooled), 18 slices: each at
    // level 1e-4 (Bonferroni 18 × 1e-4 ≈ 2e-3 overall); the critical value is the
    // Wilson–Hilferty approximation of the chi-square quantile.
    let mut worst: f64 = 0.0;
    for pt in &data.points {
        let (k, g) = (pt.params[0], pt.params[1]);
        for s in &pt.slices {
            let mean = k / g * (1.0 - (-g * s.time).exp());
            let mut exact = vec![(-mean).exp()];
            for x in 1..=40 {
                let last = exact[x - 1];
                exact.push(last * mean / x as f64);
            }
            let mut obs = vec![0.0; 41];
            for (st, &p) in s.states.iter().zip(&s.probs) {
                obs[*st as usize] += p * n as f64;
            }
            let (mut chi, mut dof, mut pool_o, mut pool_e) = (0.0, 0usize, 0.0, 0.0);
            for x in 0..=40 {
                let e = exact[x] * n as f64;
                if e >= 5.0 {
                    chi += (obs[x] - e).powi(2) / e;
                    dof += 1;
                } else {
                    pool_o += obs[x];
                    pool_e += e;
                }
            }
            pool_e += (1.0 - exact.iter().sum::<f64>()) * n as f64;
            pool_o += s.outside * n as f64;
            if pool_e > 0.0 {
                chi += (pool_o - pool_e).powi(2) / pool_e;
                dof += 1;
            }
            let nu = (dof - 1) as f64;
            let z = 3.719; // one-sided 1e-4
            let crit = nu * (1.0 - 2.0 / (9.0 * nu) + z * (2.0 / (9.0 * nu)).sqrt()).powi(3);
            worst = worst.max(chi / crit);
            assert!(chi < crit, "k {k} g {g} t {}: chi2 {chi} > {crit}", s.time);
        }
    }
    eprintln!("SSA teacher: largest chi2 / critical value {worst:.3}");
}

/// Distillation from SSA samples (maximum likelihood) approaches the exact law: held-out
/// Hellinger against the FSP solution.
#[test]
fn distils_from_ssa_samples() {
    let mut cfg = fast_config();
    cfg.ssa_samples = Some((1000, 7));
    cfg.teacher.caps = Some(vec![40]);
    let d = distill(&birth_death(), &cfg).unwrap();
    let m = &d.surrogate.card.metrics;
    eprintln!(
        "birth-death from SSA samples: Hellinger vs FSP median {:.4} p90 {:.4} max {:.4}",
        m.hellinger_median, m.hellinger_p90, m.hellinger_max
    );
    // One empirical histogram of N = 1000 draws over K ≈ 15 occupied bins is at
    // Hellinger ≈ sqrt((K − 1)/(8N)) ≈ 0.042 from the truth; the model pools 48 points and
    // must do better than a single histogram.
    assert!(m.hellinger_median < 0.042, "median {}", m.hellinger_median);
    // The validation data are the exact law, not samples.
    let pt = &d.validation.points[0];
    let s = &pt.slices[0];
    let mean = pt.params[0] / pt.params[1] * (1.0 - (-pt.params[1] * s.time).exp());
    for (x, p) in s.states.iter().zip(&s.probs) {
        let mut e = (-mean).exp();
        for j in 1..=*x {
            e *= mean / j as f64;
        }
        assert!((p - e).abs() < 1e-7, "x {x}: {p} vs {e}");
    }
}
