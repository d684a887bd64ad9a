//! Writing and reading back: `.crn`, JSON and TOML round trips, the builder, file I/O.

use crnkit::Network;
use crnkit::error::ModelError;
use crnkit::models::BUNDLED;
use crnkit::network::{Expr, NetworkSpec};

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
        assert_eq!(crnkit::io::read_network(&path).unwrap(), net, "{ext}");
    }
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    assert!(matches!(
        crnkit::io::read_network(dir.join("m.xyz")).unwrap_err(),
        ModelError::UnknownFormat { .. } | ModelError::Io { .. }
    ));
    assert!(matches!(
        crnkit::io::read_network(dir.join("missing.crn")).unwrap_err(),
        ModelError::Io { .. }
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
    assert!(matches!(e, ModelError::UnknownSpecies { ref name } if name == "Y"));
    let e = Network::builder()
        .species("X", 1)
        .reaction(&[("X", 1)], &[], f64::NAN)
        .build()
        .unwrap_err();
    assert!(matches!(e, ModelError::InvalidRate { .. }));
    let e = Network::builder().species("X", 1).build().unwrap_err();
    assert!(matches!(e, ModelError::EmptyNetwork));
    let e = Network::builder()
        .species("X", 1)
        .species("X", 2)
        .reaction(&[("X", 1)], &[], 1.0)
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        ModelError::DuplicateName {
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
    assert!(matches!(e, ModelError::InvalidVolume { .. }));
    let e = Network::builder()
        .species("X", 1)
        .reaction(&[("X", 0)], &[], 1.0)
        .build()
        .unwrap_err();
    assert!(matches!(e, ModelError::NonIntegerStoichiometry { .. }));
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
        ModelError::InvalidRate { .. }
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

/// A model with a general propensity law and two events.
const LAW_AND_EVENTS: &str = "\
# a Hill-type production law, a pulse at t = 25 and a state-triggered reset
parameters: vmax = 10, K = 20, kd = 0.1, kdim = 0.01
species: P = 0, P2 = 40, R = 10
hill: 0 -> P @ propensity vmax * R^2 / (K^2 + R^2)
P -> 0 @ kd
2 P -> P2 @ kdim
event pulse: when time >= 25 then P = 0, R = R + 50
event drop: when P2 > 30 && P < 50 initially false then P2 = P2 - 10
";

#[test]
fn propensity_laws_and_events_parse() {
    use crnkit::network::Condition;
    let net = Network::from_crn_str(LAW_AND_EVENTS, "law.crn").unwrap();
    let names = net.species_names();
    assert_eq!(names, vec!["P", "P2", "R"]);
    let hill = net.reaction(0).unwrap();
    assert_eq!(hill.label.as_deref(), Some("hill"));
    assert_eq!(
        hill.propensity,
        Some(Expr::parse("vmax * R^2 / (K^2 + R^2)").unwrap())
    );
    assert_eq!(hill.forward.expr, Expr::Num(1.0));
    assert!(hill.reverse.is_none());
    assert!(net.reaction(1).unwrap().propensity.is_none());
    assert!(net.has_propensity_laws());

    let events = net.events();
    assert_eq!(events.len(), 2);
    let pulse = &events[0];
    assert_eq!(pulse.name, "pulse");
    assert_eq!(pulse.trigger, Condition::parse("time >= 25").unwrap());
    assert!(pulse.initial_value);
    assert_eq!(
        pulse.assignments,
        vec![(0, Expr::Num(0.0)), (2, Expr::parse("R + 50").unwrap())]
    );
    let drop = &events[1];
    assert_eq!(drop.name, "drop");
    assert_eq!(drop.trigger, Condition::parse("P2 > 30 && P < 50").unwrap());
    assert!(!drop.initial_value);
    assert_eq!(drop.assignments, vec![(1, Expr::parse("P2 - 10").unwrap())]);

    // The same network through the builder and the spec.
    let spec = net.to_spec();
    assert_eq!(
        spec.reactions[0].propensity,
        Some(Expr::parse("vmax * R^2 / (K^2 + R^2)").unwrap())
    );
    assert_eq!(spec.events.len(), 2);
    assert!(!spec.events[1].initial_value);
    assert_eq!(spec.events[0].assign.0[1].0, "R");
}

#[test]
fn propensity_laws_and_events_round_trip() {
    let net = Network::from_crn_str(LAW_AND_EVENTS, "law.crn").unwrap();
    // .crn
    let text = net.to_crn_string();
    assert!(
        text.contains("hill: 0 -> P @ propensity vmax * R^2 / (K^2 + R^2)\n"),
        "{text}"
    );
    assert!(
        text.contains("event pulse: when time >= 25 then P = 0, R = R + 50\n"),
        "{text}"
    );
    assert!(
        text.contains("event drop: when P2 > 30 && P < 50 initially false then P2 = P2 - 10\n"),
        "{text}"
    );
    let back = Network::from_crn_str(&text, "back.crn").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(net, back, "{text}");
    assert_eq!(back.events(), net.events());
    assert_eq!(text, back.to_crn_string());
    // JSON
    let json = net.to_spec().to_json_string();
    assert!(json.contains("\"propensity\""), "{json}");
    assert!(json.contains("\"initial_value\": false"), "{json}");
    let back = NetworkSpec::from_json_str(&json, "law.json")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(net, back, "via JSON:\n{json}");
    assert_eq!(back.events(), net.events());
    // TOML (the `toml` reader sorts the keys of a table, so the assignments above are
    // written in name order; their order has no meaning, they are simultaneous)
    let toml = net.to_spec().to_toml_string().unwrap();
    assert!(toml.contains("[[events]]"), "{toml}");
    let back = NetworkSpec::from_toml_str(&toml, "law.toml")
        .unwrap_or_else(|e| panic!("{e}\n{toml}"))
        .build()
        .unwrap();
    assert_eq!(net, back, "via TOML:\n{toml}");
    assert_eq!(back.events(), net.events());
    assert_eq!(
        back.reaction(0).unwrap().propensity,
        net.reaction(0).unwrap().propensity
    );
    // Files by extension.
    let dir = std::env::temp_dir().join(format!("crnkit-law-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["crn", "json", "toml"] {
        let path = dir.join(format!("m.{ext}"));
        net.to_file(&path).unwrap();
        assert_eq!(crnkit::io::read_network(&path).unwrap(), net, "{ext}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn hand_written_toml_with_law_and_events() {
    // The form documented in docs/model-language.md.
    let toml = r#"
[[parameters]]
name = "vmax"
value = 10

[[species]]
name = "R"
initial = 10

[[species]]
name = "P"

[[reactions]]
label = "hill"
propensity = "vmax * R^2 / (20^2 + R^2)"
[reactions.products]
P = 1

[[reactions]]
rate = 0.1
[reactions.reactants]
P = 1

[[events]]
name = "pulse"
trigger = "time >= 25"
[events.assign]
P = 0
R = "R + 50"

[[events]]
name = "drop"
trigger = "P > 30"
initial_value = false
[events.assign]
P = "P - 10"
"#;
    let net = NetworkSpec::from_toml_str(toml, "m.toml")
        .unwrap()
        .build()
        .unwrap();
    let text = "parameters: vmax = 10\nspecies: R = 10, P = 0\n\
                hill: 0 -> P @ propensity vmax * R^2 / (20^2 + R^2)\n\
                P -> 0 @ 0.1\n\
                event pulse: when time >= 25 then P = 0, R = R + 50\n\
                event drop: when P > 30 initially false then P = P - 10\n";
    assert_eq!(net, Network::from_crn_str(text, "m.crn").unwrap());
}

#[test]
fn propensity_and_event_words_stay_usable_as_names() {
    // A reaction labelled `event`, and a parameter named `propensity`.
    let net = Network::from_crn_str(
        "parameters: propensity = 2\nevent: A -> B @ propensity\nB -> A @ propensity * 3",
        "t.crn",
    )
    .unwrap();
    assert_eq!(net.reaction(0).unwrap().label.as_deref(), Some("event"));
    assert!(net.events().is_empty());
    assert!(!net.has_propensity_laws());
    assert_eq!(net.reaction(0).unwrap().forward.value, 2.0);
    assert_eq!(net.reaction(1).unwrap().forward.value, 6.0);
    let back = Network::from_crn_str(&net.to_crn_string(), "back.crn").unwrap();
    assert_eq!(net, back);
    // `propensity - 1` as a rate is written in parentheses so it does not become a law.
    let net = Network::from_crn_str(
        "parameters: propensity = 2\nA -> B @ (propensity - 1)",
        "t.crn",
    )
    .unwrap();
    assert_eq!(net.reaction(0).unwrap().forward.value, 1.0);
    let text = net.to_crn_string();
    let back = Network::from_crn_str(&text, "back.crn").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(net, back, "{text}");
    assert!(!back.has_propensity_laws());
    // A species used in a law and in a later reaction need not be declared; an event may
    // come before the reactions it refers to, and `initially true` is the default.
    let net = Network::from_crn_str(
        "event e: when B > 3 initially true then A = 0\n0 -> A @ propensity 1 + B\nA -> B @ 1",
        "t.crn",
    )
    .unwrap();
    assert_eq!(net.species_names(), vec!["A", "B"]);
    assert!(net.events()[0].initial_value);
}
