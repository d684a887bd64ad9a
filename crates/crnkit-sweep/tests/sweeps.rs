//! Sweeps as a library: results independent of threads and shards, an SSA point against
//! the exact mean, the merge's refusals by name, the description's checks.

use std::path::{Path, PathBuf};

use crnkit_sweep::{Column, Error, Shard, Sweep, Table, merge, read_table};

/// A fresh folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crnkit-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sweep(text: &str) -> Sweep {
    Sweep::from_toml_str(text, Path::new("."), "test.toml").unwrap()
}

const SMALL: &str = r#"
network = "builtin:immigration_death"
seed = 11
replicates = 40
time = { until = 5, every = 1 }
initial_states = [{ X = 0 }, { X = 20 }]
points = { kind = "lhs", n = 9, seed = 3, parameters = [
    { name = "alpha", lo = 0.5, hi = 20, scale = "log" },
    { name = "mu", lo = 0.1, hi = 1 },
] }
[ssa]
[cme]
tol = 1e-6
[ode]
"#;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// Every value's bits, column by column (NaN-safe equality).
fn bits(t: &Table) -> Vec<Vec<u64>> {
    t.columns()
        .iter()
        .map(|c| match c {
            Column::U64(v) => v.clone(),
            Column::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
        })
        .collect()
}

#[test]
fn results_do_not_depend_on_threads_or_ranges() {
    let s = sweep(SMALL);
    assert_eq!(s.points(), 18);
    let all = 0..s.points();
    let one = pool(1).install(|| s.compute(all.clone(), &Default::default()).unwrap());
    let three = pool(3).install(|| s.compute(all.clone(), &Default::default()).unwrap());
    assert_eq!(bits(&one), bits(&three));
    // Points 5..11 computed alone are the same rows as within the whole.
    let part = s.compute(5..11, &Default::default()).unwrap();
    let times = s.times().len();
    for (a, b) in bits(&part).iter().zip(bits(&one)) {
        assert_eq!(a[..], b[5 * times..11 * times]);
    }
    // Another master seed changes the SSA columns, not the CME ones.
    let other = sweep(&SMALL.replace("seed = 11", "seed = 12"))
        .compute(all, &Default::default())
        .unwrap();
    assert_ne!(one.column("ssa_mean:X"), other.column("ssa_mean:X"));
    assert_eq!(one.column("cme_mean:X"), other.column("cme_mean:X"));
    assert_ne!(
        s.hash(),
        sweep(&SMALL.replace("seed = 11", "seed = 12")).hash()
    );
}

#[test]
fn one_ssa_point_matches_the_exact_mean() {
    // Immigration–death from X = 0: X(t) ~ Poisson(alpha/mu (1 − e^(−mu t))).
    let s = sweep(
        r#"
        network = "builtin:immigration_death"
        seed = 5
        replicates = 4000
        time = { until = 4, every = 2 }
        points = { kind = "list", names = ["alpha", "mu"], values = [[6, 0.5]] }
        [ssa]
        [cme]
        [ode]
        "#,
    );
    let t = s.compute(0..1, &Default::default()).unwrap();
    let f = |name: &str| t.column(name).and_then(Column::as_f64).unwrap().to_vec();
    let (mean, sd, cme, ode) = (f("ssa_mean:X"), f("ssa_sd:X"), f("cme_mean:X"), f("ode:X"));
    for (k, &time) in f("time").iter().enumerate() {
        let exact = 6.0 / 0.5 * (1.0 - (-0.5 * time).exp());
        // Five standard errors of the sample mean (Poisson: variance = mean).
        let tol = 5.0 * (exact / 4000.0).sqrt() + 1e-12;
        assert!(
            (mean[k] - exact).abs() <= tol,
            "t = {time}: {} vs {exact}",
            mean[k]
        );
        assert!(
            (sd[k] - exact.sqrt()).abs() <= 0.1 * exact.sqrt() + 1e-12,
            "sd {}",
            sd[k]
        );
        assert!((cme[k] - exact).abs() < 1e-5, "CME {} vs {exact}", cme[k]);
        assert!(
            (ode[k] - exact).abs() < 1e-5 * exact.max(1.0),
            "ODE {}",
            ode[k]
        );
    }
}

#[test]
fn log_scaled_latin_hypercube_points_are_stratified_in_log_space() {
    let n = 50;
    let s = sweep(&format!(
        r#"
        network = "builtin:immigration_death"
        time = {{ until = 0, every = 1 }}
        points = {{ kind = "lhs", n = {n}, parameters = [{{ name = "alpha", lo = 0.01, hi = 100, scale = "log" }}] }}
        [ode]
        "#
    ));
    let mut strata: Vec<usize> = (0..n)
        .map(|p| {
            let a = s.point(p).unwrap().0[0];
            assert!((0.01..100.0).contains(&a));
            ((a / 0.01).log10() / 4.0 * n as f64) as usize
        })
        .collect();
    strata.sort_unstable();
    assert_eq!(strata, (0..n as usize).collect::<Vec<_>>());
    assert!(s.point(n).is_err());
    // A list of points with no parameter: replicated runs of the model as it is.
    let s = sweep(
        "network = 'builtin:immigration_death'\ntime = { until = 1, every = 1 }\n\
                   points = { kind = 'list', names = [], values = [[], [], []] }\n[ode]",
    );
    assert_eq!(s.points(), 3);
}

/// Write `s` as `n` shards into `dir` (in a scrambled order).
fn shards(s: &Sweep, dir: &Path, n: u64) {
    let mut order: Vec<u64> = (0..n).collect();
    order.sort_by_key(|&i| crnkit_sweep::point_seed(n, i));
    for i in order {
        s.write_shard(dir, Shard::new(i, n).unwrap(), &Default::default())
            .unwrap();
    }
}

#[test]
fn merge_refuses_missing_duplicated_foreign_and_damaged_shards() {
    let s = sweep(SMALL);
    let dir = scratch("refuse");
    shards(&s, &dir, 3);
    let out = dir.join("merged.parquet");
    let whole = dir.join("whole.parquet");
    s.write_all(&whole, &Default::default()).unwrap();
    merge(&dir, &out, None).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&whole).unwrap());
    let (info, table) = read_table(&out).unwrap();
    assert_eq!(
        (info.shard, info.points, table.rows()),
        (Shard::whole(), 0..18, 18 * 6)
    );
    std::fs::remove_file(&out).unwrap();

    // Missing: shard 1 of 3 gone.
    let one = dir.join("shard-1-of-3.parquet");
    let saved = std::fs::read(&one).unwrap();
    std::fs::remove_file(&one).unwrap();
    let e = merge(&dir, &out, None).unwrap_err();
    assert!(matches!(e, Error::MissingShard { .. }), "{e}");
    assert!(e.to_string().contains("shard 1 of 3 (points 6..12)"), "{e}");
    assert!(!out.exists());
    std::fs::write(&one, &saved).unwrap();

    // Duplicated: the same shard under a second name, and an overlapping other split.
    let copy = dir.join("shard-1-of-3-again.parquet");
    std::fs::write(&copy, &saved).unwrap();
    let e = merge(&dir, &out, None).unwrap_err();
    assert!(matches!(e, Error::DuplicateShard { .. }), "{e}");
    std::fs::remove_file(&copy).unwrap();
    s.write_shard(&dir, Shard::new(0, 2).unwrap(), &Default::default())
        .unwrap();
    let e = merge(&dir, &out, None).unwrap_err();
    assert!(matches!(e, Error::DuplicateShard { .. }), "{e}");
    std::fs::remove_file(dir.join("shard-0-of-2.parquet")).unwrap();

    // Foreign: shard 1 of another sweep (another seed).
    let other = sweep(&SMALL.replace("seed = 11", "seed = 99"));
    other
        .write_shard(&dir, Shard::new(1, 3).unwrap(), &Default::default())
        .unwrap();
    let e = merge(&dir, &out, None).unwrap_err();
    assert!(matches!(e, Error::ForeignShard { .. }), "{e}");
    assert!(e.to_string().contains("shard-1-of-3.parquet"), "{e}");
    let e = merge(&dir, &out, Some(other.hash())).unwrap_err();
    assert!(matches!(e, Error::ForeignShard { .. }), "{e}");
    std::fs::write(&one, &saved).unwrap();

    // Damaged: truncated; one byte of the data changed.
    std::fs::write(&one, &saved[..saved.len() - 100]).unwrap();
    let e = merge(&dir, &out, None).unwrap_err();
    assert!(matches!(e, Error::DamagedShard { .. }), "{e}");
    assert!(!s.shard_done(&dir, Shard::new(1, 3).unwrap()));
    let mut flipped = saved.clone();
    flipped[200] ^= 0x10;
    std::fs::write(&one, &flipped).unwrap();
    let e = merge(&dir, &out, None).unwrap_err();
    assert!(matches!(e, Error::DamagedShard { .. }), "{e}");
    assert!(!out.exists());
    std::fs::write(&one, &saved).unwrap();
    assert!(s.shard_done(&dir, Shard::new(1, 3).unwrap()));
    merge(&dir, &out, None).unwrap();
    assert!(matches!(
        merge(&scratch("empty"), &out, None).unwrap_err(),
        Error::NoShards { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn any_split_merges_to_the_same_bytes() {
    let s = sweep(SMALL);
    let whole = scratch("whole").join("sweep.parquet");
    s.write_all(&whole, &Default::default()).unwrap();
    let expected = std::fs::read(&whole).unwrap();
    // 20 shards of 18 points: two are empty.
    for n in [1, 2, 5, 18, 20] {
        let dir = scratch(&format!("split{n}"));
        shards(&s, &dir, n);
        merge(&dir, &dir.join("sweep.parquet"), None).unwrap();
        assert_eq!(
            std::fs::read(dir.join("sweep.parquet")).unwrap(),
            expected,
            "{n} shards"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The error of a description.
fn refused(text: &str) -> Error {
    Sweep::from_toml_str(text, Path::new("."), "bad.toml").unwrap_err()
}

#[test]
fn bad_descriptions_are_refused_by_name() {
    let base = "network = 'builtin:immigration_death'\ntime = { until = 1, every = 1 }\n[ode]\n";
    let with = |points: &str| format!("{base}[points]\n{points}");
    let e = refused(&with(
        "kind = 'grid'\nparameters = [{ name = 'beta', values = [1] }]",
    ));
    assert!(e.to_string().contains("unknown parameter `beta`"), "{e}");
    let e = refused(&with(
        "kind = 'grid'\nparameters = [{ name = 'alpha', lo = 0, hi = 1, n = 3, scale = 'log' }]",
    ));
    assert!(e.to_string().contains("points.parameters[0].lo"), "{e}");
    let e = refused(&with(
        "kind = 'grid'\nparameters = [{ name = 'alpha', values = [1], n = 3 }]",
    ));
    assert!(matches!(e, Error::InvalidSetting { .. }), "{e}");
    let e = refused(&with(
        "kind = 'lhs'\nn = 10\nparameters = [{ name = 'alpha', values = [1] }]",
    ));
    assert!(e.to_string().contains("points.parameters[0]"), "{e}");
    let e = refused(&with(
        "kind = 'grid'\nparameters = [{ name = 'alpha', values = [1] }]\ncolour = 1",
    ));
    assert!(matches!(e, Error::Description { .. }), "{e}");
    let e = refused(&with(
        "kind = 'list'\nnames = ['alpha']\nvalues = [[1], [2, 3]]",
    ));
    assert!(e.to_string().contains("points.values[1]"), "{e}");
    // Sizes are checked before anything is allocated.
    let e = refused(&with(
        "kind = 'grid'\nparameters = [{ name = 'alpha', lo = 1, hi = 2, n = 100000 }, { name = 'mu', lo = 1, hi = 2, n = 100000 }]",
    ));
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    let e = refused(&with(
        "kind = 'lhs'\nn = 1000000000000\nparameters = [{ name = 'alpha', lo = 1, hi = 2 }]",
    ));
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    let e = refused(&format!(
        "max_bytes = 100\n{}",
        with("kind = 'halton'\nn = 10\nparameters = [{ name = 'alpha', lo = 1, hi = 2 }]")
    ));
    assert!(e.to_string().contains("max_bytes"), "{e}");
    // Nothing to compute; entropy production of a network with one-way reactions.
    let e = refused(
        "network = 'builtin:immigration_death'\ntime = { until = 1, every = 1 }\npoints = { kind = 'halton', n = 2, parameters = [] }",
    );
    assert!(e.to_string().contains("nothing to compute"), "{e}");
    let e = refused(
        "network = 'builtin:autoregulated_gene'\ntime = { until = 1, every = 1 }\npoints = { kind = 'halton', n = 2, parameters = [] }\n[thermo]",
    );
    assert!(e.to_string().contains("no reverse reaction"), "{e}");
    let e = refused(
        &with("kind = 'grid'\nparameters = []")
            .replace("builtin:immigration_death", "builtin:nothing"),
    );
    assert!(e.to_string().contains("no bundled model"), "{e}");
    let e = refused(&with("kind = 'grid'\nparameters = []").replace("every = 1", "every = 0"));
    assert!(e.to_string().contains("time.every"), "{e}");
    let e = "4/4".parse::<Shard>().unwrap_err();
    assert!(matches!(e, Error::InvalidShard { .. }), "{e}");
}

#[test]
fn a_point_that_fails_is_named() {
    // A negative rate at the second point.
    let s = sweep(
        "network = 'builtin:immigration_death'\ntime = { until = 1, every = 1 }\n\
         points = { kind = 'list', names = ['alpha'], values = [[1], [-1]] }\n[ode]",
    );
    let e = s.compute(0..2, &Default::default()).unwrap_err();
    assert!(matches!(e, Error::Point { point: 1, .. }), "{e}");
}

#[test]
fn thermo_and_a_json_description() {
    let json = r#"{
        "crn": "parameters: ka = 1, kb = 2\nspecies: A = 10, B = 0\nflip: A <-> B @ ka, kb",
        "time": {"until": 2, "every": 1},
        "points": {"kind": "grid", "parameters": [{"name": "ka", "values": [1, 2]}]},
        "thermo": {"method": "cme"}
    }"#;
    let spec = crnkit_sweep::SweepSpec::from_json_str(json, "inline.json").unwrap();
    let s = Sweep::new(spec, Path::new(".")).unwrap();
    let t = s.compute(0..2, &Default::default()).unwrap();
    let sigma = t.column("thermo_sigma").and_then(Column::as_f64).unwrap();
    assert!(
        sigma.iter().all(|&x| x >= 0.0) && sigma[0] > sigma[2],
        "{sigma:?}"
    );
}
