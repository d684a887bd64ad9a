//! SBML export: round trips `.crn` → SBML → network for the bundled models, random
//! networks, the DSMTS cases (re-imported and simulated against the suite's references) and
//! the BioNetGen networks; import of reversible net-rate laws and initial assignments.

use std::path::PathBuf;

use crnkit::Network;
use crnkit::cme::{FspOptions, solve_transient};
use crnkit::io::dsmts::{CaseOutcome, run_case};
use crnkit::io::sbml::{from_sbml_str, to_sbml_string};
use crnkit::network::NetworkSpec;
use crnkit::ssa::TimeGrid;
use proptest::prelude::*;

fn shared(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/models")
        .join(sub)
}

/// The network's description with reactions labelled as the export names them (`r1`, `r2`,
/// … for unlabelled ones).
fn labelled(net: &Network) -> NetworkSpec {
    let mut spec = net.to_spec();
    for (k, r) in spec.reactions.iter_mut().enumerate() {
        r.label.get_or_insert_with(|| format!("r{}", k + 1));
    }
    spec
}

fn round_trip(net: &Network) -> Network {
    let xml = to_sbml_string(net).unwrap();
    from_sbml_str(&xml, "export.xml").unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

#[test]
fn bundled_models_round_trip_exactly() {
    for (name, _) in crnkit::models::BUNDLED {
        let net = crnkit::models::bundled(name).unwrap();
        let back = round_trip(&net);
        assert_eq!(labelled(&net), labelled(&back), "{name}");
        assert_eq!(net.to_crn_string(), back.to_crn_string(), "{name}");
    }
}

#[test]
fn parameters_volumes_observables_and_events_round_trip() {
    let text = "parameters: k = 2, V = 5, kd = k / 10\nvolume: V\n\
                species: A = 30, B = 0, E = 3 constant\n\
                bind: A + E <-> B + E @ k, kd\n\
                make: 0 -> A @ k * V\n\
                hill: A -> 0 @ propensity 3 * A^2 / (100 + A^2)\n\
                observables: total = A + 2 B\n\
                event kick: when time >= 2 && B < 10 then A = A + 5, B = 0\n";
    let net = Network::from_crn_str(text, "m.crn").unwrap();
    let back = round_trip(&net);
    let (a, b) = (net.to_spec(), back.to_spec());
    // Species, observables, events and parameters as written.
    assert_eq!(a.species, b.species);
    assert_eq!(a.observables, b.observables);
    assert_eq!(a.events, b.events);
    assert_eq!(a.parameters, b.parameters);
    // The volume is folded into the rates (the SBML law is the propensity): the compiled
    // propensity constants agree to the last bits.
    let (ca, cb) = (net.compile(), back.compile());
    assert_eq!(ca.num_channels(), cb.num_channels());
    let x = [7u64, 4, 3];
    for r in 0..ca.num_channels() {
        let (pa, pb) = (ca.propensity(r, &x), cb.propensity(r, &x));
        assert!(
            (pa - pb).abs() <= 1e-14 * pa.abs(),
            "channel {r}: {pa} vs {pb}"
        );
    }
}

fn random_network() -> impl Strategy<Value = Network> {
    (1usize..=4)
        .prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(
                    (
                        prop::collection::vec(0u32..=2, n),
                        prop::collection::vec(0u32..=2, n),
                        any::<bool>(),
                        1e-3f64..50.0,
                        1e-3f64..50.0,
                    ),
                    1..=6,
                ),
            )
        })
        .prop_map(|(n, constant, reactions)| {
            let names: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
            let mut b = Network::builder();
            for i in 0..n {
                b = if constant[i] && i > 0 {
                    b.constant_species(&names[i], 7)
                } else {
                    b.species(&names[i], 3 + i as u64)
                };
            }
            for (mut lhs, rhs, rev, kf, kr) in reactions {
                if lhs == rhs {
                    // A pair without net change cannot be told apart in one net law.
                    lhs[0] += 1;
                }
                let side = |v: &[u32]| -> Vec<(&str, u32)> {
                    v.iter()
                        .enumerate()
                        .filter(|(_, c)| **c > 0)
                        .map(|(i, c)| (names[i].as_str(), *c))
                        .collect()
                };
                b = if rev {
                    b.reversible(&side(&lhs), &side(&rhs), kf, kr)
                } else {
                    b.reaction(&side(&lhs), &side(&rhs), kf)
                };
            }
            b.build().expect("random network is valid")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any mass-action network, reversible pairs, catalysts and constant species included,
    /// comes back from SBML equal: same species, reactions, sides and rates, bit for bit.
    #[test]
    fn random_networks_round_trip_exactly(net in random_network()) {
        let back = round_trip(&net);
        prop_assert_eq!(labelled(&net), labelled(&back));
    }
}

/// Every DSMTS case, both encodings: imported, exported and imported again gives the same
/// network; a subset of the exported files is simulated against the suite's references.
#[test]
fn dsmts_cases_survive_export() {
    let dir = shared("sbml-stochastic");
    if !dir.exists() {
        return;
    }
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for case in &cases {
        let id = case.file_name().unwrap().to_string_lossy().to_string();
        for level in ["l3v2", "l2v4"] {
            let net =
                crnkit::io::read_network(case.join(format!("{id}-sbml-{level}.xml"))).unwrap();
            let back = round_trip(&net);
            assert_eq!(net.to_spec(), back.to_spec(), "{id} {level}");
        }
    }
    // Exported files, simulated (2,000 runs) against the references: births and deaths,
    // dimerisation, an assignment rule, an event and a general law.
    let scratch = std::env::temp_dir().join(format!("crnkit-dsmts-export-{}", std::process::id()));
    let mut mean_fail = 0;
    let mut checks = 0;
    for (i, id) in ["00001", "00019", "00024", "00030", "00028", "00034"]
        .iter()
        .enumerate()
    {
        let src = dir.join(id);
        let dst = scratch.join(id);
        std::fs::create_dir_all(&dst).unwrap();
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dst.join(f.file_name().unwrap())).unwrap();
        }
        let model = dst.join(format!("{id}-sbml-l3v2.xml"));
        let net = crnkit::io::read_network(&model).unwrap();
        std::fs::write(&model, to_sbml_string(&net).unwrap()).unwrap();
        let r = run_case(&dst, "l3v2", 2000, 500 + i as u64).unwrap();
        match r.outcome {
            CaseOutcome::Tested {
                checks: c,
                mean_failures,
                ..
            } => {
                checks += c / 2;
                mean_fail += mean_failures;
            }
            CaseOutcome::Unsupported(why) => panic!("{id}: {why}"),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    // |Z| ≥ 3 has probability 0.0027 per check; 12 failures in ~600 checks has
    // probability < 1e-4.
    assert!(
        mean_fail <= 12,
        "{mean_fail} mean failures in {checks} checks"
    );
}

/// SBML written from the BioNetGen networks loads back with the same channels: species in
/// the same order and the same propensity in a test state.
#[test]
fn bionetgen_networks_export_and_load_back() {
    let dir = shared("bionetgen");
    if !dir.exists() {
        return;
    }
    for name in ["egfr_net.net", "multisite2.net", "multistate.net"] {
        let net = crnkit::io::read_network(dir.join(name)).unwrap();
        let xml = to_sbml_string(&net).unwrap();
        let back = from_sbml_str(&xml, name).unwrap();
        assert_eq!(net.num_species(), back.num_species(), "{name}");
        assert_eq!(net.num_channels(), back.num_channels(), "{name}");
        assert_eq!(net.initial_state(), back.initial_state(), "{name}");
        let (ca, cb) = (net.compile(), back.compile());
        let x: Vec<u64> = (0..net.num_species()).map(|i| 3 + (i as u64 % 5)).collect();
        for r in 0..ca.num_channels() {
            let (pa, pb) = (ca.propensity(r, &x), cb.propensity(r, &x));
            assert!(
                (pa - pb).abs() <= 1e-12 * pa.abs().max(1e-300),
                "{name} channel {r}: {pa} vs {pb}"
            );
        }
    }
}

fn sbml(species: &str, params: &str, extra: &str, reactions: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m">
    <listOfCompartments><compartment id="C" size="2" constant="true"/></listOfCompartments>
    <listOfSpecies>{species}</listOfSpecies>
    <listOfParameters>{params}</listOfParameters>
    {extra}
    <listOfReactions>{reactions}</listOfReactions>
  </model>
</sbml>
"#
    )
}

const MATH: &str = r#"<math xmlns="http://www.w3.org/1998/Math/MathML">"#;

fn species(id: &str, amount: &str) -> String {
    format!(
        r#"<species id="{id}" compartment="C" initialAmount="{amount}" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>"#
    )
}

fn reversible(law: &str) -> String {
    format!(
        r#"<reaction id="bind" reversible="true">
      <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/><speciesReference species="E" stoichiometry="1" constant="true"/></listOfReactants>
      <listOfProducts><speciesReference species="B" stoichiometry="1" constant="true"/><speciesReference species="E" stoichiometry="1" constant="true"/></listOfProducts>
      <kineticLaw>{MATH}{law}</math></kineticLaw>
    </reaction>"#
    )
}

/// A reversible reaction whose law is a net rate in concentrations, `C·(kf·[A][E] −
/// kr·[B][E])` as deterministic models write it, is split into its two mass-action
/// directions (a catalyst on both sides); its CME is the two-channel model's. A net law that
/// is not mass action both ways is refused by name.
#[test]
fn reversible_net_rate_laws_split_exactly() {
    let sp = format!(
        "{}{}{}",
        species("A", "20"),
        species("B", "4"),
        species("E", "2")
    );
    let params = r#"<parameter id="kf" value="0.3" constant="true"/><parameter id="kr" value="0.05" constant="true"/>"#;
    let law = "<apply><times/><ci>C</ci><apply><minus/><apply><times/><ci>kf</ci><ci>A</ci><ci>E</ci></apply><apply><times/><ci>kr</ci><ci>B</ci><ci>E</ci></apply></apply></apply>";
    let net = from_sbml_str(&sbml(&sp, params, "", &reversible(law)), "rev.xml").unwrap();
    let r = net.reactions().next().unwrap();
    assert!(r.reverse.is_some(), "{}", net.to_crn_string());
    // Propensities: C · kf · (A/C)(E/C) = kf·A·E/C, likewise for the reverse.
    let two = Network::from_crn_str(
        "species: A = 20, B = 4, E = 2\nfwd: A + E -> B + E @ 0.3 / 2\nrev: B + E -> A + E @ 0.05 / 2\n",
        "two.crn",
    )
    .unwrap();
    let grid = TimeGrid::new(3.0, 1.0).unwrap();
    let (p, q) = (
        solve_transient(&net, &grid, &FspOptions::default()).unwrap(),
        solve_transient(&two, &grid, &FspOptions::default()).unwrap(),
    );
    for k in 0..p.times.len() {
        let (a, b) = (
            p.marginal_of("A", k).unwrap(),
            q.marginal_of("A", k).unwrap(),
        );
        let l1: f64 = (0..a.len().max(b.len()))
            .map(|n| (a.get(n).unwrap_or(&0.0) - b.get(n).unwrap_or(&0.0)).abs())
            .sum();
        assert!(l1 < 1e-7, "t = {}: L1 {l1}", p.times[k]);
    }
    // Michaelis–Menten written as a reversible net rate: refused, naming the reaction.
    let mm = "<apply><divide/><apply><times/><ci>kf</ci><ci>A</ci></apply><apply><plus/><cn>1</cn><ci>A</ci></apply></apply>";
    let e = from_sbml_str(&sbml(&sp, params, "", &reversible(mm)), "mm.xml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("reversible reaction `bind`") && e.contains("mass action in both"),
        "{e}"
    );
}

/// Initial assignments are evaluated once, before the run: a parameter from others (kept as
/// an expression, so a changed parameter reaches it), a species amount from parameters and
/// a compartment size; a cycle is refused by name.
#[test]
fn initial_assignments_are_evaluated_before_the_run() {
    let sp = format!("{}{}", species("A", "0"), species("B", "1"));
    let params = r#"<parameter id="k" value="0.5" constant="true"/><parameter id="n0" value="12" constant="true"/><parameter id="kd" constant="true"/>"#;
    let assign = format!(
        r#"<listOfInitialAssignments>
      <initialAssignment symbol="kd">{MATH}<apply><times/><cn>3</cn><ci>k</ci></apply></math></initialAssignment>
      <initialAssignment symbol="A">{MATH}<apply><divide/><ci>n0</ci><ci>C</ci></apply></math></initialAssignment>
    </listOfInitialAssignments>"#
    );
    let death = format!(
        r#"<reaction id="death" reversible="false">
      <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
      <kineticLaw>{MATH}<apply><times/><ci>kd</ci><ci>A</ci></apply></math></kineticLaw>
    </reaction>"#
    );
    let text = sbml(&sp, params, &assign, &death);
    let mut net = from_sbml_str(&text, "ia.xml").unwrap();
    // A is a concentration: n0 / C = 6 per volume unit, times C = 2 → 12 molecules.
    assert_eq!(net.initial_state(), vec![12, 1]);
    assert_eq!(net.parameter("kd"), Some(1.5));
    net.set_parameter("k", 1.0).unwrap();
    assert_eq!(net.parameter("kd"), Some(3.0), "{}", net.to_crn_string());
    // A cycle: kd from A, A from kd.
    let cyc = text.replace(
        "<apply><times/><cn>3</cn><ci>k</ci></apply>",
        "<apply><times/><cn>3</cn><ci>q</ci></apply>",
    )
    .replace(
        r#"<parameter id="kd" constant="true"/>"#,
        r#"<parameter id="kd" constant="true"/><parameter id="q" constant="true"/>"#,
    )
    .replace(
        "</listOfInitialAssignments>",
        &format!(r#"<initialAssignment symbol="q">{MATH}<ci>kd</ci></math></initialAssignment></listOfInitialAssignments>"#),
    );
    let e = from_sbml_str(&cyc, "cycle.xml").unwrap_err().to_string();
    assert!(
        e.contains("initial assignment") && e.contains("cycle"),
        "{e}"
    );
}

/// A sum of thousands of species (3,000 here) (a BioNetGen group) is written in nested groups, so it
/// reads back within the expression depth limit, to the same observable.
#[test]
fn long_sums_read_back_within_the_depth_limit() {
    let n = 3_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("species: S{i} = {}\n", i % 3));
    }
    text.push_str("S0 -> 0 @ 1\nobservables: total = ");
    let terms: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
    text.push_str(&terms.join(" + "));
    text.push('\n');
    let net = Network::from_crn_str(&text, "wide.crn").unwrap();
    let back = round_trip(&net);
    assert_eq!(net.to_spec().observables, back.to_spec().observables);
}

/// Models as the field writes them: an optional package (`layout`, `required="false"`)
/// is skipped, a required one still refused; a parameter set from a species' initial
/// value (COPASI's "Initial for X") is evaluated after the species.
#[test]
fn optional_packages_and_parameters_from_species_are_read() {
    let sp = species("A", "8");
    let params =
        r#"<parameter id="k" value="0.5" constant="true"/><parameter id="A0" constant="true"/>"#;
    let assign = format!(
        r#"<listOfInitialAssignments><initialAssignment symbol="A0">{MATH}<ci>A</ci></math></initialAssignment></listOfInitialAssignments>
    <layout:listOfLayouts xmlns:layout="http://www.sbml.org/sbml/level3/version1/layout/version1"><layout:layout layout:id="l1"/></layout:listOfLayouts>"#
    );
    let death = format!(
        r#"<reaction id="death" reversible="false">
      <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
      <kineticLaw>{MATH}<apply><times/><ci>k</ci><ci>A</ci><ci>A0</ci></apply></math></kineticLaw>
    </reaction>"#
    );
    let optional = sbml(&sp, params, &assign, &death).replace(
        r#"level="3" version="2">"#,
        r#"level="3" version="2" xmlns:layout="http://www.sbml.org/sbml/level3/version1/layout/version1" layout:required="false">"#,
    );
    let net = from_sbml_str(&optional, "layout.xml").unwrap();
    // A0 = [A] = 8 / 2 (a concentration); the rate k·A0/C = 0.5 · 4 / 2.
    assert_eq!(net.compile().rate(0), 1.0, "{}", net.to_crn_string());
    let required = optional.replace(r#"layout:required="false""#, r#"layout:required="true""#);
    let e = from_sbml_str(&required, "layout.xml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("package") && e.contains("layout"), "{e}");
}
