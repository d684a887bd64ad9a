//! Network analysis on models with known answers.

use crnkit::Network;
use crnkit::models::bundled;

fn parse(text: &str) -> Network {
    Network::from_crn_str(text, "t.crn").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn triangle_is_detailed_balanced_with_known_free_energies() {
    let net = bundled("triangle").unwrap();
    let a = net.analyze().unwrap();
    assert_eq!(a.rank, 2);
    assert_eq!(a.conservation.laws, vec![vec![1, 1, 1]]);
    assert!(a.conservation.nonnegative);
    assert_eq!(
        (a.complexes.len(), a.linkage_classes.len(), a.deficiency),
        (3, 1, 0)
    );
    assert!(a.weakly_reversible);
    let db = &a.detailed_balance;
    assert!(db.balanced, "{db:?}");
    assert!(db.residual < 1e-12);
    let g: Vec<f64> = db
        .free_energies
        .as_ref()
        .unwrap()
        .iter()
        .map(|g| g.unwrap())
        .collect();
    assert!((g[1] - g[0] - 2f64.ln()).abs() < 1e-12);
    assert!((g[2] - g[1]).abs() < 1e-12);
    // Minimum norm: orthogonal to the conservation law (1, 1, 1).
    assert!((g[0] + g[1] + g[2]).abs() < 1e-12);
}

#[test]
fn perturbed_triangle_names_the_cycle() {
    let mut net = bundled("triangle").unwrap();
    net.set_parameter("kCA", 6.0).unwrap();
    let db = net.analyze().unwrap().detailed_balance;
    assert!(!db.balanced);
    let cycle = db.violating_cycle.unwrap();
    let mut rs: Vec<usize> = cycle.reactions.iter().map(|&(r, _)| r).collect();
    rs.sort();
    assert_eq!(rs, vec![0, 1, 2]);
    // All three run the same way round; affinity ±ln 3.
    let signs: Vec<i64> = cycle.reactions.iter().map(|&(_, m)| m).collect();
    assert!(signs.iter().all(|&m| m == signs[0]) && signs[0].abs() == 1);
    assert!((cycle.affinity.abs() - 3f64.ln()).abs() < 1e-12);
}

#[test]
fn schlogl_is_driven_by_its_chemostats() {
    let net = bundled("schlogl").unwrap();
    let a = net.analyze().unwrap();
    assert_eq!((a.rank, a.deficiency, a.linkage_classes.len()), (1, 1, 2));
    assert!(a.conservation.laws.is_empty());
    assert!(a.weakly_reversible);
    let db = a.detailed_balance;
    assert!(!db.balanced);
    let c = db.violating_cycle.unwrap();
    let p = |n: &str| net.parameter(n).unwrap();
    // The cycle: autocatalysis forward, exchange backward (or the reverse).
    let want = (p("k1") * 1e5 * p("k4") / (p("k2") * p("k3") * 2e5)).ln();
    assert!(
        (c.affinity.abs() - want.abs()).abs() < 1e-9,
        "{} vs {want}",
        c.affinity
    );
    assert_eq!(c.reactions.len(), 2);
    // Balanced when the chemostats satisfy k1 A / k2 = k3 B / k4.
    let balanced = parse(
        "species: X = 10, A = 100 constant, B = 50 constant\n\
         A + 2 X <-> 3 X @ 0.1, 1\nB <-> X @ 0.2, 1",
    );
    assert!(balanced.analyze().unwrap().detailed_balance.balanced);
}

#[test]
fn vilar_structure() {
    let net = bundled("vilar").unwrap();
    assert_eq!((net.num_species(), net.num_reactions()), (9, 16));
    let a = net.analyze().unwrap();
    assert_eq!(a.rank, 7);
    assert_eq!(a.complexes.len(), 19);
    assert_eq!(a.linkage_classes.len(), 5);
    assert_eq!(a.deficiency, 7);
    assert!(!a.weakly_reversible);
    assert_eq!(a.conservation.laws.len(), 2);
    assert!(a.conservation.nonnegative);
    assert!(!a.detailed_balance.balanced);
    assert!(a.detailed_balance.reason.unwrap().contains("irreversible"));
}

#[test]
fn conservation_laws_known_cases() {
    // Michaelis-Menten: E + ES and S + ES + P.
    let net =
        parse("species: E = 10, S = 100, ES = 0, P = 0\nE + S <-> ES @ 1, 1\nES -> E + P @ 1");
    let a = net.analyze().unwrap();
    let mut laws = a.conservation.laws.clone();
    laws.sort();
    assert_eq!(laws, vec![vec![0, 1, 1, 1], vec![1, 0, 1, 0]]);
    // 0 -> A + B conserves A - B, and no non-negative law exists.
    let a = parse("0 -> A + B @ 1").analyze().unwrap();
    assert!(!a.conservation.nonnegative);
    assert_eq!(a.conservation.laws.len(), 1);
    assert_eq!(
        a.conservation.laws[0]
            .iter()
            .map(|x| x.abs())
            .collect::<Vec<_>>(),
        vec![1, 1]
    );
    assert_eq!(a.conservation.laws[0][0], -a.conservation.laws[0][1]);
    // Dimerisation: P + 2 P2.
    let a = bundled("dimerisation").unwrap().analyze().unwrap();
    assert_eq!(a.conservation.laws, vec![vec![1, 2]]);
    // Rank agrees with a floating-point SVD rank.
    for (name, _) in crnkit::models::BUNDLED {
        let net = bundled(name).unwrap();
        let a = net.analyze().unwrap();
        let mut s = net.stoichiometric_matrix();
        for (i, sp) in net.species().enumerate() {
            if sp.constant {
                s.row_mut(i).fill(0.0);
            }
        }
        assert_eq!(a.rank, s.rank(1e-9), "{name}");
        assert!(a.skipped.is_empty(), "{name}: {:?}", a.skipped);
    }
}

#[test]
fn separately_written_reverse_reactions_pair_up() {
    let net = parse("A -> B @ 1\nB -> A @ 2");
    assert!(net.analyze().unwrap().detailed_balance.balanced);
    // Two mechanisms with different equilibrium constants form a dissipative cycle.
    let net = parse("r1: A -> B @ 1\nr2: A -> B @ 1\nr3: B -> A @ 2\nr4: B -> A @ 4");
    let db = net.analyze().unwrap().detailed_balance;
    assert!(!db.balanced);
    let c = db.violating_cycle.unwrap();
    assert!((c.affinity.abs() - 2f64.ln()).abs() < 1e-12);
    let mut rs: Vec<(usize, i64)> = c.reactions.clone();
    rs.sort();
    // r1 forward and r4 (r2's reverse) forward, or r2 and r3.
    assert!(
        rs == vec![(0, 1), (3, 1)] || rs == vec![(1, 1), (2, 1)],
        "{rs:?}"
    );
}

#[test]
fn futile_cycle_through_chemostats() {
    // A + X <-> B + X changes no dynamic species, but converts A to B: a one-reaction cycle.
    let net = parse(
        "species: X = 1, A = 10 constant, B = 10 constant\nfutile: A + X <-> B + X @ 1, 2\n0 <-> X @ 1, 1",
    );
    let db = net.analyze().unwrap().detailed_balance;
    assert!(!db.balanced);
    let c = db.violating_cycle.unwrap();
    assert_eq!(c.reactions.len(), 1);
    assert_eq!(c.reactions[0].0, 0);
    assert!((c.affinity.abs() - 2f64.ln()).abs() < 1e-12);
}

#[test]
fn thermodynamic_builder() {
    use crnkit::ThermodynamicBuilder;
    let g = [0.5, -1.0, 2.0];
    let net = ThermodynamicBuilder::new()
        .species("A", g[0], 5)
        .species("B", g[1], 0)
        .species("C", g[2], 0)
        .reaction(&[("A", 2)], &[("B", 1)], 3.0)
        .reaction(&[("B", 1)], &[("C", 1), ("A", 1)], 1.0)
        .label("split")
        .build()
        .unwrap();
    // k+ = exp(-(B - Σ ν G)), k- = exp(-(B - Σ ν' G)).
    let r0 = net.reaction(0).unwrap();
    assert!((r0.forward.value - (2.0 * g[0] - 3.0f64).exp()).abs() < 1e-15);
    assert!((r0.reverse.as_ref().unwrap().value - (g[1] - 3.0f64).exp()).abs() < 1e-15);
    assert_eq!(net.parameter("B_split"), Some(1.0));
    let db = net.analyze().unwrap().detailed_balance;
    assert!(db.balanced);
    // Recovered energies reproduce every ΔG.
    let gr: Vec<f64> = db
        .free_energies
        .unwrap()
        .into_iter()
        .map(|x| x.unwrap())
        .collect();
    let s = net.stoichiometric_matrix();
    for r in 0..2 {
        let dg_in: f64 = (0..3).map(|i| s[(i, r)] * g[i]).sum();
        let dg_out: f64 = (0..3).map(|i| s[(i, r)] * gr[i]).sum();
        assert!((dg_in - dg_out).abs() < 1e-10);
    }
    // The written model keeps the parametrisation and reads back equal.
    let text = net.to_crn_string();
    assert!(text.contains("exp(2 * G_A - B_1)"), "{text}");
    assert_eq!(Network::from_crn_str(&text, "t.crn").unwrap(), net);
}

#[test]
fn zero_rates_and_dead_reactions() {
    // A zero rate removes the channel; with none left, the network is trivially balanced.
    let net = parse("parameters: mu = 0\nspecies: X = 3\nX -> 0 @ mu");
    let a = net.analyze().unwrap();
    assert!(a.detailed_balance.balanced);
    // One direction zero: irreversible in effect.
    let net = parse("A <-> B @ 1, 0");
    let db = net.analyze().unwrap().detailed_balance;
    assert!(!db.balanced);
    assert!(db.reason.unwrap().contains("irreversible"));
    // A chemostat with count 0 kills its reaction.
    let net = parse("species: A = 0 constant\nA + X <-> 2 X @ 1, 1");
    assert!(net.analyze().is_ok());
}

/// A 10⁵-reaction chain analyses in linear time and memory (the dense algebra needed
/// 10¹⁰ entries); the reversible chain is balanced, its free energies skipped by name.
#[test]
fn long_chains_analyse_in_linear_memory() {
    let n = 100_000;
    let mut text = String::from("species: X0 = 1\n");
    for i in 0..n {
        text.push_str(&format!("X{i} -> X{} @ 1\n", i + 1));
    }
    let a = parse(&text).analyze().unwrap();
    assert_eq!(a.rank, n);
    assert_eq!(a.conservation.laws, vec![vec![1; n + 1]]);
    assert!(a.conservation.nonnegative);
    assert_eq!((a.deficiency, a.linkage_classes.len()), (0, 1));
    assert!(!a.weakly_reversible);
    assert!(a.detailed_balance.reason.unwrap().contains("irreversible"));

    let text = text.replace(" -> ", " <-> ").replace("@ 1\n", "@ 1, 2\n");
    let a = parse(&text).analyze().unwrap();
    assert_eq!(a.rank, n);
    assert!(a.weakly_reversible);
    let db = a.detailed_balance;
    assert!(db.balanced && db.cycles.is_empty());
    assert!(db.free_energies.is_none());
    let why = db.reason.unwrap();
    assert!(
        why.contains("free energies") && why.contains("4000000"),
        "{why}"
    );
    assert_eq!(a.skipped, vec![why]);
}
