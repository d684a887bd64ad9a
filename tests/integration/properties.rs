//! Property tests on random networks.

use crnkit::network::{BinOp, Expr, NetworkSpec, ReactionSpec};
use crnkit::{Network, ThermodynamicBuilder};
use nalgebra::DMatrix;
use proptest::prelude::*;

/// A random reaction over `n` species: coefficients 0..=2 on each side.
fn reaction(n: usize) -> impl Strategy<Value = (Vec<u32>, Vec<u32>, bool)> {
    (
        prop::collection::vec(0u32..=2, n),
        prop::collection::vec(0u32..=2, n),
        any::<bool>(),
    )
}

fn network() -> impl Strategy<Value = Network> {
    (1usize..=5)
        .prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(reaction(n), 1..=7),
                prop::collection::vec(0.01f64..10.0, 14),
            )
        })
        .prop_map(|(n, constant, reactions, rates)| {
            let names: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
            let mut b = Network::builder();
            for i in 0..n {
                b = if constant[i] && i > 0 {
                    b.constant_species(&names[i], 7)
                } else {
                    b.species(&names[i], 3)
                };
            }
            for (k, (mut lhs, rhs, rev)) in reactions.into_iter().enumerate() {
                if lhs.iter().all(|&c| c == 0) && rhs.iter().all(|&c| c == 0) {
                    lhs[0] = 1;
                }
                let side = |v: &[u32]| -> Vec<(&str, u32)> {
                    v.iter()
                        .enumerate()
                        .filter(|(_, c)| **c > 0)
                        .map(|(i, c)| (names[i].as_str(), *c))
                        .collect()
                };
                b = if rev {
                    b.reversible(&side(&lhs), &side(&rhs), rates[2 * k], rates[2 * k + 1])
                } else {
                    b.reaction(&side(&lhs), &side(&rhs), rates[2 * k])
                };
            }
            b.build().expect("random network is valid")
        })
}

/// Effective stoichiometric matrix: rows of constant species zeroed.
fn effective_s(net: &Network) -> DMatrix<f64> {
    let mut s = net.stoichiometric_matrix();
    for (i, sp) in net.species().enumerate() {
        if sp.constant {
            s.row_mut(i).fill(0.0);
        }
    }
    s
}

/// Random thermodynamic networks: energies, complexes and barriers.
/// Reactant and product coefficients and a barrier.
type ThermoReaction = (Vec<u32>, Vec<u32>, f64);

fn thermo() -> impl Strategy<Value = (Vec<f64>, Vec<ThermoReaction>)> {
    (2usize..=5).prop_flat_map(|n| {
        (
            prop::collection::vec(-3.0f64..3.0, n),
            prop::collection::vec(
                (
                    prop::collection::vec(0u32..=2, n),
                    prop::collection::vec(0u32..=2, n),
                    -2.0f64..4.0,
                ),
                1..=7,
            ),
        )
    })
}

fn build_thermo(g: &[f64], rx: &[ThermoReaction]) -> Network {
    let names: Vec<String> = (0..g.len()).map(|i| format!("X{i}")).collect();
    let mut b = ThermodynamicBuilder::new();
    for (i, gi) in g.iter().enumerate() {
        b = b.species(&names[i], *gi, 2);
    }
    for (lhs, rhs, barrier) in rx {
        let mut lhs = lhs.clone();
        if lhs.iter().all(|&c| c == 0) && rhs.iter().all(|&c| c == 0) {
            lhs[0] = 1;
        }
        let side = |v: &[u32]| -> Vec<(&str, u32)> {
            v.iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| (names[i].as_str(), *c))
                .collect()
        };
        b = b.reaction(&side(&lhs), &side(rhs), *barrier);
    }
    b.build().expect("thermodynamic network is valid")
}

/// Does column `r` of `s` lie in the span of the other columns (is reaction r on a cycle)?
fn on_cycle(s: &DMatrix<f64>, r: usize) -> bool {
    let others = s.clone().remove_column(r);
    others.ncols() > 0 && others.rank(1e-9) == s.rank(1e-9) || (s.column(r).norm() == 0.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn conservation_laws_are_left_null_vectors(net in network()) {
        let a = net.analyze().unwrap();
        let s = effective_s(&net);
        let rank = s.rank(1e-9);
        prop_assert_eq!(a.rank, rank);
        let dynamic = net.species().filter(|s| !s.constant).count();
        prop_assert_eq!(a.conservation.laws.len(), dynamic - rank);
        for law in &a.conservation.laws {
            for (i, sp) in net.species().enumerate() {
                if sp.constant { prop_assert_eq!(law[i], 0); }
            }
            let c = DMatrix::from_fn(1, law.len(), |_, i| law[i] as f64);
            prop_assert!((c * &s).norm() == 0.0, "cᵀS ≠ 0 for {:?}", law);
            if a.conservation.nonnegative {
                prop_assert!(law.iter().all(|&x| x >= 0));
            }
        }
        if !a.conservation.laws.is_empty() {
            let m = DMatrix::from_fn(a.conservation.laws.len(), net.num_species(), |k, i| a.conservation.laws[k][i] as f64);
            prop_assert_eq!(m.rank(1e-9), a.conservation.laws.len());
        }
        // Deficiency is never negative.
        prop_assert!(a.deficiency >= 0);
    }

    #[test]
    fn random_networks_round_trip_through_text(net in network()) {
        let text = net.to_crn_string();
        let back = Network::from_crn_str(&text, "p.crn").unwrap();
        prop_assert_eq!(&back, &net);
    }

    #[test]
    fn event_and_law_lines_parse_or_fail_cleanly(
        line in "(event |when |then |initially |false |true |propensity |time |xor|X |Y |k |e1|: |@ |-> |<-> |= |, |[0-9] |[-+*/^()] |< |<= |> |>= |== |!= |&& |[|][|] |! ){0,24}"
    ) {
        // Never a panic; what parses writes back and reads back equal, and simulates or
        // fails with an error.
        let text = format!("parameters: k = 2\nspecies: X = 3, Y = 1\nX -> Y @ k\n{line}\n");
        if let Ok(net) = Network::from_crn_str(&text, "p.crn") {
            let back = Network::from_crn_str(&net.to_crn_string(), "back.crn").unwrap();
            prop_assert_eq!(&back, &net);
            let c = net.compile();
            if let Ok(mut sim) = crnkit::ssa::AnySimulator::new(&c, crnkit::ssa::Method::Direct) {
                use crnkit::ssa::Simulator;
                let grid = crnkit::ssa::TimeGrid::new(2.0, 1.0).unwrap();
                let mut rec = crnkit::ssa::GridRecorder::new(&grid);
                let mut rng = crnkit::rng::stream(1, 0);
                let _ = sim.advance_until(2.0, &mut rng, &mut rec);
            }
        }
    }

    #[test]
    fn generated_events_round_trip_and_simulate(
        cond in 0usize..6, assign in 0usize..4, n in 0u64..6, m in 0u64..6,
        t in 0.0f64..3.0, initially in any::<bool>(), law in any::<bool>()
    ) {
        let conds = [
            format!("X > {n}"),
            format!("time >= {t}"),
            format!("X > {n} && Y < {m}"),
            format!("!(X == {n}) || time < {t}"),
            format!("xor(X > {n}, Y > {m})"),
            format!("(X + Y) * 2 >= {m} && {t} < time"),
        ];
        let assigns = [
            format!("X = {n}"),
            format!("Y = X + {m}"),
            "X = Y * 2, Y = X".to_string(),
            format!("X = max(X - {n}, 0)"),
        ];
        let rate = if law { "propensity 0.5 * X * (X + Y) / (1 + Y)" } else { "k" };
        let text = format!(
            "parameters: k = 2\nspecies: X = 3, Y = 1\nX -> Y @ {rate}\n0 -> X @ 1\n\
             event e1: when {}{} then {}\n",
            conds[cond],
            if initially { "" } else { " initially false" },
            assigns[assign]
        );
        let net = Network::from_crn_str(&text, "p.crn").unwrap();
        let back = Network::from_crn_str(&net.to_crn_string(), "back.crn").unwrap();
        prop_assert_eq!(&back, &net);
        let c = net.compile();
        for method in crnkit::ssa::Method::ALL {
            use crnkit::ssa::Simulator;
            let mut sim = crnkit::ssa::AnySimulator::new(&c, method).unwrap();
            let grid = crnkit::ssa::TimeGrid::new(3.0, 1.0).unwrap();
            let mut rec = crnkit::ssa::GridRecorder::new(&grid);
            let mut rng = crnkit::rng::stream(1, 0);
            // Errors (e.g. an endless cascade) are fine; panics are not.
            let _ = sim.advance_until(3.0, &mut rng, &mut rec);
        }
    }

    #[test]
    fn thermodynamic_networks_are_detailed_balanced((g, rx) in thermo()) {
        let net = build_thermo(&g, &rx);
        let db = net.analyze().unwrap().detailed_balance;
        prop_assert!(db.balanced, "{:?}", db);
        let gr: Vec<f64> = db.free_energies.unwrap().into_iter().map(|x| x.unwrap()).collect();
        let s = net.stoichiometric_matrix();
        for r in 0..net.num_reactions() {
            let dg: f64 = (0..g.len()).map(|i| s[(i, r)] * (g[i] - gr[i])).sum();
            prop_assert!(dg.abs() < 1e-8, "ΔG differs by {} on reaction {}", dg, r);
        }
    }

    #[test]
    fn perturbing_a_rate_on_a_cycle_breaks_detailed_balance(
        (g, rx) in thermo(),
        pick in any::<prop::sample::Index>(),
        factor in prop_oneof![0.05f64..0.9, 1.1f64..20.0],
    ) {
        let net = build_thermo(&g, &rx);
        let r = pick.index(net.num_reactions());
        let mut spec: NetworkSpec = net.to_spec();
        let old = spec.reactions[r].rate.clone();
        spec.reactions[r] = ReactionSpec {
            rate: Expr::Bin(BinOp::Mul, Box::new(old), Box::new(Expr::Num(factor))),
            ..spec.reactions[r].clone()
        };
        let perturbed = spec.build().unwrap();
        let db = perturbed.analyze().unwrap().detailed_balance;
        if on_cycle(&net.stoichiometric_matrix(), r) {
            prop_assert!(!db.balanced, "perturbing reaction {} on a cycle kept detailed balance", r);
            let cycle = db.violating_cycle.expect("a violating cycle is named");
            prop_assert!(cycle.reactions.iter().any(|&(q, _)| q == r), "cycle {:?} misses reaction {}", cycle, r);
            prop_assert!((cycle.affinity.abs()) > 1e-6);
        } else {
            // A reaction on no cycle can absorb any rate change into the free energies.
            prop_assert!(db.balanced, "reaction {} is on no cycle but balance failed: {:?}", r, db);
        }
    }
}
