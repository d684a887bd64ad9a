//! Hostile input: deeply nested or very long expressions give a clear error (never a stack
//! overflow). Each test runs on a default test thread (2 MiB stack), which is what would
//! catch unbounded recursion.

use crnkit::Network;
use crnkit::error::ModelError;
use crnkit::io::bionetgen::parse_net;
use crnkit::io::sbml::from_sbml_str;
use crnkit::network::{Condition, Expr, MAX_EXPR_DEPTH, NetworkSpec};

fn assert_too_deep(e: &ModelError) {
    assert!(
        matches!(e.kind(), ModelError::TooDeep { limit } if *limit == MAX_EXPR_DEPTH),
        "not a depth error: {e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("nested too deeply") && text.contains(&MAX_EXPR_DEPTH.to_string()),
        "{text}"
    );
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "(".repeat(depth), ")".repeat(depth))
}

fn sum(terms: usize) -> String {
    vec!["1"; terms].join("+")
}

#[test]
fn deep_parentheses_in_a_crn_rate() {
    let text = format!("species: X = 1\nX -> 0 @ {}\n", nested(9_000));
    let e = Network::from_crn_str(&text, "deep.crn").unwrap_err();
    assert_too_deep(&e);
    let loc = e.location().expect("located");
    assert_eq!((loc.file.as_str(), loc.line), ("deep.crn", 2));
    assert!(e.to_string().starts_with("deep.crn:2:"), "{e}");
}

#[test]
fn long_flat_sum_in_a_crn_rate() {
    let text = format!("species: X = 1\nX -> 0 @ {}\n", sum(30_000));
    let e = Network::from_crn_str(&text, "sum.crn").unwrap_err();
    assert_too_deep(&e);
    assert_eq!(e.location().unwrap().line, 2);
    // Within the limit: accepted, with the exact value, and it prints and reads back.
    let e = Expr::parse(&sum(400)).unwrap();
    assert_eq!(e.constant_value(), Some(400.0));
    assert_eq!(Expr::parse(&e.to_string()).unwrap(), e);
    let e = Expr::parse(&nested(400)).unwrap();
    assert_eq!(e.constant_value(), Some(1.0));
}

#[test]
fn other_deep_expression_forms() {
    for text in [
        format!("{}1", "-".repeat(20_000)),
        vec!["2"; 20_000].join("^"),
        vec!["2"; 20_000].join("*"),
        format!("{}1{}", "exp(".repeat(5_000), ")".repeat(5_000)),
    ] {
        assert_too_deep(&Expr::parse(&text).unwrap_err());
    }
}

#[test]
fn deep_event_conditions() {
    let bangs = format!("{}X > 1", "!".repeat(20_000));
    let parens = format!("{}X > 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let open = format!("{}X > 1", "(".repeat(10_000));
    for cond in [&bangs, &parens, &open] {
        assert_too_deep(&Condition::parse(cond).unwrap_err());
        let text = format!("species: X = 0\n0 -> X @ 1\nevent e: when {cond} then X = 0\n");
        let e = Network::from_crn_str(&text, "ev.crn").unwrap_err();
        assert_too_deep(&e);
        assert_eq!(e.location().unwrap().line, 3);
    }
    // Moderate nesting still parses.
    Condition::parse(&format!("{}X > 1", "!".repeat(100))).unwrap();
}

#[test]
fn deep_json_rate() {
    let json = format!(
        r#"{{"species":[{{"name":"X","initial":1}}],"reactions":[{{"reactants":{{"X":1}},"rate":"{}"}}]}}"#,
        nested(10_000)
    );
    let e = NetworkSpec::from_json_str(&json, "m.json").unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
}

fn sbml_with_law(law: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m">
    <listOfCompartments>
      <compartment id="C" size="1" constant="true"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="X" compartment="C" initialAmount="10" hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfReactions>
      <reaction id="r" reversible="false">
        <listOfReactants><speciesReference species="X" stoichiometry="1" constant="true"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{law}</math></kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"#
    )
}

#[test]
fn sbml_many_operands_and_deep_applies() {
    let wide = format!("<apply><plus/>{}</apply>", "<cn>1</cn>".repeat(50_000));
    let e = from_sbml_str(&sbml_with_law(&wide), "wide.xml").unwrap_err();
    assert_too_deep(&e);
    assert!(e.to_string().contains("wide.xml:"), "{e}");
    let deep = format!(
        "{}<cn>1</cn>{}",
        "<apply><minus/>".repeat(20_000),
        "</apply>".repeat(20_000)
    );
    let e = from_sbml_str(&sbml_with_law(&deep), "deep.xml").unwrap_err();
    // Either the XML reader or the MathML reader refuses it, with a location.
    assert!(e.location().is_some(), "{e}");
    // Within the limit: read, with the right value.
    let ok = format!(
        "<apply><times/><apply><plus/>{}</apply><ci>X</ci></apply>",
        "<cn>0.01</cn>".repeat(100)
    );
    from_sbml_str(&sbml_with_law(&ok), "ok.xml").unwrap();
}

#[test]
fn sbml_deep_trigger() {
    let deep = format!(
        "{}<apply><gt/><ci>X</ci><cn>1</cn></apply>{}",
        "<apply><not/>".repeat(600),
        "</apply>".repeat(600)
    );
    let text = sbml_with_law("<ci>X</ci>").replace(
        "    </listOfReactions>",
        &format!(
            "    </listOfReactions>\n    <listOfEvents><event id=\"e\" useValuesFromTriggerTime=\"true\"><trigger initialValue=\"false\" persistent=\"true\"><math xmlns=\"http://www.w3.org/1998/Math/MathML\">{deep}</math></trigger><listOfEventAssignments><eventAssignment variable=\"X\"><math xmlns=\"http://www.w3.org/1998/Math/MathML\"><cn>0</cn></math></eventAssignment></listOfEventAssignments></event></listOfEvents>"
        ),
    );
    let e = from_sbml_str(&text, "ev.xml").unwrap_err();
    assert_too_deep(&e);
}

#[test]
fn bionetgen_long_parameter() {
    let text = format!(
        "begin parameters\n 1 k {}\nend parameters\nbegin species\n 1 A() 10\nend species\nbegin reactions\n 1 1 0 k\nend reactions\n",
        sum(50_000)
    );
    let e = parse_net(&text, "long.net").unwrap_err();
    assert_too_deep(&e);
    assert_eq!(e.location().unwrap().line, 2);
}

/// Two runs on one output folder: the second is refused by name while the first lives, and
/// a killed run leaves no stale lock.
#[test]
fn a_second_learning_job_on_a_busy_folder_is_refused() {
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("crnkit-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    // A job that runs for a long time (exact SSA learning to t = 10^6).
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        "[model]\nbuiltin = \"immigration_death\"\nvisible = [\"X\"]\ncap = 400\n\
         [target]\npoisson = [100.0]\n[learn]\nmethod = \"chemical\"\ncopies = 20\n\
         until = 1000000\nevery = 1000\n[output]\ndir = \"out\"\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_crnkit");
    let mut first = Command::new(bin)
        .args(["learn", "job.toml"])
        .current_dir(&dir)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = out.join(crnkit::fs::LOCK_FILE);
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |s| s.is_empty()) {
        assert!(
            start.elapsed().as_secs() < 30,
            "the first job never took the folder"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = Command::new(bin)
        .args(["learn", "job.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another run is writing to this folder"),
        "{err}"
    );
    assert!(err.contains(&format!("process {}", first.id())), "{err}");
    // The library says the same, for a distillation too.
    let e = crnkit::fs::lock_folder(&out, "test").unwrap_err();
    assert!(matches!(e, ModelError::Locked { .. }), "{e}");
    first.kill().unwrap();
    first.wait().unwrap();
    // Killed: the folder is free again at once.
    drop(crnkit::fs::lock_folder(&out, "test").unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

fn crnkit_cli(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_crnkit"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run crnkit")
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crnkit-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Settings that used to be accepted and give a silent wrong or empty result are refused,
/// each naming the setting.
#[test]
fn silent_settings_are_refused_by_name() {
    use crnkit::cme::{FspOptions, solve_transient};
    use crnkit::ssa::{EnsembleConfig, TimeGrid};
    let net = crnkit::models::bundled("birth_death").unwrap();
    // An unreachable tolerance.
    let opts = FspOptions {
        tol: 1e-300,
        ..FspOptions::default()
    };
    let grid = TimeGrid::new(1.0, 0.5).unwrap();
    let e = solve_transient(&net, &grid, &opts).unwrap_err().to_string();
    assert!(e.contains("tol") && e.contains("1e-15"), "{e}");
    // No threads.
    let cfg = EnsembleConfig {
        until: 1.0,
        every: 0.5,
        runs: 4,
        ..EnsembleConfig::default()
    };
    let e = cfg.run_with_threads(&net, Some(0)).unwrap_err().to_string();
    assert!(e.contains("threads"), "{e}");
    // A cap that hides the target: Poisson(100) on counts 0..=0.
    let job = "[model]\nbuiltin = \"immigration_death\"\nvisible = [\"X\"]\ncap = 0\n\
               [target]\npoisson = [100.0]\n[learn]\nmethod = \"chemical\"\nlimit = true\n\
               until = 1\nevery = 1\n[output]\ndir = \"out\"\n";
    let cfg = crnkit::learn::job::parse(job, "job.toml").unwrap();
    let dir = scratch("cap0");
    let e = crnkit::learn::job::run_config(&cfg, &dir, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cap") && e.contains("raise the cap"), "{e}");
    // A negative time asked of a surrogate.
    let s = crnkit::surrogate::Surrogate::open("builtin:autoregulated").unwrap();
    let e = s
        .marginal(1, &[1.0, 0.05, 5.0, 50.0], -1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("time -1"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The grid ends at `until` even when it is not a multiple of `every`.
#[test]
fn the_grid_ends_at_the_end_time() {
    let dir = scratch("grid-end");
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/models/birth_death.crn"
    );
    for (every, rows) in [("0.3", 5), ("5", 2), ("0.25", 5)] {
        let o = crnkit_cli(
            &[
                "simulate", model, "--until", "1", "--every", every, "--runs", "2", "--out",
                "s.csv",
            ],
            &dir,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(dir.join("s.csv")).unwrap();
        let times: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(times.len(), rows, "--every {every}: {times:?}");
        assert_eq!(times.last(), Some(&"1"), "--every {every}: {times:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Command-line faults found before the work, not after it.
#[test]
fn command_line_faults_are_found_first() {
    let dir = scratch("cli-faults");
    let vilar = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/models/vilar.crn");
    // An unwritable output is refused before 10^6 Vilar runs (minutes) start.
    let start = std::time::Instant::now();
    let o = crnkit_cli(
        &[
            "simulate",
            vilar,
            "--until",
            "200",
            "--every",
            "1",
            "--runs",
            "1000000",
            "--out",
            "no/such/folder/s.csv",
        ],
        &dir,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no/such/folder/s.csv"), "{err}");
    assert!(
        start.elapsed().as_secs_f64() < 5.0,
        "the runs started first"
    );
    // An empty suite folder is an error, not an empty table.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let o = crnkit_cli(&["sbml-suite", "empty"], &dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no DSMTS case folders"), "{err}");
    // A query at a negative time is refused, not warned about.
    let o = crnkit_cli(
        &[
            "query",
            "builtin:autoregulated",
            "--rates",
            "1,0.05,5,50",
            "--t",
            "-1",
        ],
        &dir,
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A byte-order mark is accepted; a JSON model that parses but is not a network names its
/// file.
#[test]
fn byte_order_marks_and_file_names() {
    let dir = scratch("bom");
    let crn = dir.join("bom.crn");
    std::fs::write(&crn, "\u{feff}species: X = 1\nX -> 0 @ 1\n").unwrap();
    assert_eq!(crnkit::io::read_network(&crn).unwrap().num_species(), 1);
    let json = dir.join("bad.json");
    std::fs::write(
        &json,
        "{\"species\": [{\"name\": \"X\", \"initial\": 1}], \"reactions\": [{\"reactants\": {\"Y\": 1}, \"products\": {}, \"rate\": 1}]}",
    )
    .unwrap();
    let e = crnkit::io::read_network(&json).unwrap_err();
    assert!(
        e.to_string().starts_with(&json.display().to_string()),
        "{e}"
    );
    assert!(matches!(e.kind(), ModelError::UnknownSpecies { .. }), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Library results that were silently wrong: a steady state that moved the chemostats, and
/// an exact fit that stopped at the saddle of a symmetric start and reported success.
#[test]
fn steady_states_hold_chemostats_and_fits_leave_saddles() {
    let schlogl = crnkit::models::bundled("schlogl").unwrap().compile();
    let x0: Vec<f64> = schlogl.initial_state().iter().map(|&v| v as f64).collect();
    let xs = crnkit::thermo::ode::steady_state(&schlogl, &x0).unwrap();
    for i in (0..x0.len()).filter(|&i| schlogl.is_constant(i)) {
        assert_eq!(xs[i].to_bits(), x0[i].to_bits(), "chemostat {i} moved");
    }
    use crnkit::learn::{GenerativeModel, boltzmann, fit_exact};
    let net = boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], -3.0).unwrap();
    let model = GenerativeModel::new(&net, &["X1_0", "X1_1", "X2_0", "X2_1"], 1000).unwrap();
    let csv = "X1_1,X1_0,X2_1,X2_0,probability\n1,0,0,1,.45\n0,1,1,0,.45\n1,0,1,0,.05\n0,1,0,1,.05";
    let target = model.target_from_csv(csv, "xor.csv").unwrap();
    let start = model.initial_parameters();
    let fit = fit_exact(&model, &target, start, 500).unwrap();
    assert!(fit.iterations > 0, "stopped at the start");
    assert!(
        fit.divergence < 0.05,
        "D = {} (0.368 at the saddle)",
        fit.divergence
    );
}

/// Function definitions that double at every level (f_i(x) = f_{i-1}(f_{i-1}(x)), f5 has
/// 2^32 leaves) are refused when inlined, before the expression is built; a 3 KB file
/// exhausted memory before.
#[test]
fn sbml_function_definitions_that_explode_are_refused() {
    let mut defs = String::from(
        r#"<functionDefinition id="f0"><math xmlns="http://www.w3.org/1998/Math/MathML"><lambda><bvar><ci>x</ci></bvar><apply><plus/><ci>x</ci><ci>x</ci></apply></lambda></math></functionDefinition>"#,
    );
    for i in 1..=5 {
        defs.push_str(&format!(
            r#"<functionDefinition id="f{i}"><math xmlns="http://www.w3.org/1998/Math/MathML"><lambda><bvar><ci>x</ci></bvar><apply><ci>f{p}</ci><apply><ci>f{p}</ci><ci>x</ci></apply></apply></lambda></math></functionDefinition>"#,
            p = i - 1
        ));
    }
    let doc = sbml_with_law("<apply><ci>f5</ci><ci>X</ci></apply>").replace(
        "<listOfCompartments>",
        &format!(
            "<listOfFunctionDefinitions>{defs}</listOfFunctionDefinitions><listOfCompartments>"
        ),
    );
    assert!(doc.len() < 4_000);
    let e = from_sbml_str(&doc, "bomb.xml").unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("bomb.xml:") && text.contains("100000"),
        "{text}"
    );
    // Three levels (2^8 leaves) are fine and mean 256 X.
    let doc = doc.replace("<ci>f5</ci><ci>X</ci>", "<ci>f3</ci><ci>X</ci>");
    let net = from_sbml_str(&doc, "ok.xml").unwrap();
    assert_eq!(net.num_reactions(), 1);
}

/// Sizes given by a user or a file are checked against a memory estimate and refused by
/// name before anything that large is allocated.
#[test]
fn sizes_from_options_and_files_are_refused_before_allocation() {
    use crnkit::surrogate::config;
    use crnkit::surrogate::{Surrogate, builtin};
    let base = "[model]\nbuiltin = \"immigration_death\"\n[[param]]\nname = \"alpha\"\nlo = 1.0\nhi = 10.0\n\
                [teacher]\nt_max = 4.0\nn_times = NT\n[design]\ntrain_points = TP\nval_points = 8\n\
                [network]\nhidden = HID\n[output]\ndir = \"out\"\n";
    let read = |p: &std::path::Path| crnkit::io::read_network(p);
    for (nt, tp, hid, name) in [
        ("1000000000000", "48", "32", "[teacher]"),
        ("8", "1000000000000", "32", "[design] train_points"),
        ("8", "48", "100000000", "[network] hidden"),
    ] {
        let text = base.replace("NT", nt).replace("TP", tp).replace("HID", hid);
        let file = config::parse(&text, "big.toml").unwrap();
        let e = file
            .resolve(std::path::Path::new("."), &read, Default::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(name), "{name}: {e}");
    }
    // A card whose caps would need 10^11 weights is refused before any weight exists.
    let b = builtin::find("autoregulated").unwrap();
    let mut card: serde_json::Value = serde_json::from_slice(b.card).unwrap();
    card["arch"]["caps"] = serde_json::json!([1, 1_000_000_000]);
    card["prompt"]["caps"] = serde_json::json!([1, 1_000_000_000]);
    let text = serde_json::to_vec(&card).unwrap();
    let e = Surrogate::from_bytes(&text, "card.json", b.weights, "w")
        .unwrap_err()
        .to_string();
    assert!(e.contains("weights") && e.contains("limit"), "{e}");
    // Ten million samples of the autoregulated surrogate (13.7 GB at once).
    let s = b.load().unwrap();
    let e = s
        .sample(10_000_000, &[1.0, 0.05, 5.0, 50.0], 5.0, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("samples") && e.contains("1 GiB"), "{e}");
}

/// SBML that breaks the id rules or is not SBML at all is refused, located.
#[test]
fn sbml_duplicate_ids_and_foreign_roots_are_refused() {
    let doc = sbml_with_law("<apply><times/><ci>k</ci><ci>X</ci></apply>");
    let with_params = |params: &str| {
        doc.replace(
            "<listOfSpecies>",
            &format!("<listOfParameters>{params}</listOfParameters>\n    <listOfSpecies>"),
        )
    };
    let ok = with_params(r#"<parameter id="k" value="1" constant="true"/>"#);
    from_sbml_str(&ok, "ok.xml").unwrap();
    let twice = with_params(
        r#"<parameter id="k" value="1" constant="true"/>
      <parameter id="k" value="2" constant="true"/>"#,
    );
    let e = from_sbml_str(&twice, "twice.xml").unwrap_err();
    assert!(
        matches!(e.kind(), ModelError::DuplicateName { name, .. } if name == "k"),
        "{e}"
    );
    let loc = e.location().expect("located");
    assert_eq!((loc.file.as_str(), loc.line), ("twice.xml", 8), "{e}");
    // A species and a parameter sharing an id.
    let shared = with_params(r#"<parameter id="X" value="1" constant="true"/>"#);
    let e = from_sbml_str(&shared, "shared.xml").unwrap_err();
    assert!(e.to_string().contains("duplicate SBML id `X`"), "{e}");
    // The right element in the wrong namespace.
    let foreign = ok.replace("http://www.sbml.org/sbml/level3/version2/core", "urn:other");
    let e = from_sbml_str(&foreign, "foreign.xml").unwrap_err();
    assert!(
        e.to_string().contains("SBML namespace") && e.location().is_some(),
        "{e}"
    );
}

/// Messages that pointed at the wrong place or said the wrong thing.
#[test]
fn messages_point_at_the_problem() {
    // A truncated SBML file is located at its end, not at 1:1.
    let doc = sbml_with_law("<ci>X</ci>");
    let cut = &doc[..doc.find("<listOfReactions>").unwrap()];
    let e = from_sbml_str(cut, "cut.xml").unwrap_err();
    let loc = e.location().expect("located");
    assert_eq!(loc.line, cut.lines().count(), "{e}");
    // A BioNetGen reaction with neither reactants nor products, at its own line.
    let net = "begin parameters\n1 k 1\nend parameters\nbegin species\n1 A 10\nend species\n\
               begin reactions\n1 0 0 k\nend reactions\n";
    let e = parse_net(net, "empty.net").unwrap_err();
    assert_eq!(e.location().map(|l| l.line), Some(8), "{e}");
    assert!(matches!(e.kind(), ModelError::EmptyReaction { .. }), "{e}");
    // A coefficient too large for a count is not called fractional.
    let e = Network::from_crn_str(
        "species: X = 1\n100000000000000000000 X -> 0 @ 1\n",
        "big.crn",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("whole number in 1..=4294967295"),
        "{e}"
    );
    // Target weights that overflow when summed.
    use crnkit::learn::GenerativeModel;
    let net = crnkit::models::bundled("immigration_death").unwrap();
    let model = GenerativeModel::with_cap(&net, &["X"], Some(4), 1000).unwrap();
    let e = model
        .target(&[(vec![1], 1e308), (vec![2], 1e308)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("largest double"), "{e}");
}

/// A transient solve whose projection keeps growing (X -> 2X from X = 1 to t = 10 needs
/// about 4·10^5 states and 10^12 generator entries at the default tolerance) stops at its
/// work limit with a named error instead of running for minutes; a fixed box too large for
/// the limit is refused before any work. Under the limit the same solve is exact.
#[test]
fn a_solve_that_keeps_growing_stops_at_its_work_limit() {
    use crnkit::cme::{FspOptions, solve_transient};
    use crnkit::ssa::TimeGrid;
    let yule = crnkit::Network::from_crn_str("species: X = 1\nX -> 2 X @ 1\n", "yule.crn").unwrap();
    let limited = FspOptions {
        max_work: 2e8,
        ..FspOptions::default()
    };
    let grid = TimeGrid::new(10.0, 10.0).unwrap();
    let e = solve_transient(&yule, &grid, &limited).unwrap_err();
    assert!(
        matches!(e, ModelError::WorkLimit { limit, .. } if limit == 2e8),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("max_work") && text.contains("of 10 on"),
        "{text}"
    );
    // The work done stays within the limit: the same solve to t = 4 fits and is exact
    // (geometric with p = e^-4).
    let short = TimeGrid::new(4.0, 4.0).unwrap();
    let sol = solve_transient(&yule, &short, &limited).unwrap();
    assert!(
        sol.stats.work > 0.0 && sol.stats.work <= 2e8,
        "{:?}",
        sol.stats
    );
    let p = (-4.0f64).exp();
    let p1 = sol.marginal_of("X", 1).unwrap()[1];
    assert!((p1 - p).abs() < 1e-8, "{p1} vs {p}");
    // A fixed box: refused before the first product.
    let bd = crnkit::models::bundled("birth_death").unwrap();
    let fixed = FspOptions {
        adaptive: false,
        bounds: vec![Some(100_000)],
        max_work: 1e9,
        ..FspOptions::default()
    };
    let e = solve_transient(&bd, &TimeGrid::new(1e4, 1e4).unwrap(), &fixed).unwrap_err();
    assert!(e.to_string().contains("after 0.000e0"), "{e}");
    // The command line names its option.
    let dir = scratch("work-limit");
    std::fs::write(dir.join("yule.crn"), "species: X = 1\nX -> 2 X @ 1\n").unwrap();
    let o = crnkit_cli(
        &[
            "solve",
            "yule.crn",
            "--until",
            "10",
            "--every",
            "10",
            "--max-work",
            "1e8",
        ],
        &dir,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-work") && err.contains("crnkit simulate"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
