//! One entry point for every learning method: [`learn`] with [`LearnSettings`].

use std::path::PathBuf;

use crate::chemical::{LearningCurve, RunConfig};
use crate::limit::LimitMode;
use crate::sampled::{SampledConfig, curve_from_g, learn_sampled};
use crate::{Environment, GenerativeModel, Learner, LearnerConfig, fit_exact_cancellable};
use crnkit_core::progress::Reporter;
use crnkit_core::{Error, Network, Result};

/// How [`learn`] learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LearnMethod {
    /// L-BFGS on the exact objective and gradient ([`fit_exact`](crate::fit_exact), at most
    /// [`LearnSettings::max_iters`] iterations; one curve point per iteration).
    Exact,
    /// Gradient descent with sampled gradients ([`learn_sampled`]: free and clamped SSA
    /// copies estimate the gradient at every step).
    Sampled,
    /// The learning network simulated exactly ([`Learner::run_ssa`]).
    #[default]
    Chemical,
    /// The learning network in its large-ensemble limit ([`Learner::run_limit`], with
    /// [`LearnSettings::limit_mode`] and [`LearnSettings::max_states`]).
    ChemicalLimit,
}

impl LearnMethod {
    /// Whether the method is the learning network (exact or in the limit).
    pub fn is_chemical(self) -> bool {
        matches!(self, LearnMethod::Chemical | LearnMethod::ChemicalLimit)
    }
}

/// Settings of [`learn`]. `Default` gives the defaults of a `crnkit learn` job file's
/// `[learn]` section: `method = "chemical"`, ε = 1, δ = 1/2048, 100 copies, parameter
/// volume ω = 100, clamping rate 100 and strength 12, token rate 0.05, t = 0..100 every 1,
/// seed 1, no jitter, a finite cost required; for the sampled method 1,000 runs, burn-in
/// 10 and learning rate 0.1; for the exact method at most 1,000 iterations; for the limit
/// [`LimitMode::Auto`] and at most 1,000,000 states; quiet and without a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnSettings {
    /// The method.
    pub method: LearnMethod,
    /// Learning rate ε of the learning reactions (chemical methods).
    pub epsilon: f64,
    /// Reverse rate δ of the learning reactions (0: gradient flow, no finite cost).
    pub delta: f64,
    /// Free and clamped copies N.
    pub copies: usize,
    /// ω: parameter molecules per unit concentration per copy.
    pub p_volume: f64,
    /// Clamping speed-up κ_c.
    pub clamp_rate: f64,
    /// Clamping potential λ per visible species (kT).
    pub clamp_strength: f64,
    /// Token hopping rate κ_env (table environments).
    pub token_rate: f64,
    /// End time (chemical) or gradient-flow time (sampled: `until / learning_rate` steps).
    pub until: f64,
    /// Output interval (of time, or of gradient-flow time).
    pub every: f64,
    /// Seed of the run and of the jitter.
    pub seed: u64,
    /// The starting free energies are the model's perturbed by uniform(−jitter, jitter),
    /// drawn from `rng::stream(seed, u64::MAX − 1)` (breaks the symmetry of hidden units);
    /// the chemical learner starts at the same point (\[P\] = e^jitter).
    pub jitter: f64,
    /// Chemical methods: refuse learning reactions without a reverse (δ = 0), whose cost
    /// is not finite.
    pub cost: bool,
    /// Sampled: copies per gradient estimate.
    pub runs: u64,
    /// Sampled: burn-in time per copy.
    pub burn_in: f64,
    /// Sampled: step size η (gradient-flow time per step).
    pub learning_rate: f64,
    /// Exact: maximum L-BFGS iterations.
    pub max_iters: u64,
    /// Chemical limit: how the copies are represented.
    pub limit_mode: LimitMode,
    /// Chemical limit: the largest reachable set of a copy's CME.
    pub max_states: usize,
    /// Chemical and sampled: a checkpoint file, rewritten atomically at every output
    /// time; a matching one is resumed (one from other settings is refused). It is left
    /// in place when the run completes.
    pub checkpoint: Option<PathBuf>,
    /// Where progress reports go (nowhere by default).
    pub progress: Reporter,
}

impl Default for LearnSettings {
    fn default() -> Self {
        let c = LearnerConfig::default();
        LearnSettings {
            method: LearnMethod::Chemical,
            epsilon: 1.0,
            delta: 1.0 / 2048.0,
            copies: c.copies,
            p_volume: c.p_volume,
            clamp_rate: c.clamp_rate,
            clamp_strength: c.clamp_strength,
            token_rate: c.token_rate,
            until: 100.0,
            every: 1.0,
            seed: 1,
            jitter: 0.0,
            cost: true,
            runs: 1000,
            burn_in: 10.0,
            learning_rate: 0.1,
            max_iters: 1000,
            limit_mode: LimitMode::Auto,
            max_states: 1_000_000,
            checkpoint: None,
            progress: Reporter::none(),
        }
    }
}

impl LearnSettings {
    /// The jitter of each of `np` parameters: uniform(−jitter, jitter) from
    /// `rng::stream(seed, u64::MAX − 1)`.
    fn jitter_of(&self, np: usize) -> Result<Vec<f64>> {
        use rand::Rng as _;
        if !(self.jitter.is_finite() && self.jitter >= 0.0) {
            return Err(Error::InvalidSetting {
                name: "jitter",
                value: self.jitter.to_string(),
                reason: "must be a finite number >= 0",
            });
        }
        let mut rng = crnkit_core::rng::stream(self.seed, u64::MAX - 1);
        Ok((0..np)
            .map(|_| self.jitter * (2.0 * rng.random::<f64>() - 1.0))
            .collect())
    }

    /// The free energies every method starts from: the model's initial ones plus the
    /// jitter (a pure function of `seed` and `jitter`).
    ///
    /// Errors: a jitter that is not a finite number ≥ 0.
    pub fn start_parameters(&self, model: &GenerativeModel) -> Result<Vec<f64>> {
        let jitter = self.jitter_of(model.parameter_names().len())?;
        Ok(model
            .initial_parameters()
            .iter()
            .zip(&jitter)
            .map(|(g, j)| g + j)
            .collect())
    }

    /// The chemical learner's settings, starting from the same jittered point as
    /// [`LearnSettings::start_parameters`] (\[P_i\] = e^(jitter_i)).
    ///
    /// Errors: a jitter that is not a finite number ≥ 0.
    pub fn learner_config(&self, model: &GenerativeModel) -> Result<LearnerConfig> {
        let jitter = self.jitter_of(model.parameter_names().len())?;
        Ok(LearnerConfig {
            epsilon: self.epsilon,
            delta: self.delta,
            copies: self.copies,
            p_volume: self.p_volume,
            p0: 1.0,
            p_init: Some(jitter.iter().map(|j| j.exp()).collect()),
            clamp_rate: self.clamp_rate,
            clamp_strength: self.clamp_strength,
            token_rate: self.token_rate,
        })
    }

    /// The time grid, seed, checkpoint and progress of the run.
    pub fn run_config(&self) -> RunConfig {
        RunConfig {
            until: self.until,
            every: self.every,
            seed: self.seed,
            progress: self.progress.clone(),
            checkpoint: self.checkpoint.clone(),
            stop_after: None,
        }
    }

    /// The settings of the sampled method.
    pub fn sampled_config(&self) -> SampledConfig {
        SampledConfig {
            learning_rate: self.learning_rate,
            until: self.until,
            every: self.every,
            runs: self.runs,
            burn_in: self.burn_in,
            seed: self.seed,
        }
    }
}

/// What [`learn`] produced.
#[derive(Debug, Clone)]
pub struct LearnOutcome {
    /// The learning curve: D(Q‖P), entropy produced by kind, parameters and copy averages
    /// at every output time (the first point is the start).
    pub curve: LearningCurve,
    /// The learner (model, target, copies, settings) the curve was measured with.
    pub learner: Learner,
    /// The (jittered) free energies the run started from.
    pub start: Vec<f64>,
    /// The learned free energies: the effective ones at the last point of the curve.
    pub learned: Vec<f64>,
}

impl LearnOutcome {
    /// D(Q‖P) at the start (nats).
    pub fn initial_divergence(&self) -> f64 {
        self.curve.points[0].kl
    }

    /// D(Q‖P) at the end (nats).
    pub fn final_divergence(&self) -> f64 {
        self.curve.points[self.curve.points.len() - 1].kl
    }

    /// Entropy produced per copy over the run, all kinds together (NaN when not accounted:
    /// exact and sampled methods, or δ = 0).
    pub fn entropy_produced(&self) -> f64 {
        self.curve.points[self.curve.points.len() - 1].sigma.total()
    }

    /// The model at the learned free energies.
    pub fn learned_network(&self) -> Result<Network> {
        self.learner.model().network_at(&self.learned)
    }
}

/// Learn the target that `environment` presents with `model`, by `settings.method`, and
/// return the learning curve.
///
/// Every method starts from the same jittered free energies
/// ([`LearnSettings::start_parameters`]); the learner is compiled for every method (its
/// target is the one measured against). This is what a `crnkit learn` job runs: the same
/// settings give the same curve, bit for bit.
///
/// Errors: invalid settings, named (`jitter`, `epsilon`, `delta`, `copies`, `every`,
/// `learning_rate`, …); learning reactions without a reverse when `cost` is set
/// (`Error::Irreversible`); an environment the model cannot be clamped to (see
/// [`Learner::new`]); a checkpoint from other settings, or damaged.
///
/// ```
/// use crnkit_core::Network;
/// use crnkit_learn::{Environment, GenerativeModel, LearnMethod, LearnSettings, learn};
///
/// // ∅ ⇌ S starts with mean 20 and learns a Poisson(50) target (the large-ensemble limit).
/// let net = Network::from_crn_str("species: S = 20\n0 <-> S @ 20, 1", "s.crn")?;
/// let model = GenerativeModel::with_cap(&net, &["S"], Some(200), 1_000)?;
/// let settings = LearnSettings {
///     method: LearnMethod::ChemicalLimit,
///     until: 20.0,
///     every: 5.0,
///     ..Default::default()
/// };
/// let outcome = learn(&model, Environment::Poisson(vec![50.0]), &settings)?;
/// assert_eq!(outcome.curve.points.len(), 5);
/// assert!(outcome.final_divergence() < 0.01 * outcome.initial_divergence());
/// assert!(outcome.curve.points[4].sigma.learning > 0.0);
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub fn learn(
    model: &GenerativeModel,
    environment: Environment,
    settings: &LearnSettings,
) -> Result<LearnOutcome> {
    let start = settings.start_parameters(model)?;
    let learner = Learner::new(model, environment, &settings.learner_config(model)?)?;
    let run = settings.run_config();
    let curve = match settings.method {
        LearnMethod::Chemical | LearnMethod::ChemicalLimit => {
            if settings.cost {
                learner.require_finite_cost()?;
            }
            if settings.method == LearnMethod::ChemicalLimit {
                learner.run_limit(&run, settings.limit_mode, settings.max_states)?
            } else {
                learner.run_ssa(&run)?
            }
        }
        LearnMethod::Exact => {
            let fit = fit_exact_cancellable(
                model,
                learner.target(),
                &start,
                settings.max_iters,
                &settings.progress,
            )?;
            let names = model.parameter_names();
            curve_from_g(
                &learner,
                "exact",
                names.iter().map(|s| s.to_string()).collect(),
                fit.history.iter().map(|(k, _, g)| (*k as f64, g.clone())),
            )?
        }
        LearnMethod::Sampled => {
            let sampled = settings.sampled_config();
            let target = learner.target();
            learn_sampled(model, &learner, target, &start, &sampled, &run)?
        }
    };
    let learned = curve.effective(curve.points.len() - 1);
    Ok(LearnOutcome {
        curve,
        learner,
        start,
        learned,
    })
}
