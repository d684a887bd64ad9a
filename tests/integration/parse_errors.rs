//! Malformed models: each gives its specific error, at the right line and column.

use crnkit::Network;
use crnkit::error::ModelError;

/// Parse `text` and return the error, which must exist.
fn err(text: &str) -> ModelError {
    match Network::from_crn_str(text, "bad.crn") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// Assert the error's kind (a pattern), line and column.
macro_rules! case {
    ($text:expr, $pat:pat, $line:expr, $col:expr) => {{
        let e = err($text);
        assert!(
            matches!(e.kind(), $pat),
            "wrong kind for {:?}: {:?}",
            $text,
            e.kind()
        );
        let loc = e
            .location()
            .unwrap_or_else(|| panic!("no location for {:?}: {e}", $text));
        assert_eq!(loc.file, "bad.crn");
        assert_eq!(
            (loc.line, loc.col),
            ($line, $col),
            "position for {:?}: {e}",
            $text
        );
        e
    }};
}

#[test]
fn syntax_errors() {
    case!("A -> B", ModelError::Syntax { .. }, 1, 7);
    case!("A -> B @", ModelError::Syntax { .. }, 1, 9);
    case!("A + -> B @ k", ModelError::Syntax { .. }, 1, 5);
    case!("A -> B @ 1 2", ModelError::Syntax { .. }, 1, 12);
    case!("A -> B @ (1 + 2", ModelError::Syntax { .. }, 1, 16);
    case!("A -> B @ foo(1)", ModelError::Syntax { .. }, 1, 10);
    case!("A -> B @ exp(1, 2)", ModelError::Syntax { .. }, 1, 10);
    case!("A $ B -> C @ 1", ModelError::Syntax { .. }, 1, 3);
    case!("\"A -> B @ 1", ModelError::Syntax { .. }, 1, 1);
    case!("A -> B @ 1e", ModelError::Syntax { .. }, 1, 10);
    case!("species X = 1", ModelError::Syntax { .. }, 1, 9);
    case!("parameters: k 1", ModelError::Syntax { .. }, 1, 15);
    case!("species: X = 1 constnt", ModelError::Syntax { .. }, 1, 16);
    case!("A -> B @ 1,", ModelError::Syntax { .. }, 1, 12);
    case!("A + 2 -> B @ 1", ModelError::Syntax { .. }, 1, 7);
    case!("A → B @ 1", ModelError::Syntax { .. }, 1, 3);
    case!("species: A -> B @ 1", ModelError::Syntax { .. }, 1, 12);
    case!(
        "# header\n\nA -> B @ 1\nB -> A @ (2",
        ModelError::Syntax { .. },
        4,
        12
    );
    case!("species: X = \n", ModelError::Syntax { .. }, 1, 14);
    case!("A -> 0 + B @ 1", ModelError::Syntax { .. }, 1, 8);
    case!(
        "A -> 0 B @ 1",
        ModelError::NonIntegerStoichiometry { .. },
        1,
        6
    );
}

#[test]
fn stoichiometry_and_counts() {
    case!(
        "1.5 A -> B @ 1",
        ModelError::NonIntegerStoichiometry { .. },
        1,
        1
    );
    case!(
        "0 A -> B @ 1",
        ModelError::NonIntegerStoichiometry { .. },
        1,
        1
    );
    case!(
        "5000000000 A -> B @ 1",
        ModelError::NonIntegerStoichiometry { .. },
        1,
        1
    );
    case!(
        "species: X = 2.5\nX -> 0 @ 1",
        ModelError::InvalidCount { .. },
        1,
        14
    );
    case!(
        "species: X = -3\nX -> 0 @ 1",
        ModelError::InvalidCount { .. },
        1,
        14
    );
    case!(
        "species: X = 1e300\nX -> 0 @ 1",
        ModelError::InvalidCount { .. },
        1,
        14
    );
}

#[test]
fn names() {
    case!(
        "species: X, X\nX -> 0 @ 1",
        ModelError::DuplicateName {
            kind: "species",
            ..
        },
        1,
        13
    );
    case!(
        "parameters: k = 1, k = 2\n0 -> X @ k",
        ModelError::DuplicateName {
            kind: "parameter",
            ..
        },
        1,
        20
    );
    case!(
        "parameters: X = 1\nspecies: X = 2\nX -> 0 @ 1",
        ModelError::DuplicateName { .. },
        2,
        10
    );
    case!(
        "r1: A -> B @ 1\nr1: B -> A @ 1",
        ModelError::DuplicateName {
            kind: "reaction label",
            ..
        },
        2,
        1
    );
    case!(
        "volume: 1\nvolume: 2\nA -> B @ 1",
        ModelError::DuplicateName { .. },
        2,
        9
    );
    case!(
        "parameters: k = 1\nk -> A @ 1",
        ModelError::UnknownSpecies { .. },
        2,
        1
    );
    case!("A -> B @ k", ModelError::UnknownParameter { .. }, 1, 10);
    case!(
        "parameters: a = b, b = 1\n0 -> X @ a",
        ModelError::UnknownParameter { .. },
        1,
        17
    );
    let e = case!(
        "species: X = 1\nA -> B @ 2 * X",
        ModelError::UnknownParameter { .. },
        2,
        14
    );
    assert!(e.to_string().contains("it is a species"), "{e}");
}

#[test]
fn rates_and_values() {
    case!("A -> B @ -1", ModelError::InvalidRate { .. }, 1, 10);
    case!(
        "parameters: k = -2\nA -> B @ k",
        ModelError::InvalidRate { .. },
        2,
        10
    );
    case!(
        "parameters: k = 0\nA <-> B @ 1, 1 / k",
        ModelError::InvalidRate { .. },
        2,
        14
    );
    case!(
        "parameters: k = 1/0\n0 -> X @ k",
        ModelError::InvalidParameter { .. },
        1,
        17
    );
    case!(
        "parameters: k = ln(-1)\n0 -> X @ k",
        ModelError::InvalidParameter { .. },
        1,
        17
    );
    case!(
        "volume: 0\nA -> B @ 1",
        ModelError::InvalidVolume { .. },
        1,
        9
    );
    case!(
        "A <-> B @ 1",
        ModelError::RateCount {
            expected: 2,
            found: 1,
            ..
        },
        1,
        9
    );
    case!(
        "A -> B @ 1, 2",
        ModelError::RateCount {
            expected: 1,
            found: 2,
            ..
        },
        1,
        13
    );
    case!("\"Ä\" -> B @ -1", ModelError::InvalidRate { .. }, 1, 12);
}

#[test]
fn empty_things() {
    case!("species: X = 1", ModelError::EmptyNetwork, 1, 1);
    case!("", ModelError::EmptyNetwork, 1, 1);
    case!("# only a comment\n\n", ModelError::EmptyNetwork, 2, 1);
    case!("-> @ 1", ModelError::EmptyReaction { .. }, 1, 1);
    case!("0 -> 0 @ 1", ModelError::EmptyReaction { .. }, 1, 1);
}

#[test]
fn message_shows_file_line_column_and_caret() {
    let e = err("species: X = 1\nX -> 2 X @ k1");
    let text = e.to_string();
    assert_eq!(
        text,
        "bad.crn:2:12: unknown parameter `k1`\n  |\n2 | X -> 2 X @ k1\n  |            ^"
    );
}

#[test]
fn valid_corner_cases_parse() {
    for text in [
        "0 -> X @ 1",
        "∅ -> X @ 1",
        "-> X @ 1",
        "X -> @ 1",
        "X => 2X @ 1",
        "A <=> B @ 1, 2",
        "\"A(b~P)\" + \"x y\" -> \"z\" @ 1",
        "parameters: k = 2\nspecies: A = 1e3\nA -> 0 @ k ^ 2 / (1 + k) # trailing comment",
        "species: constant = 3 constant\nconstant -> X @ 1",
        "r: X + X -> 0 @ 1",
    ] {
        if let Err(e) = Network::from_crn_str(text, "ok.crn") {
            panic!("{text:?} should parse: {e}");
        }
    }
    // `X + X` merges into `2 X`; an undeclared species is recorded in the notes.
    let net = Network::from_crn_str("r: X + X -> 0 @ 1", "ok.crn").unwrap();
    assert_eq!(net.reactants(0), vec![(0, 2)]);
    assert_eq!(net.notes().len(), 1);
}

#[test]
fn json_and_toml_errors() {
    use crnkit::network::NetworkSpec;
    let e = NetworkSpec::from_json_str("{\n  \"species\": [}\n", "m.json").unwrap_err();
    assert!(matches!(e, ModelError::Json { line: 2, .. }), "{e}");
    let e = NetworkSpec::from_json_str("{\"specie\": []}", "m.json").unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = NetworkSpec::from_json_str(
        r#"{"species":[{"name":"A"}],"reactions":[{"reactants":{"A":1.5},"rate":1}]}"#,
        "m.json",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("not a whole number in 1..=4294967295"),
        "{e}"
    );
    let spec = NetworkSpec::from_json_str(
        r#"{"species":[{"name":"A"}],"reactions":[{"reactants":{"B":1},"rate":1}]}"#,
        "m.json",
    )
    .unwrap();
    assert!(
        matches!(spec.build().unwrap_err(), ModelError::UnknownSpecies { ref name } if name == "B")
    );
    let spec =
        NetworkSpec::from_json_str(r#"{"species":[{"name":"A","initial":5}]}"#, "m.json").unwrap();
    assert!(matches!(
        spec.build().unwrap_err(),
        ModelError::EmptyNetwork
    ));
    let spec = NetworkSpec::from_json_str(
        r#"{"species":[{"name":"A"}],"reactions":[{"reactants":{"A":1},"rate":"-2"}]}"#,
        "m.json",
    )
    .unwrap();
    assert!(matches!(
        spec.build().unwrap_err(),
        ModelError::InvalidRate { .. }
    ));
    let spec = NetworkSpec::from_json_str(
        r#"{"species":[{"name":"A","initial":0.5}],"reactions":[{"reactants":{"A":1},"rate":1}]}"#,
        "m.json",
    )
    .unwrap();
    assert!(matches!(
        spec.build().unwrap_err(),
        ModelError::InvalidCount { .. }
    ));
    let e = NetworkSpec::from_toml_str("[[species]]\nname = \n", "m.toml").unwrap_err();
    assert!(matches!(e, ModelError::Toml { .. }), "{e}");
    assert!(e.to_string().contains("m.toml"));
}

#[test]
fn propensity_law_errors() {
    // A species used only in a law must be declared.
    let e = case!(
        "species: R = 1\n0 -> P @ propensity 2 * Q / (1 + R)",
        ModelError::UnknownParameter { .. },
        2,
        25
    );
    assert!(e.to_string().contains("species:"), "{e}");
    // A law is the whole propensity of one irreversible channel.
    case!(
        "A <-> B @ propensity A",
        ModelError::Unsupported { .. },
        1,
        11
    );
    case!(
        "species: A = 1\nr: A <=> B @ propensity 2 * A",
        ModelError::Unsupported { .. },
        2,
        14
    );
    case!("A -> B @ propensity A, 2", ModelError::Syntax { .. }, 1, 22);
    case!(
        "A -> B @ propensity",
        ModelError::UnknownParameter { .. },
        1,
        10
    );
    // No clock in a law.
    let e = case!(
        "0 -> X @ propensity 1 + time",
        ModelError::Unsupported { .. },
        1,
        25
    );
    assert!(e.to_string().contains("time"), "{e}");
    // Finite and >= 0 at the start.
    case!(
        "species: X = 5\nX -> 0 @ propensity 1 - X",
        ModelError::InvalidPropensity { .. },
        2,
        21
    );
    case!(
        "parameters: k = 1\nX -> 0 @ propensity k / X",
        ModelError::InvalidPropensity { .. },
        2,
        21
    );
    case!(
        "0 -> 0 @ propensity 1",
        ModelError::EmptyReaction { .. },
        1,
        1
    );
}

#[test]
fn event_syntax_errors() {
    // Missing `when` / `then`, bad conditions.
    case!(
        "A -> B @ 1\nevent e: A > 1 then B = 0",
        ModelError::Syntax { .. },
        2,
        10
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 B = 0",
        ModelError::Syntax { .. },
        2,
        21
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1",
        ModelError::Syntax { .. },
        2,
        20
    );
    let e = case!(
        "A -> B @ 1\nevent e: when A + 1 then B = 0",
        ModelError::Syntax { .. },
        2,
        21
    );
    assert!(e.to_string().contains("comparison"), "{e}");
    case!(
        "A -> B @ 1\nevent e: when A > > 1 then B = 0",
        ModelError::Syntax { .. },
        2,
        19
    );
    case!(
        "A -> B @ 1\nevent e: when xor(A > 1 then B = 0",
        ModelError::Syntax { .. },
        2,
        25
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 initially maybe then B = 0",
        ModelError::Syntax { .. },
        2,
        31
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 then",
        ModelError::Syntax { .. },
        2,
        25
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 then B 0",
        ModelError::Syntax { .. },
        2,
        28
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 then B = 0 A = 1",
        ModelError::Syntax { .. },
        2,
        32
    );
}

#[test]
fn event_name_errors() {
    // Assignments: unknown species, a parameter, the same species twice.
    case!(
        "A -> B @ 1\nevent e: when A > 1 then C = 0",
        ModelError::UnknownSpecies { .. },
        2,
        26
    );
    case!(
        "parameters: k = 1\nA -> B @ k\nevent e: when A > 1 then k = 2",
        ModelError::Unsupported { .. },
        3,
        26
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 then B = 0, B = 1",
        ModelError::DuplicateName {
            kind: "event assignment",
            ..
        },
        2,
        33
    );
    // Unknown names in the trigger and in an assignment.
    case!(
        "A -> B @ 1\nevent e: when Z > 1 then B = 0",
        ModelError::UnknownParameter { .. },
        2,
        15
    );
    case!(
        "A -> B @ 1\nevent e: when A > 1 then B = 2 * Z",
        ModelError::UnknownParameter { .. },
        2,
        34
    );
    // The clock may only be compared directly with parameters.
    case!(
        "A -> B @ 1\nevent e: when A > 1 && time > A then B = 0",
        ModelError::Unsupported { .. },
        2,
        24
    );
    case!(
        "A -> B @ 1\nevent e: when time == 3 then B = 0",
        ModelError::Unsupported { .. },
        2,
        15
    );
    // Event names are unique.
    case!(
        "A -> B @ 1\nevent e: when A > 1 then B = 0\nevent e: when A > 2 then B = 1",
        ModelError::DuplicateName { kind: "event", .. },
        3,
        7
    );
    // Events alone are no network.
    case!(
        "species: A = 1\nevent e: when A > 1 then A = 0",
        ModelError::EmptyNetwork,
        2,
        1
    );
}
