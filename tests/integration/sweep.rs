//! `crnkit sweep` and `crnkit merge` as separate processes: shards in random order merge to
//! the bytes of the unsharded run; merge refuses missing, duplicated, foreign and damaged
//! shards by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::seq::SliceRandom;

fn crnkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crnkit"))
        .args(args)
        .output()
        .expect("run crnkit")
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crnkit-cli-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small sweep file in `dir`: immigration–death on a Halton design × two initial states,
/// SSA, CME and ODE; the network as a file next to it.
fn sweep_file(dir: &Path, seed: u64) -> String {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models");
    std::fs::copy(models.join("immigration_death.crn"), dir.join("imm.crn")).unwrap();
    let path = dir.join(format!("sweep-{seed}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"
network = "imm.crn"
seed = {seed}
replicates = 30
time = {{ until = 4, every = 0.5 }}
initial_states = [{{ X = 0 }}, {{ X = 15 }}]
points = {{ kind = "halton", n = 20, parameters = [
  {{ name = "alpha", lo = 0.2, hi = 20, scale = "log" }},
  {{ name = "mu", lo = 0.05, hi = 2, scale = "log" }},
] }}
[ssa]
[cme]
tol = 1e-6
[ode]
"#
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// Run shards 0..n of `sweep` as n processes at once, started in a random order.
fn run_shards(sweep: &str, dir: &Path, n: u64) {
    let mut order: Vec<u64> = (0..n).collect();
    order.shuffle(&mut rand::rng());
    let children: Vec<_> = order
        .iter()
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_crnkit"))
                .args(["sweep", sweep, "--threads", "1", "--out"])
                .arg(dir)
                .args(["--shard", &format!("{i}/{n}")])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start crnkit")
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap());
    }
}

#[test]
fn shards_in_any_order_and_split_merge_to_the_unsharded_bytes() {
    let dir = scratch("split");
    let sweep = sweep_file(&dir, 1);
    let whole = dir.join("whole");
    ok(crnkit(&["sweep", &sweep, "--out", whole.to_str().unwrap()]));
    let expected = std::fs::read(whole.join("sweep.parquet")).unwrap();
    // The thread count changes nothing either.
    let one = dir.join("one-thread");
    ok(crnkit(&[
        "sweep",
        &sweep,
        "--threads",
        "1",
        "--out",
        one.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(one.join("sweep.parquet")).unwrap(), expected);
    for n in [1, 3, 7] {
        let shards = dir.join(format!("n{n}"));
        run_shards(&sweep, &shards, n);
        let merged = dir.join(format!("merged-{n}.parquet"));
        ok(crnkit(&[
            "merge",
            shards.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ]));
        assert_eq!(std::fs::read(&merged).unwrap(), expected, "{n} shards");
    }
    // A complete shard is skipped on request; a re-run overwrites it with the same bytes.
    let shards = dir.join("n3");
    let s1 = shards.join("shard-1-of-3.parquet");
    let before = std::fs::read(&s1).unwrap();
    let args = [
        "sweep",
        &sweep,
        "--shard",
        "1/3",
        "--out",
        shards.to_str().unwrap(),
    ];
    let out = ok(crnkit(&[&args[..], &["--skip-done"]].concat()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped"));
    ok(crnkit(&args));
    assert_eq!(std::fs::read(&s1).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `crnkit merge DIR`'s error message (it must fail).
fn merge_error(dir: &Path) -> String {
    let out = crnkit(&["merge", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("sweep.parquet").exists());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn merge_refuses_bad_shard_sets_by_name() {
    let dir = scratch("refuse");
    let sweep = sweep_file(&dir, 2);
    let shards = dir.join("shards");
    run_shards(&sweep, &shards, 4);
    let two = shards.join("shard-2-of-4.parquet");
    let saved = std::fs::read(&two).unwrap();

    std::fs::remove_file(&two).unwrap();
    let e = merge_error(&shards);
    assert!(
        e.contains("missing shard") && e.contains("shard 2 of 4 (points 20..30)"),
        "{e}"
    );

    std::fs::write(&two, &saved).unwrap();
    std::fs::write(shards.join("shard-2-of-4-copy.parquet"), &saved).unwrap();
    let e = merge_error(&shards);
    assert!(
        e.contains("duplicated shard") && e.contains("points 20..30"),
        "{e}"
    );
    std::fs::remove_file(shards.join("shard-2-of-4-copy.parquet")).unwrap();

    let other = sweep_file(&dir, 3);
    ok(crnkit(&[
        "sweep",
        &other,
        "--shard",
        "2/4",
        "--out",
        shards.to_str().unwrap(),
    ]));
    let e = merge_error(&shards);
    assert!(
        e.contains("foreign shard") && e.contains("shard-2-of-4.parquet"),
        "{e}"
    );

    std::fs::write(&two, &saved[..saved.len() / 2]).unwrap();
    let e = merge_error(&shards);
    assert!(
        e.contains("damaged shard") && e.contains("shard-2-of-4.parquet"),
        "{e}"
    );

    std::fs::write(&two, &saved).unwrap();
    let out = ok(crnkit(&[
        "merge",
        shards.to_str().unwrap(),
        "--sweep",
        &sweep,
    ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("40 points"));
    let e = String::from_utf8_lossy(
        &crnkit(&["merge", shards.to_str().unwrap(), "--sweep", &other]).stderr,
    )
    .into_owned();
    assert!(e.contains("foreign shard"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_plan_and_bad_shards() {
    let dir = scratch("plan");
    let sweep = sweep_file(&dir, 4);
    let out = ok(crnkit(&["sweep", &sweep, "--plan"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("points: 40\n") && text.contains("times: 9\n"),
        "{text}"
    );
    let out = crnkit(&["sweep", &sweep, "--shard", "4/4"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("numbered from 0"));
    std::fs::remove_dir_all(&dir).unwrap();
}
