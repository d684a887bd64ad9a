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
    let a = crnkit::Network::from_file(&src).unwrap();
    let b = crnkit::Network::from_file(&json).unwrap();
    assert_eq!(a, b);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn demo_runs() {
    let out = crnkit(&["demo"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, _) in crnkit::models::BUNDLED {
        assert!(text.contains(&format!("== {name} ==")));
    }
}
