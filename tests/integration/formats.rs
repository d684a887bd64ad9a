//! Writing and reading back: `.crn`, JSON and TOML round trips, the builder, file I/O.

use crnkit::models::BUNDLED;
use crnkit::network::{Expr, NetworkSpec};
use crnkit::{Error, Network};

fn bundled() -> Vec<(&'static str, Network)> {
    BUNDLED
        .iter()
        .map(|(n, _)| (*n, crnkit::models::bundled(n).unwrap()))
        .collect()
}

#[test]
fn crn_round_trip_of_bundled_models() {
    for (name, net) in bundled() {
        let text = net.to_crn_string();
        let back =
            Network::from_crn_str(&text, name).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(net, back, "{name}:\n{text}");
        // Writing is a fixed point after one round.
        assert_eq!(text, back.to_crn_string());
    }
}

#[test]
fn json_and_toml_round_trip_of_bundled_models() {
    for (name, net) in bundled() {
        let json = net.to_spec().to_json_string();
        let back = NetworkSpec::from_json_str(&json, name)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(net, back, "{name} via JSON");
        let toml = net.to_spec().to_toml_string().unwrap();
        let back = NetworkSpec::from_toml_str(&toml, name)
            .unwrap_or_else(|e| panic!("{e}\n{toml}"))
            .build()
            .unwrap();
        assert_eq!(net, back, "{name} via TOML");
    }
}

#[test]
fn files_by_extension_and_atomic_write() {
    let dir = std::env::temp_dir().join(format!("crnkit-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let net = crnkit::models::bundled("schlogl").unwrap();
    for ext in ["crn", "json", "toml"] {
        let path = dir.join(format!("m.{ext}"));
        net.to_file(&path).unwrap();
        assert_eq!(Network::from_file(&path).unwrap(), net, "{ext}");
    }
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    assert!(matches!(
        Network::from_file(dir.join("m.xyz")).unwrap_err(),
        Error::UnknownFormat { .. } | Error::Io { .. }
    ));
    assert!(matches!(
        Network::from_file(dir.join("missing.crn")).unwrap_err(),
        Error::Io { .. }
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn builder_matches_text() {
    let built = Network::builder()
        .parameter("k1", 0.03)
        .parameter("k2", 1e-4)
        .parameter("k3", Expr::parse("2 * k1").unwrap())
        .species("X", 250)
        .constant_species("A", 100_000)
        .reversible(
            &[("A", 1), ("X", 2)],
            &[("X", 3)],
            Expr::var("k1"),
            Expr::var("k2"),
        )
        .reaction(&[], &[("X", 1)], Expr::var("k3"))
        .label("inflow")
        .build()
        .unwrap();
    let text = "parameters: k1 = 0.03, k2 = 1e-4, k3 = 2 * k1\n\
                species: X = 250, A = 1e5 constant\n\
                A + 2 X <-> 3 X @ k1, k2\n\
                inflow: 0 -> X @ k3\n";
    let parsed = Network::from_crn_str(text, "t.crn").unwrap();
    assert_eq!(built, parsed);
    assert_eq!(parsed.parameter("k3"), Some(0.06));
    assert_eq!(parsed.num_channels(), 3);
    // Builder errors are the same kinds as parser errors.
    let e = Network::builder()
        .species("X", 1)
        .reaction(&[("Y", 1)], &[], 1.0)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::UnknownSpecies { ref name } if name == "Y"));
    let e = Network::builder()
        .species("X", 1)
        .reaction(&[("X", 1)], &[], f64::NAN)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRate { .. }));
    let e = Network::builder().species("X", 1).build().unwrap_err();
    assert!(matches!(e, Error::EmptyNetwork));
    let e = Network::builder()
        .species("X", 1)
        .species("X", 2)
        .reaction(&[("X", 1)], &[], 1.0)
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        Error::DuplicateName {
            kind: "species",
            ..
        }
    ));
    let e = Network::builder()
        .volume(-1.0)
        .species("X", 1)
        .reaction(&[("X", 1)], &[], 1.0)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidVolume { .. }));
    let e = Network::builder()
        .species("X", 1)
        .reaction(&[("X", 0)], &[], 1.0)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::NonIntegerStoichiometry { .. }));
}

#[test]
fn set_parameter_re_evaluates_dependents() {
    let mut net = Network::from_crn_str(
        "parameters: k = 2, k2 = 3 * k\nspecies: X = 1\nX -> 0 @ k2",
        "t.crn",
    )
    .unwrap();
    assert_eq!(net.reaction(0).unwrap().forward.value, 6.0);
    net.set_parameter("k", 5.0).unwrap();
    assert_eq!(net.parameter("k2"), Some(15.0));
    assert_eq!(net.reaction(0).unwrap().forward.value, 15.0);
    // An invalid value is refused and leaves the network as it was.
    assert!(matches!(
        net.set_parameter("k", -1.0).unwrap_err(),
        Error::InvalidRate { .. }
    ));
    assert_eq!(net.parameter("k"), Some(5.0));
    assert!(net.set_parameter("nope", 1.0).is_err());
}

#[test]
fn propensity_convention() {
    // a = k Ω^(1-|ν|) Π (x_i)_ν: for 2A + B -> C in Ω = 2 with x = (5, 3): k · 2^-2 · 5·4 · 3.
    let net = Network::from_crn_str(
        "volume: 2\nspecies: A = 5, B = 3, C = 0\n2 A + B -> C @ 0.5",
        "t.crn",
    )
    .unwrap();
    let c = net.compile();
    let a = c.propensity(0, c.initial_state());
    assert!((a - 0.5 * 0.25 * 20.0 * 3.0).abs() < 1e-12);
    assert_eq!(c.propensity(0, &[1, 3, 0]), 0.0);
    // Zero-order reaction scales with Ω.
    let net = Network::from_crn_str("volume: 10\n0 -> X @ 3", "t.crn").unwrap();
    assert!((net.compile().propensity(0, &[0]) - 30.0).abs() < 1e-12);
}

#[test]
fn compiled_channels_and_dependencies() {
    let net = crnkit::models::bundled("schlogl").unwrap();
    let c = net.compile();
    assert_eq!(c.num_channels(), 4);
    assert_eq!(c.reverse_of(0), Some(1));
    assert_eq!(c.reverse_of(3), Some(2));
    // Constant species never change.
    for r in 0..4 {
        let (species, _) = c.changes_of(r);
        assert_eq!(species, &[0]);
    }
    let mut x = c.initial_state().to_vec();
    assert!(c.apply(0, &mut x).is_ok());
    assert_eq!(x, vec![251, 100_000, 200_000]);
    // Firing changes X: every channel with X as a reactant is updated, but not the
    // inflow B -> X, whose propensity depends on the constant B only.
    assert_eq!(c.dependents_of(0), &[0, 1, 3]);
    // Counts never go negative.
    let net = Network::from_crn_str("species: X = 0\nX -> 0 @ 1", "t.crn").unwrap();
    let c = net.compile();
    let mut x = vec![0];
    assert!(c.apply(0, &mut x).is_err());
    assert_eq!(x, vec![0]);
}
