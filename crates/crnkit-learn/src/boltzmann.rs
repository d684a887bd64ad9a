//! Chemical Boltzmann machines (Poole et al., "Chemical Boltzmann machines", DNA 23, 2017):
//! binary units and pairwise couplings as a detailed-balanced reaction network.
//!
//! Unit u is the species pair `u_0`/`u_1` with `u_0 + u_1 = 1` (x_u = count of `u_1`). Edge
//! (a, b) is the pair `a_b_0`/`a_b_1` whose `_1` count equals x_a·x_b: every flip of a
//! unit also flips the edge species towards each neighbour that is on, and the neighbours
//! take part as catalysts. One reversible reaction per unit and per configuration of its
//! neighbours:
//!
//! u_0 + Σ_n n_{x_n} + Σ_{n on} u_n_0 ⇌ u_1 + Σ_n n_{x_n} + Σ_{n on} u_n_1.
//!
//! With species free energies G the product-form law on the class of 0/1 configurations is
//! the Boltzmann distribution p(x) ∝ exp(−Σ_u (G_{u_1} − G_{u_0}) x_u − Σ_(a,b) (G_{ab_1} −
//! G_{ab_0}) x_a x_b): biases and couplings are differences of free energies.

use crnkit_core::{Error, Network, Result, ThermodynamicBuilder};

/// The network of a chemical Boltzmann machine with the named units and `edges` (pairs of
/// unit indices), all free energies 0 (the uniform distribution), every unit off, and
/// barrier `barrier` on every reaction (rate constants e^(−barrier)).
pub fn machine(units: &[&str], edges: &[(usize, usize)], barrier: f64) -> Result<Network> {
    let bad = |reason: &'static str, value: String| Error::InvalidSetting {
        name: "Boltzmann machine",
        value,
        reason,
    };
    if units.is_empty() {
        return Err(bad("at least one unit", String::new()));
    }
    let edge_name = |a: usize, b: usize| {
        let (a, b) = (a.min(b), a.max(b));
        format!("{}_{}", units[a], units[b])
    };
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for &(a, b) in edges {
        if a >= units.len() || b >= units.len() || a == b {
            return Err(bad(
                "edges join two different units by index",
                format!("({a}, {b})"),
            ));
        }
        if neighbours[a].contains(&b) {
            return Err(bad("an edge is listed twice", format!("({a}, {b})")));
        }
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    if neighbours.iter().any(|n| n.len() > 12) {
        return Err(bad("at most 12 neighbours per unit", String::new()));
    }
    let mut tb = ThermodynamicBuilder::new();
    for u in units {
        tb = tb
            .species(&format!("{u}_0"), 0.0, 1)
            .species(&format!("{u}_1"), 0.0, 0);
    }
    for &(a, b) in edges {
        let e = edge_name(a, b);
        tb = tb
            .species(&format!("{e}_0"), 0.0, 1)
            .species(&format!("{e}_1"), 0.0, 0);
    }
    for (u, nb) in neighbours.iter().enumerate() {
        for mask in 0u32..(1 << nb.len()) {
            let mut reac = vec![(format!("{}_0", units[u]), 1)];
            let mut prod = vec![(format!("{}_1", units[u]), 1)];
            for (k, &n) in nb.iter().enumerate() {
                let on = mask >> k & 1 == 1;
                let s = format!("{}_{}", units[n], u32::from(on));
                reac.push((s.clone(), 1));
                prod.push((s, 1));
                if on {
                    let e = edge_name(u, n);
                    reac.push((format!("{e}_0"), 1));
                    prod.push((format!("{e}_1"), 1));
                }
            }
            let r: Vec<(&str, u32)> = reac.iter().map(|(s, c)| (s.as_str(), *c)).collect();
            let p: Vec<(&str, u32)> = prod.iter().map(|(s, c)| (s.as_str(), *c)).collect();
            tb = tb
                .reaction(&r, &p, barrier)
                .label(&format!("flip_{}_{mask}", units[u]));
        }
    }
    tb.build()
}
