//! `crnkit distill` and `crnkit query`: a configuration file end to end, resumption,
//! queries checked against the library and the exact CME, and bad input.

use std::path::Path;
use std::process::Command;

use crnkit::surrogate::{Surrogate, config, hellinger};

fn crnkit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crnkit"))
        .args(args)
        .output()
        .expect("run crnkit")
}

const CONFIG: &str = r#"
[model]
file = "bd.crn"

[[param]]
name = "k"
lo = 1.0
hi = 10.0
log = true

[[param]]
name = "g"
lo = 0.5
hi = 2.0
log = true

[initial]
X = [0, 12]

[teacher]
t_max = 4.0
n_times = 8

[design]
train_points = 96
val_points = 8
seed = 1

[network]
hidden = 48
seed = 2

[train]
epochs = 150
batch_pairs = 16
lr = 5e-3
seed = 3

[output]
dir = "model"
"#;

/// A fresh folder holding the configuration and the model file.
fn setup(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crnkit-distill-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bd.crn"),
        "parameters: k = 5, g = 1\nspecies: X = 0\n0 -> X @ k\nX -> 0 @ g\n",
    )
    .unwrap();
    std::fs::write(dir.join("distill.toml"), CONFIG).unwrap();
    dir
}

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The Poisson law of immigration–death from x0 = 0: mean k/g (1 − e^{−g t}).
fn poisson(mean: f64, n: usize) -> Vec<f64> {
    let mut p = vec![(-mean).exp()];
    for k in 1..n {
        let last = p[k - 1];
        p.push(last * mean / k as f64);
    }
    p
}

/// `query` from x0 = 0 against the exact Poisson law, and from another initial state
/// against the library.
fn query_matches_the_exact_law(out: &Path, s: &Surrogate) {
    // Moments from x0 = 0 against the exact Poisson law (the surrogate is coarse; the
    // bound is its measured held-out accuracy with a margin).
    let (k, g, t) = (4.0f64, 1.2f64, 2.0f64);
    let m = stdout(&crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "g=1.2,k=4",
        "--t",
        "2",
    ]));
    let row: Vec<f64> = m
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    let mean = k / g * (1.0 - (-g * t).exp());
    assert!((row[0] - mean).abs() < 0.1 * mean, "{m}");
    assert!((row[1] - mean.sqrt()).abs() < 0.15 * mean.sqrt(), "{m}");

    // The marginal equals the library's and is close to the Poisson law.
    let mcsv = stdout(&crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "4,1.2",
        "--t",
        "2",
        "--marginal",
        "X",
    ]));
    let q: Vec<f64> = mcsv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let lib = s.marginal(0, &[4.0, 1.2], 2.0).unwrap();
    assert_eq!(q.len(), lib.len());
    for (a, b) in q.iter().zip(&lib) {
        assert!((a - b).abs() <= 1e-12 * b.max(1e-300) + 1e-15, "{a} vs {b}");
    }
    let exact = poisson(mean, q.len());
    assert!(
        hellinger(&exact, &q) < 0.08,
        "H = {}",
        hellinger(&exact, &q)
    );

    // States from another initial state: log-probabilities agree with the library.
    let st = stdout(&crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "k=4,g=1.2",
        "--x0",
        "X=7",
        "--t",
        "1.5",
        "--state",
        "3;5;9",
    ]));
    let lp: Vec<f64> = st
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let want = s.log_prob_at(&[3, 5, 9], &[4.0, 1.2], &[7], 1.5).unwrap();
    assert_eq!(lp.len(), 3);
    for (a, b) in lp.iter().zip(&want) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

/// `query` samples (reproducible by seed), joint (sums to one), queries outside the box
/// and bad input.
fn query_samples_joint_and_errors(out: &Path) {
    // Samples: reproducible by seed, the joint sums to one.
    let a = stdout(&crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "4,1.2",
        "--t",
        "2",
        "--sample",
        "50",
        "--seed",
        "9",
    ]));
    let b = stdout(&crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "4,1.2",
        "--t",
        "2",
        "--sample",
        "50",
        "--seed",
        "9",
    ]));
    assert_eq!(a, b);
    assert_eq!(a.lines().count(), 51);
    let j = stdout(&crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "4,1.2",
        "--t",
        "2",
        "--joint",
    ]));
    let total: f64 = j
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");

    // Outside the box: a warning, or an error with --strict.
    let o = crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "20,1",
        "--t",
        "2",
    ]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning") && err.contains("`k` = 20"), "{err}");
    let o = crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "20,1",
        "--t",
        "2",
        "--strict",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--strict"));
    let o = crnkit(&[
        "query",
        out.to_str().unwrap(),
        "--rates",
        "4,1",
        "--x0",
        "X=30",
        "--t",
        "2",
        "--strict",
    ]);
    assert!(!o.status.success());

    query_bad_input(out);
}

/// `query` with bad input: errors name it.
fn query_bad_input(out: &Path) {
    // Bad input by name.
    for (args, needle) in [
        (vec!["--rates", "4", "--t", "1"], "expected 2 values"),
        (vec!["--rates", "k=4", "--t", "1"], "`g` is missing"),
        (
            vec!["--rates", "k=4,h=1", "--t", "1"],
            "`h` is not a parameter",
        ),
        (
            vec!["--rates", "4,1", "--x0", "1,2", "--t", "1"],
            "expected 1 counts",
        ),
        (
            vec!["--rates", "4,1", "--x0", "Y=1", "--t", "1"],
            "`Y` is not a species",
        ),
        (
            vec!["--rates", "4,1", "--x0", "X=-1", "--t", "1"],
            "not a count",
        ),
        (
            vec!["--rates", "4,1", "--t", "1", "--state", "1,2"],
            "expected 1 counts",
        ),
        (
            vec!["--rates", "4,1", "--t", "1", "--marginal", "Y"],
            "`Y` is not a species",
        ),
        (vec!["--rates", "4,nan", "--t", "1"], "not a finite number"),
        (vec!["--rates", "-4,1", "--t", "1"], "must be > 0"),
    ] {
        let mut full = vec!["query", out.to_str().unwrap()];
        full.extend(args.iter());
        let o = crnkit(&full);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}

/// `infer` on data sampled from the surrogate, with MCMC, a fixed parameter, and bad input.
fn infer_end_to_end(dir: &Path, out: &Path, s: &Surrogate) {
    // Inference from snapshot data drawn from the surrogate itself at (k, g) = (4, 1.2):
    // the MLE is consistent for it, so each estimate lies within 4 standard errors.
    let mut csv = String::from("time,X\n");
    for (j, t) in [1.0, 2.0, 3.0, 4.0].iter().enumerate() {
        for x in s.sample(500, &[4.0, 1.2], *t, 100 + j as u64).unwrap() {
            csv.push_str(&format!("{t},{x}\n"));
        }
    }
    let data = dir.join("cells.csv");
    std::fs::write(&data, &csv).unwrap();
    let fit_dir = dir.join("fit");
    let text = stdout(&crnkit(&[
        "infer",
        out.to_str().unwrap(),
        data.to_str().unwrap(),
        "--mcmc",
        "--samples",
        "300",
        "--burn-in",
        "300",
        "--chains",
        "2",
        "--out",
        fit_dir.to_str().unwrap(),
    ]));
    assert!(
        text.contains("maximum likelihood from 2000 cells"),
        "{text}"
    );
    let fit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fit_dir.join("fit.json")).unwrap()).unwrap();
    for (j, truth) in [4.0, 1.2].iter().enumerate() {
        let est = fit["mle"]["estimate"][j].as_f64().unwrap();
        let se = fit["mle"]["std_error"][j].as_f64().unwrap();
        assert!(
            (est - truth).abs() < 4.0 * se,
            "{j}: {est} ± {se} vs {truth}"
        );
    }
    assert_eq!(fit["mcmc"]["summary"].as_array().unwrap().len(), 2);
    let post = std::fs::read_to_string(fit_dir.join("posterior.csv")).unwrap();
    assert_eq!(post.lines().next(), Some("chain,step,k,g,log_likelihood"));
    assert_eq!(post.lines().count(), 1 + 2 * 300);
    // With g fixed only k is estimated.
    let text = stdout(&crnkit(&[
        "infer",
        out.to_str().unwrap(),
        data.to_str().unwrap(),
        "--fix",
        "g=1.2",
    ]));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("k,")).count(),
        1,
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("g,")), "{text}");
    // Bad data and settings are named.
    std::fs::write(&data, "time,X\n1,3\n2,x\n").unwrap();
    let o = crnkit(&["infer", out.to_str().unwrap(), data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("cells.csv") && e.contains('3'), "{e}");
    std::fs::write(&data, "time,X\n1,3\n").unwrap();
    let o = crnkit(&[
        "infer",
        out.to_str().unwrap(),
        data.to_str().unwrap(),
        "--free",
        "kk",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kk"));
}

#[test]
fn distill_then_query_end_to_end() {
    let dir = setup("e2e");
    let out = dir.join("model");
    let o = crnkit(&[
        "distill",
        dir.join("distill.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert!(text.contains("held-out joint Hellinger"), "{text}");
    eprintln!("{text}");
    for f in [
        "model.safetensors",
        "card.json",
        "report.json",
        "validation.csv",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("validation.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("k,g,X_0,time,hellinger"));
    assert_eq!(csv.lines().count(), 1 + 8 * 8);
    let s = Surrogate::load(&out).unwrap();
    assert_eq!(s.card.prompt.initial_box.as_ref().unwrap().hi, vec![12]);

    query_matches_the_exact_law(&out, &s);
    query_samples_joint_and_errors(&out);
    infer_end_to_end(&dir, &out, &s);

    // A corrupt weight file or card is refused.
    std::fs::write(out.join("model.safetensors"), b"not a tensor file").unwrap();
    let o = crnkit(&["query", out.to_str().unwrap(), "--rates", "4,1", "--t", "1"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn distill_resumes_from_its_checkpoint() {
    let dir = setup("resume");
    let path = dir.join("distill.toml");
    std::fs::write(&path, CONFIG.replace("epochs = 150", "epochs = 20")).unwrap();
    let out = dir.join("model");
    let first = config::run(&path, Some(&out), false, false).unwrap();
    assert_eq!(first.resumed_from, None);
    // A second run continues after the last epoch instead of starting again.
    let second = config::run(&path, Some(&out), false, false).unwrap();
    assert_eq!(second.resumed_from, Some(first.metrics.epochs_run));
    let third = config::run(&path, Some(&out), true, false).unwrap();
    assert_eq!(third.resumed_from, None);
    assert_eq!(third.metrics.best_epoch, first.metrics.best_epoch);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn distill_configuration_errors_are_named() {
    let dir = setup("bad");
    let cases: [(&str, &str, &str); 8] = [
        ("name = \"k\"", "name = \"kk\"", "kk"),
        ("X = [0, 12]", "Y = [0, 12]", "`Y`"),
        ("X = [0, 12]", "X = [5, 2]", "lo 5 > hi 2"),
        ("t_max = 4.0", "t_max = -4.0", "t_max"),
        ("[design]", "[design]\nbogus = 1", "bogus"),
        ("file = \"bd.crn\"", "file = \"missing.crn\"", "missing.crn"),
        ("lo = 1.0", "lo = 0.0", "log-scale range must be positive"),
        ("n_times = 8", "n_times = 8\nkind = \"magic\"", "magic"),
    ];
    for (from, to, needle) in cases {
        let path = dir.join("bad.toml");
        std::fs::write(&path, CONFIG.replacen(from, to, 1)).unwrap();
        let err = config::run(&path, Some(&dir.join("m")), true, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{to}: {err}");
    }
    // A TOML syntax error carries the line.
    let path = dir.join("syntax.toml");
    std::fs::write(&path, "[model]\nfile = \n").unwrap();
    let err = config::run(&path, None, true, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
