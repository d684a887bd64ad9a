//! Detailed balance (Wegscheider conditions), free energies and the thermodynamic builder.
//!
//! Every reaction must be reversible: a reversible reaction is a pair of channels, and an
//! irreversible reaction is paired with another irreversible reaction connecting the same
//! complexes the other way. Rate constants are taken in the effective network (constant
//! species folded in as concentrations (n)_ν / Ω^ν). The network is detailed balanced —
//! every reaction pair balanced on its own, for every conservation class — iff
//!
//! ln K ∈ range(Sᵀ),  K_e = k⁺_e / k⁻_e,
//!
//! equivalently iff the affinity Σ_e α_e ln K_e of every cycle α ∈ ker S vanishes (Wegscheider
//! 1901; Schuster & Schuster, J. Math. Chem. 3:25, 1989, doi:10.1007/BF01171883). We test the
//! cycle conditions exactly on an integer basis of ker S, report the least-squares residual
//! ‖Sᵀ G + ln K‖₂, and when the test fails, a basis cycle with non-zero affinity. When it
//! holds, the free energies G solve ln K = −Sᵀ G (units of kT; the minimum-norm solution, so
//! G is unique up to adding conservation laws), and c_i = e^(−G_i) is an equilibrium
//! concentration.

use nalgebra::{DMatrix, DVector};

use std::collections::{HashMap, VecDeque};

use super::analysis::{Complex, ELIMINATION_BUDGET, constant_species, reduce_complex};
use super::linalg::{self, Echelon, SparseVec};
use super::spec::{ParameterSpec, ReactionSpec, SpeciesSpec, Terms};
use super::{BinOp, Expr, Network, NetworkSpec};
use crate::error::{Error, Result};

/// A reaction cycle: reactions with integer multiplicities (negative: run backwards) whose
/// net stoichiometric change is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    /// (reaction index, multiplicity).
    pub reactions: Vec<(usize, i64)>,
    /// Cycle affinity Σ α_e ln K_e (zero for a detailed-balanced network).
    pub affinity: f64,
}

/// Result of the detailed-balance test.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailedBalance {
    /// The network is detailed balanced.
    pub balanced: bool,
    /// ‖Sᵀ G + ln K‖₂ for the least-squares G (0 when balanced, up to rounding).
    pub residual: f64,
    /// Free energies G_i (kT) per species when balanced; `None` for constant species.
    pub free_energies: Option<Vec<Option<f64>>>,
    /// A cycle with non-zero affinity, when the cycle conditions fail.
    pub violating_cycle: Option<Cycle>,
    /// Every cycle of an integer basis of ker S with its affinity ln Π k⁺/k⁻ along it (the
    /// thermodynamic driving force, in kT): all zero iff the network is detailed balanced.
    /// Empty when a reaction is one-way (its affinity is infinite).
    pub cycles: Vec<Cycle>,
    /// Why the test failed, in words.
    pub reason: Option<String>,
}

/// Falling factorial (n)_k as f64.
fn falling(n: u64, k: u32) -> f64 {
    (0..u64::from(k))
        .map(|j| n.saturating_sub(j) as f64)
        .product()
}

/// Effective (concentration-scale) rate constant of one direction: k · Π_c (n_c)_ν / Ω^ν
/// over constant species c.
fn effective_rate(net: &Network, k: f64, reactants: &[(usize, u32)]) -> f64 {
    let omega = net.volume();
    let mut k = k;
    for &(i, nu) in reactants {
        if let Ok(s) = net.species_at(i)
            && s.constant
        {
            k *= falling(s.initial, nu) / omega.powi(nu as i32);
        }
    }
    k
}

/// A reversible pair of channels between complexes `from` and `to`.
struct Edge {
    from: Complex,
    to: Complex,
    forward: f64,
    backward: f64,
    /// The reaction running from → to, with its orientation (+1 forward, −1 its reverse).
    fwd: (usize, i64),
    /// The reaction running to → from, with its orientation.
    bwd: (usize, i64),
}

/// Entries (reaction pairs × species) of the largest matrix whose free energies are fitted by
/// dense least squares; beyond it the free energies are skipped by name.
pub const MAX_FREE_ENERGY_ENTRIES: usize = 4_000_000;

/// Basis cycles tested at most; a network with more is reported as untested, by name.
pub const MAX_CYCLES: usize = 20_000;

/// Detailed-balance test, free energies and cycle affinities of `net` (see the module docs);
/// parts cut short by a size limit are described in `skipped`.
pub(crate) fn detailed_balance(
    net: &Network,
    skipped: &mut Vec<String>,
) -> Result<DetailedBalance> {
    if let Some(r) =
        (0..net.num_reactions()).find(|&r| net.reaction(r).is_ok_and(|x| x.propensity.is_some()))
    {
        return Ok(DetailedBalance {
            balanced: false,
            residual: f64::NAN,
            free_energies: None,
            violating_cycle: None,
            cycles: Vec::new(),
            reason: Some(format!(
                "reaction {} has a general propensity law, not mass action",
                net.reaction_name(r)
            )),
        });
    }
    let constant = constant_species(net);
    let edges = pair_channels(net, &constant);
    let not_balanced = |reason: String| DetailedBalance {
        balanced: false,
        residual: f64::INFINITY,
        free_energies: None,
        violating_cycle: None,
        cycles: Vec::new(),
        reason: Some(reason),
    };
    for e in &edges {
        if e.forward == 0.0 || e.backward == 0.0 {
            let r = if e.forward > 0.0 { e.fwd.0 } else { e.bwd.0 };
            return Ok(not_balanced(format!(
                "reaction {} has no reverse reaction (it is irreversible), so detailed balance is impossible",
                net.reaction_name(r)
            )));
        }
    }

    let ns = net.num_species();
    let ln_k: Vec<f64> = edges
        .iter()
        .map(|e| (e.forward / e.backward).ln())
        .collect();

    let (cycles, violating) = match cycle_test(&edges, &ln_k, ns) {
        Ok(found) => found,
        Err(why) => {
            let why = format!("detailed balance not tested: {why}");
            skipped.push(why.clone());
            return Ok(not_balanced(why));
        }
    };
    let (g, residual) = if edges.len().saturating_mul(ns) <= MAX_FREE_ENERGY_ENTRIES {
        let (g, r) = free_energy_fit(&edges, &ln_k, ns)?;
        (Some(g), r)
    } else {
        skipped.push(format!(
            "free energies: the least-squares fit over {} reaction pairs and {ns} species \
             exceeds {MAX_FREE_ENERGY_ENTRIES} entries",
            edges.len()
        ));
        (None, f64::NAN)
    };

    let free_energies: Option<Vec<Option<f64>>> = g.map(|g| {
        (0..ns)
            .map(|i| (!constant[i]).then_some(g[i] + 0.0))
            .collect()
    });
    match violating {
        None => Ok(DetailedBalance {
            balanced: true,
            residual,
            reason: match free_energies {
                Some(_) => None,
                None => skipped.last().cloned(),
            },
            free_energies,
            violating_cycle: None,
            cycles,
        }),
        Some((_, alpha, affinity)) => {
            let cycle = to_cycle(&edges, &alpha, affinity);
            let reason = format!(
                "the Wegscheider condition fails on the cycle {} (affinity {:.6e})",
                describe_cycle(net, &cycle),
                affinity
            );
            Ok(DetailedBalance {
                balanced: false,
                residual,
                free_energies: None,
                violating_cycle: Some(cycle),
                cycles,
                reason: Some(reason),
            })
        }
    }
}

/// The cycle conditions on an exact basis of ker S, or why they could not be tested (a size
/// limit or an overflow).
fn cycle_test(
    edges: &[Edge],
    ln_k: &[f64],
    ns: usize,
) -> std::result::Result<(Vec<Cycle>, Option<Violation>), String> {
    let mut echelon = Echelon::new(edges.len(), ELIMINATION_BUDGET, "reaction cycles");
    for row in edge_stoichiometry(edges, ns) {
        echelon.insert(row).map_err(|e| e.to_string())?;
    }
    let n_cycles = edges.len() - echelon.rank();
    if n_cycles > MAX_CYCLES {
        return Err(format!(
            "the network has {n_cycles} independent reaction cycles, more than the \
             {MAX_CYCLES} tested"
        ));
    }
    basis_cycles(edges, &echelon, ln_k).map_err(|e| e.to_string())
}

/// Pair the channels of `net` into edges, dropping edges with both rates zero.
///
/// A reversible reaction is a pair; an irreversible reaction is paired with a later
/// irreversible reaction that connects the same complexes the other way.
fn pair_channels(net: &Network, constant: &[bool]) -> Vec<Edge> {
    let mut edges: Vec<Edge> = Vec::new();
    let mut single: Vec<(usize, Complex, Complex, f64)> = Vec::new();
    for (r, rx) in net.reactions().enumerate() {
        let (lhs, rhs) = (net.reactants(r), net.products(r));
        let (y, yp) = (
            reduce_complex(constant, &lhs),
            reduce_complex(constant, &rhs),
        );
        let kf = effective_rate(net, rx.forward.value, &lhs);
        match &rx.reverse {
            Some(rev) => edges.push(Edge {
                from: y,
                to: yp,
                forward: kf,
                backward: effective_rate(net, rev.value, &rhs),
                fwd: (r, 1),
                bwd: (r, -1),
            }),
            None => single.push((r, y, yp, kf)),
        }
    }
    // One-way reactions waiting for a partner, by (from, to), in order. Every reaction
    // before the current one has been visited (and so used), so the first unused one
    // queued under the reverse key is the earliest later partner.
    let mut waiting: HashMap<(&Complex, &Complex), VecDeque<usize>> = HashMap::new();
    for (j, (_, y, yp, _)) in single.iter().enumerate() {
        waiting.entry((y, yp)).or_default().push_back(j);
    }
    let mut used = vec![false; single.len()];
    for i in 0..single.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let (r, y, yp, kf) = &single[i];
        let partner = waiting.get_mut(&(yp, y)).and_then(|q| {
            while q.front().is_some_and(|&j| used[j] || j <= i) {
                q.pop_front();
            }
            q.pop_front()
        });
        let (backward, bwd) = match partner {
            Some(j) => {
                used[j] = true;
                (single[j].3, (single[j].0, 1))
            }
            None => (0.0, (*r, -1)),
        };
        edges.push(Edge {
            from: y.clone(),
            to: yp.clone(),
            forward: *kf,
            backward,
            fwd: (*r, 1),
            bwd,
        });
    }
    edges.retain(|e| e.forward > 0.0 || e.backward > 0.0);
    edges
}

/// The species × edge stoichiometric matrix as sparse rows: S_e = to − from (constant
/// species reduced away).
fn edge_stoichiometry(edges: &[Edge], ns: usize) -> Vec<SparseVec> {
    let mut s: Vec<SparseVec> = vec![Vec::new(); ns];
    for (e, edge) in edges.iter().enumerate() {
        for (i, x) in linalg::net_change(&edge.from.0, &edge.to.0, Some) {
            s[i].push((e, x));
        }
    }
    s
}

/// A kernel vector `alpha` over `edges` as a cycle of reactions with the given affinity.
fn to_cycle(edges: &[Edge], alpha: &[i128], affinity: f64) -> Cycle {
    Cycle {
        reactions: alpha
            .iter()
            .enumerate()
            .filter(|(_, a)| **a != 0)
            .map(|(e, &a)| {
                let a = a as i64;
                if a > 0 {
                    (edges[e].fwd.0, edges[e].fwd.1 * a)
                } else {
                    (edges[e].bwd.0, edges[e].bwd.1 * -a)
                }
            })
            .collect(),
        affinity,
    }
}

/// A basis cycle violating the Wegscheider condition: (support size, kernel vector, affinity).
type Violation = (usize, Vec<i128>, f64);

/// Cycle conditions on an integer basis of ker S: every basis cycle with its affinity, and
/// the violating cycle of smallest support, if any.
fn basis_cycles(
    edges: &[Edge],
    echelon: &Echelon,
    ln_k: &[f64],
) -> Result<(Vec<Cycle>, Option<Violation>)> {
    let m = edges.len();
    let scale: f64 = ln_k.iter().map(|x| x.abs()).fold(0.0, f64::max).max(1.0);
    let mut violating: Option<Violation> = None;
    let mut cycles = Vec::new();
    for alpha in echelon.nullspace()? {
        let affinity: f64 = alpha.iter().map(|&(e, a)| a as f64 * ln_k[e]).sum();
        let alpha = linalg::dense(&alpha, m);
        cycles.push(to_cycle(edges, &alpha, affinity));
        let weight: f64 = alpha.iter().map(|&a| (a as f64).abs()).sum();
        if affinity.abs() > 1e-9 * scale * weight {
            let support = alpha.iter().filter(|&&a| a != 0).count();
            if violating
                .as_ref()
                .is_none_or(|(best, _, _)| support < *best)
            {
                violating = Some((support, alpha, affinity));
            }
        }
    }
    Ok((cycles, violating))
}

/// Least-squares free energies: the G minimising ‖Sᵀ G + ln K‖, and that residual norm.
fn free_energy_fit(edges: &[Edge], ln_k: &[f64], ns: usize) -> Result<(DVector<f64>, f64)> {
    let m = ln_k.len();
    let mut st = DMatrix::zeros(m, ns);
    for (e, edge) in edges.iter().enumerate() {
        for &(i, c) in &edge.from.0 {
            st[(e, i)] -= f64::from(c);
        }
        for &(i, c) in &edge.to.0 {
            st[(e, i)] += f64::from(c);
        }
    }
    let rhs = -DVector::from_vec(ln_k.to_vec());
    let g = if m == 0 || ns == 0 {
        DVector::zeros(ns)
    } else {
        let svd = st.clone().svd(true, true);
        let solve = |b: &DVector<f64>| {
            svd.solve(b, 1e-12).map_err(|e| Error::Unsupported {
                feature: format!("free-energy least squares: {e}"),
            })
        };
        let mut g = solve(&rhs)?;
        // nalgebra's SVD can lose digits on rank-deficient matrices (a singular value off in
        // the 5th digit was seen on a 5 × 4 stoichiometry): refine while that helps.
        let scale = rhs.amax().max(1.0);
        let mut r = &rhs - &st * &g;
        for _ in 0..8 {
            if r.norm() <= 1e-12 * scale {
                break;
            }
            let next = &g + solve(&r)?;
            let rn = &rhs - &st * &next;
            if rn.norm() >= r.norm() {
                break;
            }
            (g, r) = (next, rn);
        }
        g
    };
    let residual = (&st * &g - &rhs).norm();
    Ok((g, residual))
}

impl DetailedBalance {
    /// The free energies, or [`Error::Unsupported`] naming `what` needed them and why the
    /// network is not detailed balanced.
    pub fn require_free_energies(self, what: &str) -> Result<Vec<Option<f64>>> {
        match (self.balanced, self.free_energies) {
            (true, Some(g)) => Ok(g),
            _ => Err(Error::Unsupported {
                feature: format!(
                    "{what}: the network is not detailed balanced ({})",
                    self.reason.unwrap_or_default()
                ),
            }),
        }
    }
}

/// The cycle in words, e.g. `r1 + r2 - 2·r3`.
pub(crate) fn describe_cycle(net: &Network, c: &Cycle) -> String {
    let mut out = String::new();
    for (k, &(r, a)) in c.reactions.iter().enumerate() {
        if k == 0 {
            if a < 0 {
                out.push('-');
            }
        } else {
            out.push_str(if a < 0 { " - " } else { " + " });
        }
        if a.unsigned_abs() != 1 {
            out.push_str(&format!("{}·", a.unsigned_abs()));
        }
        out.push_str(&net.reaction_name(r));
    }
    out
}

/// Reactants, products, barrier and label of a reaction in a [`ThermodynamicBuilder`].
type ThermoReaction = (Vec<(String, u32)>, Vec<(String, u32)>, f64, Option<String>);

/// Builds networks from species free energies G_i and reaction barriers B_r (units of kT):
///
/// k⁺_r = exp(−(B_r − Σ_i ν_ir G_i)),  k⁻_r = exp(−(B_r − Σ_i ν′_ir G_i)),
///
/// so k⁺/k⁻ = exp(−ΔG_r) with ΔG_r = Σ_i (ν′_ir − ν_ir) G_i, and every network it makes is
/// detailed balanced with equilibrium concentrations c_i = e^(−G_i). The energies become
/// parameters `G_<species>` and `B_<n>` (or `B_<label>`), and the rates expressions of them,
/// so the written model shows its thermodynamic structure.
///
/// ```
/// use crnkit_core::network::ThermodynamicBuilder;
/// let net = ThermodynamicBuilder::new()
///     .species("A", 0.0, 10)
///     .species("B", 1.0, 0)
///     .reaction(&[("A", 1)], &[("B", 1)], 2.0)
///     .build()?;
/// assert!(net.analyze()?.detailed_balance.balanced);
/// # Ok::<(), crnkit_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ThermodynamicBuilder {
    volume: Option<f64>,
    species: Vec<(String, f64, u64)>,
    reactions: Vec<ThermoReaction>,
}

impl ThermodynamicBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the volume Ω.
    pub fn volume(mut self, omega: f64) -> Self {
        self.volume = Some(omega);
        self
    }

    /// A species with free energy `g` (kT) and an initial count.
    pub fn species(mut self, name: &str, g: f64, initial: u64) -> Self {
        self.species.push((name.to_string(), g, initial));
        self
    }

    /// A reversible reaction with barrier `b` (kT).
    pub fn reaction(mut self, reactants: &[(&str, u32)], products: &[(&str, u32)], b: f64) -> Self {
        let conv = |t: &[(&str, u32)]| t.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        self.reactions
            .push((conv(reactants), conv(products), b, None));
        self
    }

    /// Label the most recently added reaction (its barrier parameter becomes `B_<label>`).
    pub fn label(mut self, label: &str) -> Self {
        if let Some(r) = self.reactions.last_mut() {
            r.3 = Some(label.to_string());
        }
        self
    }

    /// Build the network (validated like any other).
    pub fn build(self) -> Result<Network> {
        let gname = |s: &str| format!("G_{s}");
        let mut spec = NetworkSpec {
            volume: Expr::Num(self.volume.unwrap_or(1.0)),
            ..NetworkSpec::default()
        };
        for (name, g, _) in &self.species {
            spec.parameters.push(ParameterSpec {
                name: gname(name),
                value: Expr::Num(*g),
            });
        }
        for (r, (lhs, rhs, b, label)) in self.reactions.iter().enumerate() {
            let bname = match label {
                Some(l) => format!("B_{l}"),
                None => format!("B_{}", r + 1),
            };
            spec.parameters.push(ParameterSpec {
                name: bname.clone(),
                value: Expr::Num(*b),
            });
            // exp(sum nu G - B)
            let rate = |side: &[(String, u32)]| -> Expr {
                let mut e: Option<Expr> = None;
                for (name, c) in side {
                    let mut term = Expr::var(gname(name));
                    if *c != 1 {
                        term = Expr::Bin(
                            BinOp::Mul,
                            Box::new(Expr::Num(f64::from(*c))),
                            Box::new(term),
                        );
                    }
                    e = Some(match e {
                        None => term,
                        Some(acc) => Expr::Bin(BinOp::Add, Box::new(acc), Box::new(term)),
                    });
                }
                let b = Expr::var(bname.clone());
                let arg = match e {
                    None => Expr::Neg(Box::new(b)),
                    Some(sum) => Expr::Bin(BinOp::Sub, Box::new(sum), Box::new(b)),
                };
                Expr::Call(super::Func::Exp, vec![arg])
            };
            spec.reactions.push(ReactionSpec {
                label: label.clone(),
                reactants: Terms(lhs.clone()),
                products: Terms(rhs.clone()),
                rate: rate(lhs),
                reverse: Some(rate(rhs)),
                propensity: None,
            });
        }
        for (name, _, n) in &self.species {
            spec.species.push(SpeciesSpec {
                name: name.clone(),
                initial: *n as f64,
                constant: false,
            });
        }
        spec.build()
    }
}
