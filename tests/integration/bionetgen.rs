//! BioNetGen `.net` import: the benchmark networks load and simulate; malformed files give
//! located errors.

use std::path::PathBuf;

use crnkit::Network;
use crnkit::error::ModelError;
use crnkit::io::bionetgen::parse_net;
use crnkit::ssa::{EnsembleConfig, Method};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/models/bionetgen")
}

#[test]
fn benchmark_networks_load_with_their_sizes() {
    let dir = models();
    if !dir.exists() {
        eprintln!("skipping: {} not present", dir.display());
        return;
    }
    for (name, species, reactions, groups) in [
        ("multistate", 9, 18, 4),
        ("multisite2", 66, 288, 0),
        ("egfr_net", 356, 3749, 0),
        ("fceri_gamma2", 3744, 58276, 0),
        ("BCR", 1122, 24388, 0),
    ] {
        let net = crnkit::io::read_network(dir.join(format!("{name}.net")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(net.num_species(), species, "{name}");
        assert_eq!(net.num_reactions(), reactions, "{name}");
        if groups > 0 {
            assert_eq!(net.observables().len(), groups, "{name}");
        }
        assert!(
            !net.observables().is_empty(),
            "{name}: groups become observables"
        );
    }
}

/// The structural analysis of the benchmark networks: sparse exact elimination keeps it to
/// seconds and about 200 MB for fceri_gamma2 (3,744 species × 58,276 reactions). The
/// figures are those of the earlier dense implementation, which took minutes and gigabytes.
#[test]
fn benchmark_networks_analyse_exactly() {
    let dir = models();
    if !dir.exists() {
        eprintln!("skipping: {} not present", dir.display());
        return;
    }
    // (name, rank, conservation laws, deficiency, complexes, linkage classes)
    for (name, rank, laws, deficiency, complexes, classes) in [
        ("multistate", 6, 3, 4, 14, 4),
        ("multisite2", 63, 3, 92, 168, 13),
        ("egfr_net", 351, 5, 1263, 1667, 53),
        ("BCR", 1116, 6, 9692, 11574, 766),
        ("fceri_gamma2", 3740, 4, 17001, 20785, 44),
    ] {
        let net = crnkit::io::read_network(dir.join(format!("{name}.net")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let a = net.analyze().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.rank, rank, "{name}");
        assert_eq!(a.conservation.laws.len(), laws, "{name}");
        assert!(a.conservation.nonnegative, "{name}");
        assert_eq!(a.deficiency, deficiency, "{name}");
        assert_eq!(a.complexes.len(), complexes, "{name}");
        assert_eq!(a.linkage_classes.len(), classes, "{name}");
        assert!(a.skipped.is_empty(), "{name}: {:?}", a.skipped);
        for law in &a.conservation.laws {
            for r in 0..net.num_reactions() {
                let count = |terms: Vec<(usize, u32)>| -> i64 {
                    terms.iter().map(|&(i, c)| law[i] * i64::from(c)).sum()
                };
                assert_eq!(
                    count(net.reactants(r)),
                    count(net.products(r)),
                    "{name}: law not conserved by reaction {r}"
                );
            }
        }
    }
}

#[test]
fn multistate_details_and_simulation() {
    let path = models().join("multistate.net");
    if !path.exists() {
        return;
    }
    let net = crnkit::io::read_network(&path).unwrap();
    // Parameters and species amounts from expressions.
    assert_eq!(net.parameter("R0"), Some(5360.0));
    assert_eq!(net.initial_state()[..3], [5360, 1160, 5360]);
    assert_eq!(net.species_at(3).unwrap().name, "L(r!1).R(a,l!1)");
    // Reaction 1: R + L -> LR at kon.
    assert_eq!(net.reactants(0), vec![(0, 1), (1, 1)]);
    assert_eq!(net.products(0), vec![(3, 1)]);
    assert_eq!(net.reaction(0).unwrap().forward.value, 0.01);
    let obs = &net.observables()[0];
    assert_eq!(obs.name, "A_P");
    assert_eq!(obs.terms, vec![(6, 1), (7, 1), (8, 1)]);
    // Writes back to .crn (quoted names) and reads back equal.
    let text = net.to_crn_string();
    assert!(text.contains("\"L(r!1).R(a,l!1)\""));
    assert_eq!(Network::from_crn_str(&text, "m.crn").unwrap(), net);
    // Simulates, with observables in the statistics.
    let r = EnsembleConfig {
        until: 10.0,
        every: 5.0,
        runs: 32,
        seed: 3,
        method: Method::Auto,
        ..Default::default()
    }
    .run(&net)
    .unwrap();
    let header = crnkit::io::results::ToCsv::to_csv(&r)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(header.ends_with("A_P-mean,A_P-sd,A_unbound_P-mean,A_unbound_P-sd,A_bound_P-mean,A_bound_P-sd,RLA_P-mean,RLA_P-sd"), "{header}");
    // The observable equals the weighted sum of its species' means.
    let k = 2;
    let sum: f64 = [6, 7, 8].iter().map(|&i| r.mean(k, i)).sum();
    assert!((r.mean(k, r.column("A_P").unwrap()) - sum).abs() < 1e-9);
}

#[test]
fn large_networks_simulate_with_rejection() {
    let dir = models();
    for (name, t) in [("egfr_net", 0.2), ("fceri_gamma2", 1.0), ("BCR", 0.5)] {
        let path = dir.join(format!("{name}.net"));
        if !path.exists() {
            continue;
        }
        let net = crnkit::io::read_network(&path).unwrap();
        let r = EnsembleConfig {
            until: t,
            every: t,
            runs: 2,
            seed: 1,
            ..Default::default()
        }
        .run(&net)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.method, Method::Rejection, "{name}: auto picks RSSA-CR");
        assert!(r.events > 0, "{name}");
    }
}

#[test]
fn bad_net_files_give_located_errors() {
    let ok = "begin parameters\n 1 k 2.5\nend parameters\nbegin species\n 1 A() 10\n 2 B() 0\nend species\nbegin reactions\n 1 1 2 k\nend reactions\n";
    let net = parse_net(ok, "ok.net").unwrap();
    assert_eq!(net.num_reactions(), 1);
    type Check = Box<dyn Fn(&ModelError) -> bool>;
    let cases: Vec<(&str, Check, usize)> = vec![
        (
            "begin species\n 1 A() 10\nend species\nbegin reactions\n 1 1 3 k\nend reactions\n",
            Box::new(|e| matches!(e, ModelError::UnknownSpecies { .. })),
            5,
        ),
        (
            "begin species\n 1 A() 2.5\nend species\nbegin reactions\n 1 1 0 1\nend reactions\n",
            Box::new(|e| matches!(e, ModelError::InvalidCount { .. })),
            2,
        ),
        (
            "begin functions\n 1 f() 2\nend functions\n",
            Box::new(
                |e| matches!(e, ModelError::Unsupported { feature } if feature.contains("functions")),
            ),
            1,
        ),
        (
            "begin species\n 1 A() 1\nend species\nbegin reactions\n 1 1 0 Sat(k,1)\nend reactions\n",
            Box::new(
                |e| matches!(e, ModelError::Unsupported { feature } if feature.contains("Sat")),
            ),
            5,
        ),
        (
            "begin species\n 1 A() 1\nend species\nbegin reactions\n 1 1 0 kk\nend reactions\n",
            Box::new(|e| matches!(e, ModelError::UnknownParameter { .. })),
            5,
        ),
        (
            "begin species\n 1 A() 1\n",
            Box::new(|e| matches!(e, ModelError::Syntax { .. })),
            1,
        ),
        (
            "begin species\n 1 A() 1\nend species\n",
            Box::new(|e| matches!(e, ModelError::EmptyNetwork)),
            3,
        ),
        (
            "begin species\n x A() 1\nend species\n",
            Box::new(|e| matches!(e, ModelError::Syntax { .. })),
            2,
        ),
        (
            "begin groups\n 1 G 2*9\nend groups\n",
            Box::new(|e| matches!(e, ModelError::UnknownSpecies { .. })),
            2,
        ),
    ];
    for (text, check, line) in cases {
        let e = parse_net(text, "bad.net").unwrap_err();
        assert!(check(e.kind()), "{text:?}: {e}");
        let loc = e.location().unwrap_or_else(|| panic!("no location: {e}"));
        assert_eq!(
            (loc.file.as_str(), loc.line),
            ("bad.net", line),
            "{text:?}: {e}"
        );
    }
}
