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
