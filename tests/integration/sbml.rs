//! SBML import and the DSMTS stochastic suite (a fast subset; the full table with 10,000
//! runs is in docs/sbml.md).

use std::path::PathBuf;

use crnkit::io::dsmts::{CaseOutcome, run_case};
use crnkit::io::sbml::from_sbml_str;
use crnkit::{Error, Network};

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/models/sbml-stochastic")
}

/// Smallest k with P(Binomial(m, p) > k) < alpha.
fn binomial_bound(m: usize, p: f64, alpha: f64) -> usize {
    let mut pmf = (1.0 - p).powi(m as i32);
    let mut cdf = pmf;
    let mut k = 0;
    while 1.0 - cdf >= alpha && k < m {
        pmf *= (m - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
        cdf += pmf;
        k += 1;
    }
    k
}

#[test]
fn dsmts_subset_passes_the_suite_tests() {
    let dir = suite();
    if !dir.exists() {
        eprintln!("skipping: {} not present", dir.display());
        return;
    }
    // One or two cases of every family without events, both encodings, n = 2,000.
    let cases = [
        "00001", "00010", "00019", "00020", "00024", "00030", "00037", "00039",
    ];
    let (mut mean_checks, mut mean_fail, mut sd_fail) = (0, 0, 0);
    for (i, c) in cases.iter().enumerate() {
        for (j, level) in ["l3v2", "l2v4"].iter().enumerate() {
            let r = run_case(&dir.join(c), level, 2000, 100 + (2 * i + j) as u64).unwrap();
            match r.outcome {
                CaseOutcome::Tested {
                    checks,
                    mean_failures,
                    sd_failures,
                    ..
                } => {
                    mean_checks += checks / 2;
                    mean_fail += mean_failures;
                    sd_fail += sd_failures;
                }
                CaseOutcome::Unsupported(why) => panic!("{c} {level}: {why}"),
            }
        }
    }
    // Chance failures: |Z| ≥ 3 has probability 0.0027 per check; the sd statistic has
    // heavier tails (the suite expects 5-6 failures in ~3,900 checks at n = 10,000):
    // allow p = 0.003. Bounds at family-wise 1e-4.
    let mb = binomial_bound(mean_checks, 0.0027, 1e-4);
    let sb = binomial_bound(mean_checks, 0.003, 1e-4);
    assert!(
        mean_fail <= mb,
        "{mean_fail} mean failures in {mean_checks} (bound {mb})"
    );
    assert!(
        sd_fail <= sb,
        "{sd_fail} sd failures in {mean_checks} (bound {sb})"
    );
}

#[test]
fn dsmts_models_import_as_mass_action() {
    let dir = suite();
    if !dir.exists() {
        return;
    }
    for level in ["l3v2", "l2v4"] {
        let net = Network::from_file(dir.join(format!("00030/00030-sbml-{level}.xml"))).unwrap();
        let text = net.to_crn_string();
        assert!(text.contains("Dimerisation: 2 P -> P2 @ 0.0005"), "{text}");
        assert!(text.contains("Disassociation: P2 -> 2 P @ 0.01"), "{text}");
        // Source -> X with a boundary Source at 0: the law (Alpha) is the propensity.
        let net = Network::from_file(dir.join(format!("00024/00024-sbml-{level}.xml"))).unwrap();
        assert!(net.to_crn_string().contains("Immigration: 0 -> X @ 10"));
        // An assignment rule y = 2X becomes an observable.
        let net = Network::from_file(dir.join(format!("00019/00019-sbml-{level}.xml"))).unwrap();
        assert_eq!(net.observables().len(), 1);
    }
}

fn model(body: &str) -> String {
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
    <listOfParameters>
      <parameter id="k" value="0.5" constant="true"/>
    </listOfParameters>
{body}
  </model>
</sbml>
"#
    )
}

fn reaction(law: &str, reversible: bool) -> String {
    format!(
        r#"    <listOfReactions>
      <reaction id="death" reversible="{reversible}">
        <listOfReactants><speciesReference species="X" stoichiometry="1" constant="true"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{law}</math></kineticLaw>
      </reaction>
    </listOfReactions>"#
    )
}

fn err(text: &str) -> String {
    from_sbml_str(text, "m.xml").unwrap_err().to_string()
}

#[test]
fn malformed_and_unsupported_sbml_is_refused_by_name() {
    let ok = model(&reaction(
        "<apply><times/><ci>k</ci><ci>X</ci></apply>",
        false,
    ));
    let net = from_sbml_str(&ok, "m.xml").unwrap();
    assert!(net.to_crn_string().contains("death: X -> 0 @ 0.5"));
    // Truncated XML: located.
    let e = from_sbml_str(&ok[..ok.len() / 2], "m.xml").unwrap_err();
    assert!(
        e.location().is_some() && e.to_string().contains("XML"),
        "{e}"
    );
    // A missing id.
    let e = err(&ok.replace("<parameter id=\"k\"", "<parameter"));
    assert!(e.contains("`id`") && e.contains("m.xml:"), "{e}");
    // Unknown MathML.
    let e = err(&model(&reaction("<apply><sin/><ci>X</ci></apply>", false)));
    assert!(e.contains("<sin>"), "{e}");
    // A delay.
    let e = err(&model(&reaction(
        r#"<apply><csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">delay</csymbol><ci>X</ci><cn>1</cn></apply>"#,
        false,
    )));
    assert!(e.contains("delay"), "{e}");
    // Not mass action (a Hill function), time, a reversible reaction.
    let e = err(&model(&reaction(
        "<apply><divide/><ci>X</ci><apply><plus/><cn>1</cn><ci>X</ci></apply></apply>",
        false,
    )));
    assert!(e.contains("mass-action") && e.contains("death"), "{e}");
    let e = err(&model(&reaction(
        r#"<apply><times/><ci>X</ci><csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol></apply>"#,
        false,
    )));
    assert!(e.contains("time-dependent"), "{e}");
    let e = err(&model(&reaction(
        "<apply><times/><ci>k</ci><ci>X</ci></apply>",
        true,
    )));
    assert!(e.contains("reversible reaction `death`"), "{e}");
    // An event, a rate rule, a package.
    let e = err(&model(
        r#"<listOfEvents><event id="kick" useValuesFromTriggerTime="true"/></listOfEvents>"#,
    ));
    assert!(e.contains("event `kick`"), "{e}");
    let e = err(&model(
        r#"<listOfRules><rateRule variable="X"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>1</cn></math></rateRule></listOfRules>"#,
    ));
    assert!(e.contains("rateRule") && e.contains("`X`"), "{e}");
    let e = err(&ok.replace(
        r#"level="3" version="2">"#,
        r#"level="3" version="2" xmlns:comp="http://www.sbml.org/sbml/level3/version1/comp/version1" comp:required="true">"#,
    ));
    assert!(e.contains("package") && e.contains("comp"), "{e}");
    // A fractional molecule count.
    let e = err(&ok.replace(r#"initialAmount="10""#, r#"initialAmount="2.5""#));
    assert!(e.contains("whole"), "{e}");
    // Level 1 is refused by name.
    let e = err(&ok.replace(r#"level="3" version="2""#, r#"level="1" version="2""#));
    assert!(e.contains("Level 1"), "{e}");
    assert!(matches!(
        from_sbml_str("<notsbml/>", "m.xml").unwrap_err(),
        Error::Parse { .. }
    ));
}
