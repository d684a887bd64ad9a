//! Learning by relative entropy with detailed-balanced networks (Poole, Ouldridge &
//! Gopalkrishnan, "Autonomous learning of generative models with chemical reaction network
//! ensembles", 2023).
//!
//! A detailed-balanced network with species free energies G_i (kT) has, on the
//! conservation class Γ of its initial state, the stationary distribution
//! π_G(x) ∝ Π_i (Ω e^(−G_i))^(x_i) / x_i! (product form). With the species split into
//! visible v and hidden h, the model is the visible marginal P_G(v) = Σ_h π_G(v, h). For a
//! target Q(v) the objective is D(Q‖P_G) = Σ_v Q(v) ln(Q(v)/P_G(v)) and, because −G is
//! the natural parameter of an exponential family,
//!
//! ∂D/∂G_i = E_{Q(v) P_G(h|v)}\[x_i\] − E_{P_G}\[x_i\]
//!
//! ("clamped" minus "free" averages, as in a Boltzmann machine). [`GenerativeModel`]
//! computes both exactly by enumerating Γ; [`fit_exact`] minimises D with argmin's L-BFGS
//! (the in-silico baseline).
//!
//! [`learn`] is the one entry point for every method — exact (L-BFGS), sampled gradients,
//! the chemical learner simulated exactly ([`Learner::run_ssa`]) or in its large-ensemble
//! limit ([`Learner::run_limit`]) — from a model, an [`Environment`] and
//! [`LearnSettings`]; it returns the [`LearningCurve`], whose points carry the entropy
//! produced by kind ([`EntropyAccounts`]). A `crnkit learn` job file is these settings
//! ([`job`]: the job file's parser, its model and environment, and its data files).
//!
//! ```
//! use crnkit_core::Network;
//! use crnkit_learn::{GenerativeModel, fit_exact};
//!
//! // Visible V, hidden H, V + H = 3: the model is Binomial(3, p) in V.
//! let net = Network::from_crn_str("species: V = 3, H = 0\nV <-> H @ 1, 1", "vh.crn")?;
//! let model = GenerativeModel::new(&net, &["V"], 100)?;
//! let pmf = [0.008, 0.096, 0.384, 0.512]; // Binomial(3, 0.8)
//! let rows: Vec<(Vec<u32>, f64)> = (0..4).map(|v| (vec![v], pmf[v as usize])).collect();
//! let target = model.target(&rows)?;
//! let fit = fit_exact(&model, &target, model.initial_parameters(), 200)?;
//! assert!(fit.divergence < 1e-10);
//! // p / (1 − p) = 4 = e^{G_H − G_V}
//! assert!(((fit.parameters[1] - fit.parameters[0]) - 4f64.ln()).abs() < 1e-6);
//! # Ok::<(), crnkit_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod boltzmann;
pub mod chemical;
mod entry;
pub mod job;
pub mod limit;
pub mod sampled;

pub use chemical::{
    ChannelKind, CurvePoint, EntropyAccounts, Environment, Learner, LearnerConfig, LearningCurve,
    LearningNetwork, RunConfig,
};
pub use entry::{LearnMethod, LearnOutcome, LearnSettings, learn};
pub use limit::LimitMode;
pub use sampled::{SampledConfig, curve_from_g, learn_sampled};

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use crnkit_core::network::CompiledNetwork;
use crnkit_core::progress::Reporter;
use crnkit_core::{Error, Network, Result};
use crnkit_sim::cme::{StateSpace, enumerate, ln_factorial};

/// A detailed-balanced network as a generative model over its visible species.
#[derive(Debug, Clone)]
pub struct GenerativeModel {
    network: Network,
    species: Vec<String>,
    /// Non-constant species (the parameters are their free energies).
    dynamic: Vec<usize>,
    visible: Vec<usize>,
    space: StateSpace,
    /// G-independent part of ln π per state: Σ_dyn (x_i ln Ω − ln x_i!).
    base: Vec<f64>,
    /// Index of each state's visible configuration in `visible_states`.
    visible_of: Vec<usize>,
    visible_states: Vec<Vec<u32>>,
    /// Free energies the network was built with (min-norm solution of the DB test).
    initial: Vec<f64>,
    cap: Option<u32>,
}

/// A target distribution over the visible species.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Visible configurations (counts in the model's visible order).
    pub states: Vec<Vec<u32>>,
    /// Their probabilities (normalised).
    pub probabilities: Vec<f64>,
}

impl GenerativeModel {
    /// The model of `net` with the named species visible (the others hidden). The network
    /// must be detailed balanced; its conservation class must be finite and have at most
    /// `max_states` states.
    pub fn new(net: &Network, visible: &[&str], max_states: usize) -> Result<GenerativeModel> {
        Self::with_cap(net, visible, None, max_states)
    }

    /// As [`GenerativeModel::new`], with every species' count capped at `cap` when given: the
    /// class is then the reachable states within the box and the model is the product form
    /// restricted to it (the stationary law of the chain reflected at the box, which stays
    /// detailed balanced). Needed for open networks such as ∅ ⇌ S; choose the cap where
    /// the product form has negligible mass (see [`GenerativeModel::cap_mass`]).
    pub fn with_cap(
        net: &Network,
        visible: &[&str],
        cap: Option<u32>,
        max_states: usize,
    ) -> Result<GenerativeModel> {
        net.require_mass_action("a generative model")?;
        let initial_g = net
            .analyze()?
            .detailed_balance
            .require_free_energies("a generative model")?;
        let compiled: CompiledNetwork = net.compile();
        let species: Vec<String> = net.species().map(|s| s.name.clone()).collect();
        let dynamic: Vec<usize> = (0..species.len())
            .filter(|&i| !compiled.is_constant(i))
            .collect();
        let mut vis = Vec::new();
        for name in visible {
            let i = net
                .species_index(name)
                .ok_or_else(|| Error::UnknownSpecies {
                    name: (*name).to_string(),
                })?;
            if compiled.is_constant(i) {
                return Err(Error::InvalidSetting {
                    name: "visible",
                    value: (*name).to_string(),
                    reason: "a constant species cannot be a visible unit",
                });
            }
            if !vis.contains(&i) {
                vis.push(i);
            }
        }
        if vis.is_empty() {
            return Err(Error::InvalidSetting {
                name: "visible",
                value: String::new(),
                reason: "at least one species must be visible",
            });
        }
        let bounds: Vec<Option<u32>> = (0..species.len())
            .map(|i| if compiled.is_constant(i) { None } else { cap })
            .collect();
        let space = enumerate(&compiled, compiled.initial_state(), &bounds, max_states)?;
        let ln_omega = net.volume().ln();
        let base = space
            .iter()
            .map(|x| {
                dynamic
                    .iter()
                    .map(|&i| {
                        let v = u64::from(x[i]);
                        v as f64 * ln_omega - ln_factorial(v)
                    })
                    .sum()
            })
            .collect();
        let mut visible_states: Vec<Vec<u32>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let visible_of = space
            .iter()
            .map(|x| {
                let key: Vec<u32> = vis.iter().map(|&i| x[i]).collect();
                *index.entry(key.clone()).or_insert_with(|| {
                    visible_states.push(key);
                    visible_states.len() - 1
                })
            })
            .collect();
        let initial = dynamic
            .iter()
            .map(|&i| initial_g[i].unwrap_or(0.0))
            .collect();
        Ok(GenerativeModel {
            network: net.clone(),
            species,
            dynamic,
            visible: vis,
            space,
            base,
            visible_of,
            visible_states,
            initial,
            cap,
        })
    }

    /// The cap given to [`GenerativeModel::with_cap`].
    pub fn cap(&self) -> Option<u32> {
        self.cap
    }

    /// Probability that π_G puts on states where some species sits at the cap (0 without
    /// a cap): how much the truncation could matter.
    pub fn cap_mass(&self, g: &[f64]) -> Result<f64> {
        let Some(c) = self.cap else { return Ok(0.0) };
        let pi = self.stationary(g)?;
        Ok(self
            .space
            .iter()
            .zip(&pi)
            .filter(|(x, _)| self.dynamic.iter().any(|&i| x[i] >= c))
            .map(|(_, p)| p)
            .sum())
    }

    /// The network the model was built from.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Names of the parameters: the non-constant species, in order.
    pub fn parameter_names(&self) -> Vec<&str> {
        self.dynamic
            .iter()
            .map(|&i| self.species[i].as_str())
            .collect()
    }

    /// Names of the visible species, in the order given to [`GenerativeModel::new`].
    pub fn visible_names(&self) -> Vec<&str> {
        self.visible
            .iter()
            .map(|&i| self.species[i].as_str())
            .collect()
    }

    /// The free energies of the network the model was built from.
    pub fn initial_parameters(&self) -> &[f64] {
        &self.initial
    }

    /// The conservation class.
    pub fn space(&self) -> &StateSpace {
        &self.space
    }

    /// π_G on the class (state order of [`GenerativeModel::space`]).
    pub fn stationary(&self, g: &[f64]) -> Result<Vec<f64>> {
        Ok(self.log_stationary(g)?.into_iter().map(f64::exp).collect())
    }

    /// ln π_G on the class (normalised; finite even where π_G underflows).
    pub fn log_stationary(&self, g: &[f64]) -> Result<Vec<f64>> {
        self.check_parameters(g)?;
        let logw: Vec<f64> = self
            .space
            .iter()
            .zip(&self.base)
            .map(|(x, b)| {
                b - self
                    .dynamic
                    .iter()
                    .zip(g)
                    .map(|(&i, gi)| gi * f64::from(x[i]))
                    .sum::<f64>()
            })
            .collect();
        let top = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = logw.iter().map(|l| (l - top).exp()).sum();
        let lz = top + z.ln();
        Ok(logw.into_iter().map(|l| l - lz).collect())
    }

    /// P_G(v) for every visible configuration of the class (order of
    /// [`GenerativeModel::visible_states`]).
    pub fn visible_marginal(&self, g: &[f64]) -> Result<Vec<f64>> {
        let pi = self.stationary(g)?;
        let mut p = vec![0.0; self.visible_states.len()];
        for (x, &q) in pi.iter().enumerate() {
            p[self.visible_of[x]] += q;
        }
        Ok(p)
    }

    /// The visible configurations the class can show.
    pub fn visible_states(&self) -> &[Vec<u32>] {
        &self.visible_states
    }

    fn check_parameters(&self, g: &[f64]) -> Result<()> {
        if g.len() != self.dynamic.len() || g.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidSetting {
                name: "free energies",
                value: format!("{g:?}"),
                reason: "one finite free energy per non-constant species",
            });
        }
        Ok(())
    }

    /// A target from (visible configuration, weight) pairs; weights are normalised. Every
    /// configuration must be reachable in the model's class. A configuration lists counts
    /// in the model's visible order: the order of the names given to
    /// [`GenerativeModel::new`] (as [`GenerativeModel::visible_names`] returns them).
    pub fn target(&self, rows: &[(Vec<u32>, f64)]) -> Result<Target> {
        let mut states = Vec::new();
        let mut probabilities = Vec::new();
        for (v, w) in rows {
            if v.len() != self.visible.len() {
                return Err(Error::InvalidSetting {
                    name: "target",
                    value: format!("{v:?}"),
                    reason: "one count per visible species",
                });
            }
            if !(w.is_finite() && *w >= 0.0) {
                return Err(Error::InvalidSetting {
                    name: "target",
                    value: w.to_string(),
                    reason: "weights must be finite and >= 0",
                });
            }
            if *w > 0.0 && !self.visible_states.contains(v) {
                return Err(Error::InvalidSetting {
                    name: "target",
                    value: format!("{v:?}"),
                    reason: "the target puts weight on a visible state the model's conservation class cannot reach",
                });
            }
            states.push(v.clone());
            probabilities.push(*w);
        }
        let z: f64 = probabilities.iter().sum();
        if !z.is_finite() {
            return Err(Error::InvalidSetting {
                name: "target",
                value: format!("{} weights", probabilities.len()),
                reason: "the weights sum beyond the largest double: scale them down",
            });
        }
        if z <= 0.0 {
            return Err(Error::InvalidSetting {
                name: "target",
                value: "0".into(),
                reason: "the target has no weight",
            });
        }
        probabilities.iter_mut().for_each(|p| *p /= z);
        Ok(Target {
            states,
            probabilities,
        })
    }

    /// A target read from CSV: a header naming visible species (any order) and a last
    /// column `probability` or `count`; one row per configuration. A column that is not a
    /// visible species is an error.
    pub fn target_from_csv(&self, text: &str, file: &str) -> Result<Target> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(Error::InvalidSetting {
                name: "target",
                value: file.to_string(),
                reason: "the target file is empty",
            });
        };
        let cols: Vec<&str> = header.split(',').map(str::trim).collect();
        let (weight, names) = cols.split_last().ok_or_else(|| Error::InvalidSetting {
            name: "target",
            value: file.to_string(),
            reason: "no columns",
        })?;
        if *weight != "probability" && *weight != "count" {
            return Err(Error::InvalidSetting {
                name: "target",
                value: (*weight).to_string(),
                reason: "the last column must be `probability` or `count`",
            });
        }
        let vis = self.visible_names();
        let mut order = Vec::new();
        for n in names {
            match vis.iter().position(|v| v == n) {
                Some(k) => order.push(k),
                None => {
                    return Err(Error::InvalidSetting {
                        name: "target",
                        value: (*n).to_string(),
                        reason: "a target column that is not a visible species",
                    });
                }
            }
        }
        if order.len() != vis.len() {
            return Err(Error::InvalidSetting {
                name: "target",
                value: names.join(","),
                reason: "the target must give every visible species",
            });
        }
        let mut rows = Vec::new();
        for (ln, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let bad = |col: usize, cell: &str| {
                // 1-based column of cell `col` in the line.
                let at = 1 + line
                    .split(',')
                    .take(col)
                    .map(|c| c.len() + 1)
                    .sum::<usize>();
                Error::Syntax {
                    expected: if col < names.len() {
                        "a count (a non-negative integer)".into()
                    } else {
                        "a weight (a number)".into()
                    },
                    found: format!("`{cell}`"),
                }
                .at(file, text, ln + 1, at)
            };
            if cells.len() != cols.len() {
                return Err(Error::Syntax {
                    expected: format!("{} comma-separated cells", cols.len()),
                    found: format!("{} cells", cells.len()),
                }
                .at(file, text, ln + 1, 1));
            }
            let mut v = vec![0u32; vis.len()];
            for (c, cell) in cells[..names.len()].iter().enumerate() {
                v[order[c]] = cell.parse().map_err(|_| bad(c, cell))?;
            }
            let w: f64 = cells[names.len()]
                .parse()
                .map_err(|_| bad(names.len(), cells[names.len()]))?;
            rows.push((v, w));
        }
        self.target(&rows)
    }

    /// D(Q‖P_G) and its gradient ∂D/∂G (see the module docs).
    pub fn objective(&self, target: &Target, g: &[f64]) -> Result<(f64, Vec<f64>)> {
        let e = self.expectations(target, g)?;
        let grad = e.clamped.iter().zip(&e.free).map(|(c, f)| c - f).collect();
        Ok((e.divergence, grad))
    }

    /// D(Q‖P_G), the free averages E_π\[x_i\] and the clamped ones E_{Q(v)π(h|v)}\[x_i\] (per
    /// parameter), and the clamped law Q(v)π(x|v) on the class.
    pub fn expectations(&self, target: &Target, g: &[f64]) -> Result<Expectations> {
        let lpi = self.log_stationary(g)?;
        let pi: Vec<f64> = lpi.iter().map(|l| l.exp()).collect();
        // ln P_G(v) by log-sum-exp per visible configuration.
        let nv = self.visible_states.len();
        let mut top = vec![f64::NEG_INFINITY; nv];
        for (x, &l) in lpi.iter().enumerate() {
            let k = self.visible_of[x];
            top[k] = top[k].max(l);
        }
        let mut acc = vec![0.0; nv];
        for (x, &l) in lpi.iter().enumerate() {
            let k = self.visible_of[x];
            acc[k] += (l - top[k]).exp();
        }
        let lpv: Vec<f64> = top.iter().zip(&acc).map(|(t, a)| t + a.ln()).collect();
        // Q per visible configuration of the class.
        let index: std::collections::HashMap<&[u32], usize> = self
            .visible_states
            .iter()
            .enumerate()
            .map(|(k, v)| (v.as_slice(), k))
            .collect();
        let mut qv = vec![0.0; nv];
        for (s, &q) in target.states.iter().zip(&target.probabilities) {
            if q > 0.0 {
                let k = *index.get(s.as_slice()).ok_or_else(|| Error::InvalidSetting {
                    name: "target",
                    value: format!("{s:?}"),
                    reason: "the target puts weight on a visible state the model's conservation class cannot reach",
                })?;
                qv[k] += q;
            }
        }
        let mut d = 0.0;
        for (&q, &lp) in qv.iter().zip(&lpv) {
            if q > 0.0 {
                d += q * (q.ln() - lp);
            }
        }
        let clamped_law: Vec<f64> = lpi
            .iter()
            .enumerate()
            .map(|(x, &l)| {
                let k = self.visible_of[x];
                if qv[k] > 0.0 {
                    qv[k] * (l - lpv[k]).exp()
                } else {
                    0.0
                }
            })
            .collect();
        let n = self.dynamic.len();
        let mut clamped = vec![0.0; n];
        let mut free = vec![0.0; n];
        for (x, (s, &q)) in self.space.iter().zip(&pi).enumerate() {
            let wc = clamped_law[x];
            for (j, &i) in self.dynamic.iter().enumerate() {
                let xi = f64::from(s[i]);
                clamped[j] += wc * xi;
                free[j] += q * xi;
            }
        }
        Ok(Expectations {
            divergence: d,
            free,
            clamped,
            stationary: pi,
            clamped_law,
        })
    }
}

/// What [`GenerativeModel::expectations`] returns.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// D(Q‖P_G).
    pub divergence: f64,
    /// E_{π_G}\[x_i\] per parameter.
    pub free: Vec<f64>,
    /// E_{Q(v) π_G(h|v)}\[x_i\] per parameter.
    pub clamped: Vec<f64>,
    /// π_G on the class.
    pub stationary: Vec<f64>,
    /// Q(v) π_G(x | v) on the class.
    pub clamped_law: Vec<f64>,
}

struct Problem<'a> {
    model: &'a GenerativeModel,
    target: &'a Target,
    /// Stops the optimisation (an error out of the next evaluation) once cancelled.
    cancel: &'a Reporter,
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, g: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        self.cancel.check_cancelled()?;
        Ok(self.model.objective(self.target, g)?.0)
    }
}

impl Gradient for Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, g: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        self.cancel.check_cancelled()?;
        Ok(self.model.objective(self.target, g)?.1)
    }
}

/// The result of [`fit_exact`].
#[derive(Debug, Clone)]
pub struct Fit {
    /// Free energies at the optimum.
    pub parameters: Vec<f64>,
    /// D(Q‖P) there.
    pub divergence: f64,
    /// Iterations used.
    pub iterations: u64,
    /// (iteration, D, free energies) after every iteration (the start is iteration 0).
    pub history: Vec<(u64, f64, Vec<f64>)>,
}

type History = std::sync::Arc<std::sync::Mutex<Vec<(u64, f64, Vec<f64>)>>>;

struct Recorder(History);

impl<I: State<Param = Vec<f64>, Float = f64>> argmin::core::observers::Observe<I> for Recorder {
    fn observe_iter(
        &mut self,
        state: &I,
        _kv: &argmin::core::KV,
    ) -> std::result::Result<(), argmin::core::Error> {
        if let (Some(p), Ok(mut h)) = (state.get_param(), self.0.lock()) {
            h.push((state.get_iter(), state.get_cost(), p.clone()));
        }
        Ok(())
    }
}

/// Minimise D(Q‖P_G) over G from `start` with L-BFGS (memory 7, Moré–Thuente line search)
/// and the exact gradient; at most `max_iters` iterations. A start where the gradient
/// vanishes (|∂D/∂G| ≤ 1e-10) though D > 1e-10 is a saddle or a maximum for this objective
/// in practice (the symmetric start of a Boltzmann machine's hidden units): the fit then
/// begins from the start moved by a fixed pseudo-random step of at most 0.005 per
/// parameter, and the history starts there.
pub fn fit_exact(
    model: &GenerativeModel,
    target: &Target,
    start: &[f64],
    max_iters: u64,
) -> Result<Fit> {
    fit_exact_cancellable(model, target, start, max_iters, &Reporter::none())
}

/// [`fit_exact`], stopping with [`Error::Cancelled`] at the next evaluation of the
/// objective once `cancel`'s token is cancelled.
pub(crate) fn fit_exact_cancellable(
    model: &GenerativeModel,
    target: &Target,
    start: &[f64],
    max_iters: u64,
    cancel: &Reporter,
) -> Result<Fit> {
    model.check_parameters(start)?;
    // A start where the gradient vanishes but the fit is imperfect (the symmetric start of
    // a machine with hidden units is a saddle) would end at once, "converged": move off it
    // by a small deterministic step first.
    let (mut d0, g0) = model.objective(target, start)?;
    let mut start = start.to_vec();
    if d0 > 1e-10 && g0.iter().all(|g| g.abs() <= 1e-10) {
        let mut rng = crnkit_core::rng::stream(0, u64::MAX - 2);
        for v in &mut start {
            *v += 0.01 * (rand::Rng::random::<f64>(&mut rng) - 0.5);
        }
        d0 = model.objective(target, &start)?.0;
    }
    let start = &start[..];
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(1e-12)
        .and_then(|s| s.with_tolerance_cost(1e-15))
        .map_err(|e| Error::Numerical {
            what: "L-BFGS setup",
            reason: e.to_string(),
        })?;
    let history: History =
        std::sync::Arc::new(std::sync::Mutex::new(vec![(0, d0, start.to_vec())]));
    let problem = Problem {
        model,
        target,
        cancel,
    };
    let res = Executor::new(problem, solver)
        .configure(|s| s.param(start.to_vec()).max_iters(max_iters))
        .add_observer(
            Recorder(history.clone()),
            argmin::core::observers::ObserverMode::Always,
        )
        .run()
        .map_err(|e| {
            cancel.cancelled_or(Error::Numerical {
                what: "L-BFGS",
                reason: e.to_string(),
            })
        })?;
    let state = res.state();
    let parameters = state
        .get_best_param()
        .cloned()
        .unwrap_or_else(|| start.to_vec());
    let divergence = model.objective(target, &parameters)?.0;
    let history = history.lock().map(|h| h.clone()).unwrap_or_default();
    Ok(Fit {
        parameters,
        divergence,
        iterations: state.get_iter(),
        history,
    })
}

/// A gradient estimated from stationary samples of free and clamped copies.
#[derive(Debug, Clone)]
pub struct SampledGradient {
    /// E_clamped\[x_i\] − E_free\[x_i\] per parameter.
    pub gradient: Vec<f64>,
    /// Its standard error per parameter.
    pub standard_error: Vec<f64>,
}

impl GenerativeModel {
    /// The network with its rate constants moved to free energies `g`, keeping every
    /// barrier: k⁺ → k⁺ exp(Σ_i ν_i (G_i − G⁰_i)), k⁻ → k⁻ exp(Σ_i ν'_i (G_i − G⁰_i)).
    pub fn network_at(&self, g: &[f64]) -> Result<Network> {
        self.check_parameters(g)?;
        let mut dg = vec![0.0; self.species.len()];
        for (j, &i) in self.dynamic.iter().enumerate() {
            dg[i] = g[j] - self.initial[j];
        }
        let shift = |terms: &[(usize, u32)]| -> f64 {
            terms
                .iter()
                .map(|&(i, c)| f64::from(c) * dg[i])
                .sum::<f64>()
                .exp()
        };
        let mut rates = Vec::with_capacity(self.network.num_reactions());
        for (r, rx) in self.network.reactions().enumerate() {
            let (reac, prod) = (self.network.reactants(r), self.network.products(r));
            let rev = rx.reverse.as_ref().map(|rev| rev.value * shift(&prod));
            rates.push((rx.forward.value * shift(&reac), rev));
        }
        let mut net = self.network.clone();
        net.set_rate_constants(&rates)?;
        Ok(net)
    }

    /// The gradient estimated by simulation: `runs` free copies sampled at time `burn_in`
    /// from the initial state, and `runs` clamped copies, each drawing v ~ Q, starting from
    /// a state of the class that shows v and running only the reactions that leave the
    /// visible species unchanged (their stationary law on {x : visible = v} is π(h | v), by
    /// detailed balance), sampled at `burn_in`. Run i uses `rng::stream(seed, i)` (free) and
    /// `rng::stream(seed, runs + i)` (clamped). The estimate is unbiased once `burn_in` is
    /// long against the relaxation time; its standard error is from the sample variances.
    ///
    /// Fails when the clamped reactions do not connect a clamped class (then they cannot
    /// sample π(h | v)).
    pub fn sampled_gradient(
        &self,
        target: &Target,
        g: &[f64],
        runs: u64,
        burn_in: f64,
        seed: u64,
    ) -> Result<SampledGradient> {
        use rand::Rng as _;
        use rayon::prelude::*;

        use crnkit_sim::ssa::{AnySimulator, GridRecorder, Method, Simulator, TimeGrid};

        if runs < 2 || !(burn_in.is_finite() && burn_in > 0.0) {
            return Err(Error::InvalidSetting {
                name: "sampled gradient",
                value: format!("runs {runs}, burn-in {burn_in}"),
                reason: "at least 2 runs and a positive finite burn-in",
            });
        }
        let free_net = self.network_at(g)?;
        let free = free_net.compile();
        let ClampedSetup {
            network: clamped_net,
            representative,
            cum,
            rows,
        } = self.clamped_setup(&free_net, target)?;
        let n = self.dynamic.len();
        let grid = TimeGrid::from_times(vec![burn_in])?;
        let sample = |net: &CompiledNetwork,
                      x0: &[u64],
                      rng: &mut crnkit_core::rng::Rng|
         -> Result<Vec<f64>> {
            let mut sim = AnySimulator::new(net, Method::Direct)?;
            sim.reset(x0, 0.0)?;
            let mut rec = GridRecorder::new(&grid);
            sim.advance_until(burn_in, rng, &mut rec)?;
            let x: &[u64] = if rec.states.len() >= x0.len() {
                &rec.states
            } else {
                x0
            };
            Ok(self.dynamic.iter().map(|&i| x[i] as f64).collect())
        };
        let x0: Vec<u64> = free.initial_state().to_vec();
        let free_samples: Vec<Result<Vec<f64>>> = (0..runs)
            .into_par_iter()
            .map(|i| sample(&free, &x0, &mut crnkit_core::rng::stream(seed, i)))
            .collect();
        let clamped_samples: Vec<Result<Vec<f64>>> = (0..runs)
            .into_par_iter()
            .map(|i| {
                let mut rng = crnkit_core::rng::stream(seed, runs + i);
                let k = crnkit_sim::thermo::path::draw(&cum, rng.random::<f64>());
                let start: Vec<u64> = self
                    .space
                    .state(representative[rows[k]])
                    .iter()
                    .map(|&c| u64::from(c))
                    .collect();
                match &clamped_net {
                    Some(c) => sample(c, &start, &mut rng),
                    None => Ok(self.dynamic.iter().map(|&i| start[i] as f64).collect()),
                }
            })
            .collect();
        // Welford means and sample variances, in run order.
        let moments = |s: Vec<Result<Vec<f64>>>| -> Result<(Vec<f64>, Vec<f64>)> {
            let mut m = crnkit_sim::ssa::Moments::new(1, n);
            for (k, row) in s.into_iter().enumerate() {
                m.push(0, k as u64 + 1, row?.into_iter());
            }
            let var = m.m2.iter().map(|v| v / (runs - 1) as f64).collect();
            Ok((m.mean, var))
        };
        let (mf, vf) = moments(free_samples)?;
        let (mc, vc) = moments(clamped_samples)?;
        Ok(SampledGradient {
            gradient: (0..n).map(|j| mc[j] - mf[j]).collect(),
            standard_error: (0..n)
                .map(|j| ((vc[j] + vf[j]) / runs as f64).sqrt())
                .collect(),
        })
    }
}

/// The clamped dynamics of a model: see [`GenerativeModel::clamped_setup`].
struct ClampedSetup {
    network: Option<CompiledNetwork>,
    representative: Vec<usize>,
    cum: Vec<f64>,
    rows: Vec<usize>,
}

impl GenerativeModel {
    /// The clamped copy of `free_net` (its reactions that leave the visible species
    /// unchanged), a representative state per visible configuration, and the target's
    /// cumulative weights over the configurations it uses. Fails when the clamped
    /// reactions do not connect the states that show one of the target's configurations.
    fn clamped_setup(&self, free_net: &Network, target: &Target) -> Result<ClampedSetup> {
        let bounds: Vec<Option<u32>> = (0..self.species.len())
            .map(|i| {
                if self.dynamic.contains(&i) {
                    self.cap
                } else {
                    None
                }
            })
            .collect();
        // The clamped copy: reactions that do not change a visible species.
        let mut spec = free_net.to_spec();
        let keep: Vec<bool> = (0..free_net.num_reactions())
            .map(|r| {
                let mut change = vec![0i64; self.species.len()];
                for (i, c) in free_net.reactants(r) {
                    change[i] -= i64::from(c);
                }
                for (i, c) in free_net.products(r) {
                    change[i] += i64::from(c);
                }
                self.visible.iter().all(|&i| change[i] == 0)
            })
            .collect();
        let mut k = 0;
        spec.reactions.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        let clamped_net = if spec.reactions.is_empty() {
            None
        } else {
            Some(spec.build()?.compile())
        };
        // A representative state per visible configuration, and a check that the clamped
        // reactions connect each clamped class.
        let mut representative = vec![usize::MAX; self.visible_states.len()];
        let mut class_size = vec![0usize; self.visible_states.len()];
        for (x, &v) in self.visible_of.iter().enumerate() {
            if representative[v] == usize::MAX {
                representative[v] = x;
            }
            class_size[v] += 1;
        }
        let mut cum = Vec::with_capacity(target.states.len());
        let mut acc = 0.0;
        let mut rows = Vec::with_capacity(target.states.len());
        for (s, &q) in target.states.iter().zip(&target.probabilities) {
            let Some(v) = self.visible_states.iter().position(|w| w == s) else {
                continue;
            };
            let reach = match &clamped_net {
                Some(c) => {
                    let x0: Vec<u64> = self
                        .space
                        .state(representative[v])
                        .iter()
                        .map(|&c| u64::from(c))
                        .collect();
                    enumerate(c, &x0, &bounds, self.space.len())?.len()
                }
                None => 1,
            };
            if reach != class_size[v] {
                return Err(Error::Unsupported {
                    feature: format!(
                        "clamped sampling: with the visible species held at {s:?} the remaining reactions reach {reach} of the {} hidden configurations",
                        class_size[v]
                    ),
                });
            }
            acc += q;
            cum.push(acc);
            rows.push(v);
        }
        Ok(ClampedSetup {
            network: clamped_net,
            representative,
            cum,
            rows,
        })
    }

    /// Fails (naming the configuration) when clamping the visible species at one of the
    /// target's configurations leaves reactions that cannot reach every hidden state.
    pub(crate) fn check_clamped_connectivity(&self, target: &Target) -> Result<()> {
        self.clamped_setup(&self.network_at(&self.initial)?, target)
            .map(|_| ())
    }
}

/// How an environment state maps to a visible species' count: `V = S >= n`, `V = S < n`
/// (indicators) or `V = S` (the count itself).
#[derive(Debug, Clone, PartialEq)]
pub enum BinRule {
    /// 1 when the environment species' count is at least the threshold, else 0.
    AtLeast(usize, u64),
    /// 1 when the count is below the threshold, else 0.
    Below(usize, u64),
    /// The count itself.
    Count(usize),
}

impl BinRule {
    fn apply(&self, x: &[u32]) -> u32 {
        match *self {
            BinRule::AtLeast(i, n) => u32::from(u64::from(x[i]) >= n),
            BinRule::Below(i, n) => u32::from(u64::from(x[i]) < n),
            BinRule::Count(i) => x[i],
        }
    }
}

impl GenerativeModel {
    /// Parse binning rules `V = S >= n`, `V = S < n` or `V = S`, one per visible species
    /// (any order), against the environment network `env`; returns them in visible order.
    pub fn parse_bin_rules(&self, env: &Network, rules: &[String]) -> Result<Vec<BinRule>> {
        let vis = self.visible_names();
        let mut out: Vec<Option<BinRule>> = vec![None; vis.len()];
        for rule in rules {
            let bad = |reason: &'static str| Error::InvalidSetting {
                name: "binning rule",
                value: rule.clone(),
                reason,
            };
            let (lhs, rhs) = rule
                .split_once('=')
                .ok_or_else(|| bad("expected `V = S >= n`, `V = S < n` or `V = S`"))?;
            let v = lhs.trim();
            let k = vis
                .iter()
                .position(|n| *n == v)
                .ok_or_else(|| bad("the left side must be a visible species of the model"))?;
            let rhs = rhs.trim();
            let (species, op) = if let Some((s, n)) = rhs.split_once(">=") {
                (s.trim(), Some((true, n.trim())))
            } else if let Some((s, n)) = rhs.split_once('<') {
                (s.trim(), Some((false, n.trim())))
            } else {
                (rhs, None)
            };
            let i = env
                .species_index(species)
                .ok_or_else(|| bad("the right side must name a species of the environment"))?;
            let r = match op {
                None => BinRule::Count(i),
                Some((at_least, n)) => {
                    let n: u64 = n
                        .parse()
                        .map_err(|_| bad("the threshold must be a non-negative integer"))?;
                    if at_least {
                        BinRule::AtLeast(i, n)
                    } else {
                        BinRule::Below(i, n)
                    }
                }
            };
            if out[k].replace(r).is_some() {
                return Err(bad("two rules for one visible species"));
            }
        }
        out.into_iter()
            .zip(&vis)
            .map(|(r, v)| {
                r.ok_or_else(|| Error::InvalidSetting {
                    name: "binning rule",
                    value: (*v).to_string(),
                    reason: "every visible species needs a rule",
                })
            })
            .collect()
    }

    /// The target of an environment network: its stationary law (CME, sparse LU on the
    /// reachable class or growing boxes, see [`crnkit_sim::cme::stationary`]) binned into
    /// visible configurations by `rules`. Returns the target and the stationary solve's
    /// boundary mass (the truncation error bound).
    pub fn target_from_environment(
        &self,
        env: &Network,
        rules: &[BinRule],
        opts: &crnkit_sim::cme::FspOptions,
    ) -> Result<(Target, f64)> {
        let compiled = env.compile();
        let st = crnkit_sim::cme::stationary(&compiled, opts)?;
        let d = &st.distribution;
        let mut table: std::collections::BTreeMap<Vec<u32>, f64> = Default::default();
        for (x, &p) in d.space().iter().zip(d.probabilities()) {
            let v: Vec<u32> = rules.iter().map(|r| r.apply(x)).collect();
            *table.entry(v).or_insert(0.0) += p;
        }
        let rows: Vec<(Vec<u32>, f64)> = table.into_iter().collect();
        Ok((self.target(&rows)?, st.boundary_mass))
    }
}
