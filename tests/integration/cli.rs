//! The `crnkit` binary: `check` on every bundled model, JSON keys, exit codes.

use std::process::Command;

fn crnkit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crnkit"))
        .args(args)
        .output()
        .expect("run crnkit")
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_every_bundled_model() {
    for (name, _) in crnkit::models::BUNDLED {
        let path = root().join(format!("examples/models/{name}.crn"));
        let out = crnkit(&["check", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("deficiency"), "{text}");

        let out = crnkit(&["check", path.to_str().unwrap(), "--json"]);
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        for key in [
            "species",
            "reactions",
            "conservation_laws",
            "deficiency",
            "weakly_reversible",
            "detailed_balanced",
            "free_energies",
        ] {
            assert!(v.get(key).is_some(), "{name}: missing key {key}");
        }
        let species = v["species"].as_array().unwrap();
        for law in v["conservation_laws"].as_array().unwrap() {
            assert_eq!(law.as_array().unwrap().len(), species.len());
        }
        assert_eq!(
            v["detailed_balanced"].as_bool().unwrap(),
            !v["free_energies"].is_null()
        );
    }
}

#[test]
fn triangle_json_values() {
    let path = root().join("examples/models/triangle.crn");
    let out = crnkit(&["check", path.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["species"], serde_json::json!(["A", "B", "C"]));
    assert_eq!(v["reactions"], 3);
    assert_eq!(v["conservation_laws"], serde_json::json!([[1, 1, 1]]));
    assert_eq!(v["deficiency"], 0);
    assert_eq!(v["weakly_reversible"], true);
    assert_eq!(v["detailed_balanced"], true);
    let g = &v["free_energies"];
    let diff = g["B"].as_f64().unwrap() - g["A"].as_f64().unwrap();
    assert!((diff - 2f64.ln()).abs() < 1e-12);
}

#[test]
fn invalid_model_exits_2_with_error_on_stderr() {
    let dir = std::env::temp_dir().join(format!("crnkit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.crn");
    std::fs::write(&bad, "species: X = 1\nX -> 0 @ -1\n").unwrap();
    let out = crnkit(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.crn:2:10"), "{err}");
    assert!(err.contains("invalid rate"), "{err}");
    let out = crnkit(&["check", dir.join("missing.crn").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_between_formats() {
    let dir = std::env::temp_dir().join(format!("crnkit-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = root().join("examples/models/vilar.crn");
    let json = dir.join("vilar.json");
    let out = crnkit(&["convert", src.to_str().unwrap(), json.to_str().unwrap()]);
    assert!(out.status.success());
    let a = crnkit::io::read_network(&src).unwrap();
    let b = crnkit::io::read_network(&json).unwrap();
    assert_eq!(a, b);
    std::fs::remove_dir_all(&dir).ok();
}

/// The demo runs the whole mission: every section, a learner whose divergence falls, a
/// surrogate close to the exact CME, and its figures in `out/demo/`.
#[test]
fn demo_runs_the_mission_and_writes_its_figures() {
    let dir = std::env::temp_dir().join(format!("crnkit-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crnkit"))
        .arg("demo")
        .current_dir(&dir)
        .output()
        .expect("run crnkit");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, _) in crnkit::models::BUNDLED {
        assert!(text.contains(&format!("== {name} ==")));
    }
    for section in [
        "== exact simulation",
        "== chemical master equation",
        "== thermodynamics",
    ] {
        assert!(text.contains(section), "{section}");
    }
    // The learner: D(Q||P) a -> b with b far below a, and its entropy by account.
    let line = text
        .lines()
        .find(|l| l.starts_with("D(Q||P) "))
        .expect("learning line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let (d0, d1): (f64, f64) = (words[1].parse().unwrap(), words[3].parse().unwrap());
    assert!(d1 < 0.1 * d0 && d1 < 0.01, "{line}");
    assert!(
        line.contains("learning") && line.contains("clamping"),
        "{line}"
    );
    // The surrogate: every Hellinger distance to the exact CME is small.
    let table = text
        .split("builtin:autoregulated")
        .nth(1)
        .expect("surrogate section");
    let distances: Vec<f64> = table
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 4).then(|| w[3].parse().ok()).flatten()
        })
        .collect();
    assert_eq!(distances.len(), 4, "{table}");
    assert!(distances.iter().all(|&h| h < 0.05), "{table}");
    assert!(text.contains("µs (median)"), "{table}");
    for stem in ["vilar", "learning", "target", "surrogate"] {
        let png = std::fs::read(dir.join(format!("out/demo/{stem}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{stem}.png");
        let svg = std::fs::read_to_string(dir.join(format!("out/demo/{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{stem}.svg");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn simulate_writes_reproducible_statistics() {
    let dir = std::env::temp_dir().join(format!("crnkit-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = root().join("examples/models/dimerisation.crn");
    let run = |threads: &str, out: &str, traj: &str| {
        let out = dir.join(out);
        let traj = dir.join(traj);
        let o = crnkit(&[
            "simulate",
            model.to_str().unwrap(),
            "--until",
            "5",
            "--every",
            "0.5",
            "--runs",
            "100",
            "--seed",
            "42",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
            "--trajectories",
            traj.to_str().unwrap(),
            "--keep",
            "3",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            std::fs::read_to_string(out).unwrap(),
            std::fs::read_to_string(traj).unwrap(),
        )
    };
    let (stats1, traj1) = run("1", "a.csv", "ta.csv");
    let (stats2, traj2) = run("2", "b.csv", "tb.csv");
    assert_eq!(stats1, stats2, "same seed, different thread count");
    assert_eq!(traj1, traj2);
    let mut lines = stats1.lines();
    assert_eq!(lines.next(), Some("time,P-mean,P-sd,P2-mean,P2-sd"));
    assert_eq!(lines.count(), 11);
    assert!(stats1.lines().nth(1).unwrap().starts_with("0,100,0,0,0"));
    assert_eq!(traj1.lines().next(), Some("run,time,P,P2"));
    assert_eq!(traj1.lines().count(), 1 + 3 * 11);
    // Methods by name; bad settings exit 2 with a message.
    for (args, needle) in [
        (vec!["--every", "0"], "every"),
        (vec!["--every", "-1"], "every"),
        (vec!["--until", "-1"], "until"),
        (vec!["--method", "tau-leap"], "method"),
        (vec!["--runs", "0"], "runs"),
    ] {
        let mut full = vec![
            "simulate",
            model.to_str().unwrap(),
            "--until",
            "1",
            "--every",
            "1",
        ];
        full.extend(args);
        let o = crnkit(&full);
        assert_eq!(o.status.code(), Some(2), "{full:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{full:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn solve_writes_statistics_comparable_with_simulate() {
    let dir = std::env::temp_dir().join(format!("crnkit-solve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = root().join("examples/models/dimerisation.crn");
    let m = model.to_str().unwrap();
    let (stats, marg, json) = (dir.join("s.csv"), dir.join("m.csv"), dir.join("s.json"));
    let o = crnkit(&[
        "solve",
        m,
        "--until",
        "5",
        "--every",
        "0.5",
        "--out",
        stats.to_str().unwrap(),
        "--marginals",
        marg.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&stats).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time,P-mean,P-sd,P2-mean,P2-sd,fsp_error,states")
    );
    assert_eq!(lines.count(), 11);
    assert!(text.lines().nth(1).unwrap().starts_with("0,100,0,0,0,"));
    // Every row's certified error is within the tolerance.
    for row in text.lines().skip(1) {
        let err: f64 = row.split(',').nth(5).unwrap().parse().unwrap();
        assert!(err <= 1e-8, "{row}");
    }
    let marg_text = std::fs::read_to_string(&marg).unwrap();
    assert_eq!(
        marg_text.lines().next(),
        Some("time,species,count,probability")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["times"].as_array().unwrap().len(), 11);
    // Stationary, with the product-form comparison on stderr.
    let o = crnkit(&["solve", m, "--stationary"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().nth(1).unwrap().starts_with("inf,"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("product form"));
    let o = crnkit(&["solve", m, "--stationary", "--product-form"]);
    assert!(o.status.success());
    // Bad input: exit 2 and a message naming the problem.
    let explosive = dir.join("explosive.crn");
    std::fs::write(&explosive, "species: X = 10\nX -> 2 X @ 1\n").unwrap();
    let ex = explosive.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["solve", m, "--until", "1", "--every", "1", "--tol", "0"],
            "--tol",
        ),
        (
            vec!["solve", m, "--until", "1", "--every", "1", "--tol", "-1e-3"],
            "--tol",
        ),
        (
            vec![
                "solve", m, "--until", "1", "--every", "1", "--init", "P=2.5",
            ],
            "invalid count",
        ),
        (
            vec!["solve", m, "--until", "1", "--every", "1", "--bound", "Q=3"],
            "Q",
        ),
        (vec!["solve", m, "--until", "-1", "--every", "1"], "until"),
        (
            vec![
                "solve",
                ex,
                "--until",
                "50",
                "--every",
                "10",
                "--max-states",
                "1000",
            ],
            "--max-states",
        ),
        (
            vec!["solve", ex, "--stationary", "--max-states", "1000"],
            "--max-states",
        ),
    ] {
        let o = crnkit(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn thermo_and_ode_commands() {
    let tri = root().join("examples/models/triangle.crn");
    let t = tri.to_str().unwrap();
    for method in ["cme", "ssa", "ode"] {
        let o = crnkit(&[
            "thermo", t, "--until", "1", "--every", "0.5", "--method", method, "--runs", "500",
        ]);
        assert!(
            o.status.success(),
            "{method}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.starts_with("time,entropy_production_rate,total_entropy_produced,free_energy,"),
            "{method}: {out}"
        );
        assert_eq!(out.lines().count(), 4, "{method}");
        // A closed detailed-balanced network relaxing: F(1) < F(0.5) < F(0).
        let f: Vec<f64> = out
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
            .collect();
        assert!(f[2] < f[1] && f[1] < f[0], "{method}: {f:?}");
    }
    // One-way reactions are named in the error.
    let vilar = root().join("examples/models/vilar.crn");
    let o = crnkit(&[
        "thermo",
        vilar.to_str().unwrap(),
        "--until",
        "1",
        "--every",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no reverse") && err.contains("degMR"), "{err}");
    let o = crnkit(&[
        "thermo", t, "--until", "1", "--every", "1", "--method", "euler",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // The ODE of the triangle conserves A + B + C = 10.
    let o = crnkit(&["ode", t, "--until", "2", "--every", "1"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().next(), Some("time,A,B,C"));
    for l in out.lines().skip(1) {
        let s: f64 = l
            .split(',')
            .skip(1)
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        assert!((s - 10.0).abs() < 1e-6, "{l}");
    }
}

#[test]
fn solve_handles_a_network_that_never_changes() {
    // Every reaction only touches a chemostat: one state, no complex that changes.
    let dir = std::env::temp_dir().join(format!("crnkit-still-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = dir.join("still.crn");
    std::fs::write(&m, "species: A = 5 constant, X = 1\nA -> A + A @ 1\n").unwrap();
    let m = m.to_str().unwrap();
    for args in [
        vec!["solve", m, "--stationary"],
        vec!["solve", m, "--stationary", "--product-form"],
        vec!["solve", m, "--until", "1", "--every", "1"],
        vec!["ode", m, "--until", "1", "--every", "1"],
    ] {
        let o = crnkit(&args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = crnkit(&["thermo", m, "--until", "1", "--every", "1"]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn simulate_reads_sbml_with_events() {
    let case = root().join("../shared/models/sbml-stochastic/00028/00028-sbml-l3v2.xml");
    if !case.exists() {
        eprintln!("skipping: {} not present", case.display());
        return;
    }
    let dir = std::env::temp_dir().join(format!("crnkit-sbml-ev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let simulate = |model: &std::path::Path, out: &std::path::Path| {
        let o = crnkit(&[
            "simulate",
            model.to_str().unwrap(),
            "--until",
            "30",
            "--every",
            "5",
            "--runs",
            "200",
            "--seed",
            "3",
            "--method",
            "next-reaction",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out).unwrap()
    };
    let text = simulate(&case, &dir.join("stats.csv"));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time,X-mean,X-sd"));
    // The reset `time >= 25 → X = 50` is seen by every run at t = 25.
    let row25 = lines.find(|l| l.starts_with("25,")).unwrap();
    assert_eq!(row25, "25,50,0");
    // Writing it as .crn keeps the event, and the .crn model simulates the same numbers.
    let crn = dir.join("m.crn");
    let o = crnkit(&["convert", case.to_str().unwrap(), crn.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::read_to_string(&crn)
            .unwrap()
            .contains("event reset: when time >= 25")
    );
    assert_eq!(simulate(&crn, &dir.join("stats2.csv")), text);
    std::fs::remove_dir_all(&dir).ok();
}
