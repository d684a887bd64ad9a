//! Neural distillation: a conditional autoregressive surrogate of the CME.
//!
//! A [`Surrogate`] holds a model q_φ(x | c) = Π_i q_φ(x_i | x_<i, c) over species counts,
//! each a categorical over 0..=cap_i, prompted by c = (parameters of a [`ParamBox`] mapped
//! to [-1, 1], time mapped to [-1, 1], initial counts over caps). Probabilities are
//! normalised by construction, marginals and joints are exact sums, sampling is ancestral.
//!
//! [`distill`] builds one: a shifted Halton design over the box ([`design`]), the exact
//! FSP solution of the CME at every design point and time ([`teacher`]), and training by
//! cross-entropy against it with early stopping on held-out design points ([`train()`]).
//! [`Surrogate::save`] writes `model.safetensors` and `card.json` (network, box, caps,
//! prompt normalisation, architecture, metrics); [`Surrogate::load`] checks them.
//!
//! Liu & Wang (PNAS 121:e2317422121, 2024) train such a model by REINFORCE on the reverse
//! KL to one Euler step of the CME; where FSP applies, its solution is an exact teacher
//! with no sampling noise, and that is what is used here.
//!
//! The design covers the box of rates evenly (a randomly shifted Halton sequence, log
//! scale where asked):
//!
//! ```
//! use crnkit_surrogate::ParamBox;
//!
//! let rates = ParamBox::new(
//!     vec!["k".into(), "g".into()],
//!     vec![1.0, 0.5],
//!     vec![10.0, 2.0],
//!     vec![true, true],
//! )?;
//! let points = rates.design(0, 64, 7);
//! assert_eq!(points.len(), 64);
//! assert!(points.iter().all(|p| rates.contains(p)));
//! # Ok::<(), crnkit_surrogate::Error>(())
//! ```
#![warn(missing_docs)]
// The error keeps candle's error unboxed so that `source()` downcasts to
// `candle_core::Error`; errors are the cold path, next to tensor work.
#![allow(clippy::result_large_err)]

mod adamw;
pub mod batch;
pub mod builtin;
pub mod cache;
pub mod config;
pub mod design;
pub mod error;
pub mod inference;
pub mod model;
pub mod query;
pub mod teacher;
pub mod train;
pub mod trajectory;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use design::{DesignPoint, InitialBox, ParamBox, design_points, halton};
pub use inference::exact::{
    BoxLaw, ExactLikelihood, ExactMleConfig, ExactMleResult, ExactModel, cramer_rao_std_errors,
    fisher_information,
};
pub use inference::{
    InferenceSpec, Likelihood, McmcChain, McmcConfig, McmcResult, MleConfig, MleResult, MleStart,
    ParamSummary, Snapshots, gelman_rubin, parse_snapshots, read_snapshots,
};
pub use model::{Activation, Architecture, MAX_ENUMERATED_STATES, Model};
pub use teacher::{
    TeacherConfig, TeacherData, TeacherPoint, TeacherSlice, sample_teacher, solve_teacher,
};
pub use train::{TrainConfig, TrainReport, TrainStop, train};
pub use trajectory::{ChainConfig, Trajectories, chain, path_log_prob};

pub use error::{Error, Result};

use crnkit_core::Error as ModelError;
use crnkit_core::network::Network;

/// The `format` field of a model card this version writes and reads.
pub const CARD_FORMAT: &str = "crnkit-surrogate/1";

/// How a condition (parameters, time, initial state) becomes the prompt vector c.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSpec {
    /// The parameters and their ranges: each mapped to [-1, 1] (log scale where marked).
    pub params: ParamBox,
    /// Time range [t_min, t_max] mapped affinely to [-1, 1].
    pub t_min: f64,
    /// See `t_min`.
    pub t_max: f64,
    /// The default initial counts (used when a query gives none; entered as x0_i / cap_i).
    pub initial: Vec<u64>,
    /// The initial states trained on, when they varied (`None`: only `initial`).
    #[serde(default)]
    pub initial_box: Option<InitialBox>,
    /// Caps per species.
    pub caps: Vec<u32>,
}

impl PromptSpec {
    /// Length of c: parameters, time, one entry per species.
    pub fn dim(&self) -> usize {
        self.params.dim() + 1 + self.caps.len()
    }

    /// The prompt for parameter values `params` (box order) at time `t` from the default
    /// initial state.
    pub fn prompt(&self, params: &[f64], t: f64) -> Result<Vec<f64>> {
        self.prompt_at(params, &self.initial, t)
    }

    /// The prompt for parameter values `params` (box order), initial counts `x0` (model
    /// order) and time `t`. Counts above a cap are an error (the model cannot represent
    /// them); values outside the trained ranges are not (see [`PromptSpec::outside`]).
    pub fn prompt_at(&self, params: &[f64], x0: &[u64], t: f64) -> Result<Vec<f64>> {
        if x0.len() != self.caps.len() {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "expected {} initial counts, found {}",
                    self.caps.len(),
                    x0.len()
                ),
            });
        }
        if let Some(i) = (0..x0.len()).find(|&i| x0[i] > self.caps[i] as u64) {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "initial count {} of species {i} exceeds its cap {}",
                    x0[i], self.caps[i]
                ),
            });
        }
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::InvalidQuery {
                reason: format!("time {t} is not a time (it must be finite and ≥ 0)"),
            });
        }
        let mut c = self.params.normalise(params)?;
        let span = self.t_max - self.t_min;
        c.push(if span > 0.0 {
            2.0 * (t - self.t_min) / span - 1.0
        } else {
            0.0
        });
        for (&x, &cap) in x0.iter().zip(&self.caps) {
            c.push(if cap == 0 { 0.0 } else { x as f64 / cap as f64 });
        }
        Ok(c)
    }

    /// What lies outside the trained domain, one line each (empty when inside): parameters
    /// outside the box, initial counts outside the trained range, time outside
    /// [t_min, t_max]. Lengths must already be right ([`PromptSpec::prompt_at`] checks).
    pub fn outside(&self, params: &[f64], x0: &[u64], t: f64) -> Vec<String> {
        let mut out = Vec::new();
        let b = &self.params;
        for (i, &v) in params.iter().enumerate().take(b.dim()) {
            if !(v >= b.lo[i] && v <= b.hi[i]) {
                out.push(format!(
                    "parameter `{}` = {v} is outside the trained range [{}, {}]",
                    b.names[i], b.lo[i], b.hi[i]
                ));
            }
        }
        let ib = self
            .initial_box
            .clone()
            .unwrap_or_else(|| InitialBox::fixed(&self.initial));
        for (i, &x) in x0.iter().enumerate().take(ib.lo.len()) {
            if x < ib.lo[i] || x > ib.hi[i] {
                out.push(format!(
                    "initial count {x} of species {i} is outside the trained range {}..={}",
                    ib.lo[i], ib.hi[i]
                ));
            }
        }
        if !(t >= self.t_min && t <= self.t_max) {
            out.push(format!(
                "time {t} is outside the trained range [{}, {}]",
                self.t_min, self.t_max
            ));
        }
        out
    }

    fn validate(&self) -> Result<()> {
        self.params.validate()?;
        if !(self.t_min.is_finite() && self.t_max.is_finite() && self.t_min <= self.t_max) {
            return Err(Error::InvalidModel {
                reason: format!("invalid time range [{}, {}]", self.t_min, self.t_max),
            });
        }
        if self.initial.len() != self.caps.len() {
            return Err(Error::InvalidModel {
                reason: format!(
                    "{} initial counts for {} caps",
                    self.initial.len(),
                    self.caps.len()
                ),
            });
        }
        if let Some(ib) = &self.initial_box {
            ib.validate(self.caps.len())?;
        }
        Ok(())
    }
}

/// Quality and cost of a distillation, stored in the card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Training KL at the best epoch (nats, mean over pairs).
    pub train_kl: f64,
    /// Validation KL at the best epoch (nats, mean over held-out pairs).
    pub val_kl: f64,
    /// Best epoch (1-based).
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Seconds spent solving the teacher (training and validation points).
    pub teacher_seconds: f64,
    /// Seconds spent training.
    pub train_seconds: f64,
    /// Median Hellinger distance between FSP and surrogate joints on the held-out pairs.
    pub hellinger_median: f64,
    /// 90th percentile of the same.
    pub hellinger_p90: f64,
    /// Largest of the same.
    pub hellinger_max: f64,
    /// Training design points.
    pub train_points: usize,
    /// Held-out design points.
    pub val_points: usize,
    /// Times per point.
    pub times: Vec<f64>,
    /// Seed of the design.
    pub design_seed: u64,
    /// Largest teacher mass beyond the caps.
    pub max_outside: f64,
    /// Per species: the cap is a natural bound, never exceeded by any exact teacher solution
    /// (see [`TeacherData::closed`]); empty in cards written before it was recorded.
    #[serde(default)]
    pub closed_caps: Vec<bool>,
}

/// The model card (`card.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// [`CARD_FORMAT`].
    pub format: String,
    /// The network in the `.crn` language.
    pub network: String,
    /// Species names, in model order.
    pub species: Vec<String>,
    /// Prompt normalisation (box, time range, initial state, caps).
    pub prompt: PromptSpec,
    /// Network shape.
    pub arch: Architecture,
    /// Training and validation metrics.
    pub metrics: Metrics,
    /// SHA-256 of `model.safetensors` (lower-case hex), checked on loading; absent in cards
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

impl Card {
    /// Check that the card is self-consistent: format, network text, species, caps and
    /// prompt length agree.
    pub fn validate(&self) -> Result<Network> {
        let bad = |reason: String| Error::Card { reason };
        if self.format != CARD_FORMAT {
            return Err(bad(format!(
                "card format `{}` is not `{CARD_FORMAT}`",
                self.format
            )));
        }
        self.prompt.validate()?;
        self.arch.validate()?;
        let net = Network::from_crn_str(&self.network, "card.json:network")
            .map_err(|e| bad(format!("the card's network does not parse: {e}")))?;
        let names: Vec<String> = net.species_names().iter().map(|s| s.to_string()).collect();
        if names != self.species {
            return Err(bad(format!(
                "the card's species {:?} differ from its network's {:?}",
                self.species, names
            )));
        }
        if self.arch.caps != self.prompt.caps || self.arch.caps.len() != self.species.len() {
            return Err(bad(format!(
                "caps disagree: architecture {:?}, prompt {:?}, {} species",
                self.arch.caps,
                self.prompt.caps,
                self.species.len()
            )));
        }
        if self.arch.prompt_dim != self.prompt.dim() {
            return Err(bad(format!(
                "prompt length {} in the architecture, {} from the prompt spec",
                self.arch.prompt_dim,
                self.prompt.dim()
            )));
        }
        for name in &self.prompt.params.names {
            if net.parameter(name).is_none() {
                return Err(bad(format!(
                    "parameter `{name}` of the box is not a parameter of the card's network"
                )));
            }
        }
        Ok(net)
    }
}

/// A trained surrogate: the model and its card.
#[derive(Debug)]
pub struct Surrogate {
    /// The card.
    pub card: Card,
    /// The model.
    pub model: Model,
}

impl Surrogate {
    /// The prompt for parameters `params` (box order) at time `t` from the default initial
    /// state.
    pub fn prompt(&self, params: &[f64], t: f64) -> Result<Vec<f64>> {
        self.card.prompt.prompt(params, t)
    }

    /// The default initial state (the network's, or the one the card was trained from).
    pub fn initial(&self) -> &[u64] {
        &self.card.prompt.initial
    }

    /// Where (params, x0, t) lies outside the trained domain, one line each (empty when
    /// inside); lengths are checked.
    pub fn outside(&self, params: &[f64], x0: &[u64], t: f64) -> Result<Vec<String>> {
        self.card.prompt.prompt_at(params, x0, t)?;
        Ok(self.card.prompt.outside(params, x0, t))
    }

    /// ln q(x | params, t) for several states (flat, one row of counts per state), from the
    /// default initial state.
    pub fn log_prob(&self, states: &[u32], params: &[f64], t: f64) -> Result<Vec<f64>> {
        self.log_prob_at(states, params, self.initial(), t)
    }

    /// ln q(x | params, x0, t) for several states (flat, one row of counts per state).
    pub fn log_prob_at(
        &self,
        states: &[u32],
        params: &[f64],
        x0: &[u64],
        t: f64,
    ) -> Result<Vec<f64>> {
        let c = self.card.prompt.prompt_at(params, x0, t)?;
        let ns = self.card.species.len();
        let b = states.len() / ns.max(1);
        let prompts: Vec<f64> = (0..b).flat_map(|_| c.iter().copied()).collect();
        self.model.log_prob(states, &prompts)
    }

    /// The joint on the box of caps (states flat, probabilities), default initial state.
    pub fn joint(&self, params: &[f64], t: f64) -> Result<(Vec<u32>, Vec<f64>)> {
        self.joint_at(params, self.initial(), t)
    }

    /// The joint on the box of caps from initial counts `x0`.
    pub fn joint_at(&self, params: &[f64], x0: &[u64], t: f64) -> Result<(Vec<u32>, Vec<f64>)> {
        self.model
            .joint(&self.card.prompt.prompt_at(params, x0, t)?)
    }

    /// The marginal of species `i` (entry n = q(X_i = n)), default initial state.
    pub fn marginal(&self, i: usize, params: &[f64], t: f64) -> Result<Vec<f64>> {
        self.marginal_at(i, params, self.initial(), t)
    }

    /// The marginal of species `i` from initial counts `x0`.
    pub fn marginal_at(&self, i: usize, params: &[f64], x0: &[u64], t: f64) -> Result<Vec<f64>> {
        self.model
            .marginal(i, &self.card.prompt.prompt_at(params, x0, t)?)
    }

    /// `n` ancestral samples (flat, n × species), default initial state.
    pub fn sample(&self, n: usize, params: &[f64], t: f64, seed: u64) -> Result<Vec<u32>> {
        self.sample_at(n, params, self.initial(), t, seed)
    }

    /// `n` ancestral samples (flat, n × species) from initial counts `x0`.
    pub fn sample_at(
        &self,
        n: usize,
        params: &[f64],
        x0: &[u64],
        t: f64,
        seed: u64,
    ) -> Result<Vec<u32>> {
        self.model
            .sample(n, &self.card.prompt.prompt_at(params, x0, t)?, seed)
    }

    /// Write `model.safetensors` and `card.json` into folder `dir` (created if needed),
    /// each through a temporary file and a rename; the card records the weights' SHA-256.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let weights_path = dir.join("model.safetensors");
        self.model.save_weights(&weights_path)?;
        let bytes = std::fs::read(&weights_path).map_err(|source| ModelError::Io {
            path: weights_path.display().to_string(),
            source,
        })?;
        let card = Card {
            weights_sha256: Some(sha256_hex(&bytes)),
            ..self.card.clone()
        };
        let card_path = dir.join("card.json");
        let text = serde_json::to_vec_pretty(&card).map_err(|source| Error::CardFile {
            path: card_path.display().to_string(),
            source,
        })?;
        Ok(train::write_atomic(&card_path, &text)?)
    }

    /// Read a surrogate written by [`Surrogate::save`]; a missing, corrupt or inconsistent
    /// card or weight file, or weights whose checksum differs from the card's, is an error.
    pub fn load(dir: impl AsRef<Path>) -> Result<Surrogate> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| {
                Error::from(ModelError::Io {
                    path: path.display().to_string(),
                    source,
                })
            })
        };
        let (card, weights) = (read("card.json")?, read("model.safetensors")?);
        Surrogate::from_bytes(
            &card,
            &dir.join("card.json").display().to_string(),
            &weights,
            &dir.join("model.safetensors").display().to_string(),
        )
    }

    /// A surrogate from the bytes of its card and weight files; `card_origin` and
    /// `weights_origin` name them in errors.
    pub fn from_bytes(
        card: &[u8],
        card_origin: &str,
        weights: &[u8],
        weights_origin: &str,
    ) -> Result<Surrogate> {
        let card: Card = serde_json::from_slice(card).map_err(|source| Error::CardFile {
            path: card_origin.to_string(),
            source,
        })?;
        card.validate()?;
        if let Some(expected) = &card.weights_sha256 {
            let found = sha256_hex(weights);
            if &found != expected {
                return Err(Error::Weights {
                    path: weights_origin.to_string(),
                    reason: format!(
                        "SHA-256 {found} differs from {expected} recorded in {card_origin}: \
                         the file is damaged or belongs to another model"
                    ),
                    source: None,
                });
            }
        }
        let mut model = Model::new(card.arch.clone(), 0)?;
        model.load_weights_bytes(weights, weights_origin)?;
        Ok(Surrogate { card, model })
    }

    /// A surrogate shipped with crnkit ([`builtin::BUILTIN`]), by name.
    pub fn builtin(name: &str) -> Result<Surrogate> {
        builtin::find(name)?.load()
    }

    /// `builtin:NAME` (a surrogate shipped with crnkit) or the folder of a saved one.
    pub fn open(spec: impl AsRef<Path>) -> Result<Surrogate> {
        let spec = spec.as_ref();
        match spec.to_str().and_then(|s| s.strip_prefix(builtin::PREFIX)) {
            Some(name) => Surrogate::builtin(name),
            None => Surrogate::load(spec),
        }
    }

    /// The network of the card.
    pub fn network(&self) -> Result<Network> {
        self.card.validate()
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hellinger distance H = sqrt(1 − Σ_x sqrt(p(x) q(x))) between two distributions on the
/// same states (each normalised here to sum 1).
pub fn hellinger(p: &[f64], q: &[f64]) -> f64 {
    let zp: f64 = p.iter().sum();
    let zq: f64 = q.iter().sum();
    let bc: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| (a / zp * b / zq).max(0.0).sqrt())
        .sum();
    (1.0 - bc).max(0.0).sqrt()
}

/// The Hellinger distance between the teacher and the model's joint on the box, for every
/// (point, time) of `data`, in order.
pub fn hellinger_on(model: &Model, spec: &PromptSpec, data: &TeacherData) -> Result<Vec<f64>> {
    let caps = &model.arch().caps;
    let ns = caps.len();
    let mut out = Vec::with_capacity(data.num_pairs());
    for pt in &data.points {
        for s in &pt.slices {
            let prompt = if pt.initial.is_empty() {
                spec.prompt(&pt.params, s.time)?
            } else {
                spec.prompt_at(&pt.params, &pt.initial, s.time)?
            };
            let (states, q) = model.joint(&prompt)?;
            // Lexicographic index of a state on the box.
            let index = |x: &[u32]| {
                x.iter()
                    .zip(caps)
                    .fold(0usize, |a, (&v, &c)| a * (c as usize + 1) + v as usize)
            };
            let mut p = vec![0.0; states.len() / ns];
            for (k, &pk) in s.probs.iter().enumerate() {
                p[index(&s.states[k * ns..(k + 1) * ns])] += pk;
            }
            out.push(hellinger(&p, &q));
        }
    }
    Ok(out)
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `v` by linear interpolation between order statistics.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (pos - lo as f64) * (s[hi] - s[lo])
}

/// Settings of [`distill`].
#[derive(Debug, Clone)]
pub struct DistillConfig {
    /// Parameters conditioned on and their ranges.
    pub params: ParamBox,
    /// Initial states trained on (`None`: the network's).
    pub initial: Option<InitialBox>,
    /// The teacher (its `times` are the training times).
    pub teacher: TeacherConfig,
    /// `None`: the exact FSP teacher; `Some((n, seed))`: `n` SSA samples per design point.
    pub ssa_samples: Option<(usize, u64)>,
    /// Training design points.
    pub train_points: usize,
    /// Held-out design points (the next points of the same Halton sequence).
    pub val_points: usize,
    /// Seed of the design's random shift.
    pub design_seed: u64,
    /// Hidden width.
    pub hidden: usize,
    /// Nonlinearity.
    pub activation: Activation,
    /// Seed of the initial weights.
    pub init_seed: u64,
    /// Training settings.
    pub train: TrainConfig,
    /// Folder of the teacher cache (`train.bin`, `val.bin`; see [`cache`]): solutions found
    /// there under the same settings are reused, others are solved and written there.
    /// `None`: always solve.
    pub teacher_cache: Option<std::path::PathBuf>,
}

/// The key of a teacher cache file: everything the solutions depend on.
fn teacher_key(
    net: &Network,
    cfg: &DistillConfig,
    ib: &InitialBox,
    teacher: &TeacherConfig,
    first: usize,
    count: usize,
) -> String {
    serde_json::json!({
        "crnkit": env!("CARGO_PKG_VERSION"),
        "network": net.to_crn_string(),
        "params": cfg.params,
        "initial": ib,
        "times": teacher.times,
        "tol": teacher.tol,
        "caps": teacher.caps,
        "cap_mass": teacher.cap_mass,
        "prune": teacher.prune,
        "ssa": cfg.ssa_samples,
        "design": [first, count, cfg.design_seed as usize],
    })
    .to_string()
}

/// A distilled surrogate with what it took.
#[derive(Debug)]
pub struct Distilled {
    /// The surrogate (card metrics filled in).
    pub surrogate: Surrogate,
    /// The training run.
    pub report: TrainReport,
    /// Hellinger distance per held-out (point, time) pair.
    pub hellinger: Vec<f64>,
    /// The held-out teacher data.
    pub validation: TeacherData,
}

/// Distil `net` over `cfg.params`: design, exact teacher, training, held-out Hellinger.
pub fn distill(net: &Network, cfg: &DistillConfig) -> Result<Distilled> {
    cfg.params.validate()?;
    if cfg.train_points == 0 || cfg.val_points == 0 {
        let (name, value) = if cfg.train_points == 0 {
            ("train_points", cfg.train_points)
        } else {
            ("val_points", cfg.val_points)
        };
        return Err(Error::InvalidSetting {
            name,
            value: value.to_string(),
            reason: "distillation needs training and validation design points".into(),
        });
    }
    let t0 = std::time::Instant::now();
    let ib = match &cfg.initial {
        Some(b) => {
            b.validate(net.num_species())?;
            b.clone()
        }
        None => InitialBox::fixed(&net.initial_state()),
    };
    let (train_data, val_data) = teacher_data(net, cfg, &ib)?;
    let teacher_seconds = t0.elapsed().as_secs_f64();
    let caps = train_data.caps.clone();
    let spec = PromptSpec {
        params: cfg.params.clone(),
        t_min: cfg.teacher.times[0],
        t_max: *cfg.teacher.times.last().unwrap_or(&cfg.teacher.times[0]),
        initial: net.initial_state(),
        initial_box: cfg.initial.clone(),
        caps: caps.clone(),
    };
    let arch = Architecture {
        prompt_dim: spec.dim(),
        caps,
        hidden: cfg.hidden,
        activation: cfg.activation,
    };
    let mut model = Model::new(arch.clone(), cfg.init_seed)?;
    let report = train::train(&mut model, &spec, &train_data, &val_data, &cfg.train)?;
    let hel = hellinger_on(&model, &spec, &val_data)?;
    let caps_len = train_data.caps.len();
    let best = report.best_epoch.saturating_sub(1);
    let metrics = Metrics {
        train_kl: report.train_kl.get(best).copied().unwrap_or(f64::NAN),
        val_kl: report.best_val_kl,
        best_epoch: report.best_epoch,
        epochs_run: report.epochs_run,
        teacher_seconds,
        train_seconds: report.seconds,
        hellinger_median: quantile(&hel, 0.5),
        hellinger_p90: quantile(&hel, 0.9),
        hellinger_max: hel.iter().copied().fold(0.0, f64::max),
        train_points: cfg.train_points,
        val_points: cfg.val_points,
        times: cfg.teacher.times.clone(),
        design_seed: cfg.design_seed,
        max_outside: train_data.max_outside().max(val_data.max_outside()),
        closed_caps: (0..caps_len)
            .map(|i| {
                train_data.closed.get(i).copied().unwrap_or(false)
                    && val_data.closed.get(i).copied().unwrap_or(false)
            })
            .collect(),
    };
    let card = Card {
        format: CARD_FORMAT.into(),
        network: net.to_crn_string(),
        species: net.species_names().iter().map(|s| s.to_string()).collect(),
        prompt: spec,
        arch,
        metrics,
        weights_sha256: None,
    };
    Ok(Distilled {
        surrogate: Surrogate { card, model },
        report,
        hellinger: hel,
        validation: val_data,
    })
}

/// The training and held-out teacher data of [`distill`] on their design points, from
/// the teacher cache where it holds them (solved and stored on a miss).
fn teacher_data(
    net: &Network,
    cfg: &DistillConfig,
    ib: &InitialBox,
) -> Result<(TeacherData, TeacherData)> {
    let train_x = design_points(&cfg.params, ib, 0, cfg.train_points, cfg.design_seed);
    let val_x = design_points(
        &cfg.params,
        ib,
        cfg.train_points,
        cfg.val_points,
        cfg.design_seed,
    );
    // Look in the cache first; solve and store on a miss.
    let cached = |name: &str,
                  first: usize,
                  x: &[DesignPoint],
                  c: &TeacherConfig,
                  solve: &dyn Fn() -> Result<TeacherData>|
     -> Result<TeacherData> {
        let Some(dir) = &cfg.teacher_cache else {
            return solve();
        };
        let path = dir.join(name);
        let key = teacher_key(net, cfg, ib, c, first, x.len());
        let why = match cache::load(&path, &key) {
            cache::Lookup::Hit(d) => {
                if cfg.train.progress.is_active() {
                    eprintln!("teacher: reusing {}", path.display());
                }
                return Ok(d);
            }
            cache::Lookup::Absent => None,
            cache::Lookup::Stale => Some("written for other settings".to_string()),
            cache::Lookup::Corrupt(e) => Some(e),
        };
        if let (Some(why), true) = (why, cfg.train.progress.is_active()) {
            eprintln!("teacher: not reusing {} ({why}); solving", path.display());
        }
        let d = solve()?;
        cache::store(&path, &key, &d)?;
        Ok(d)
    };
    let teach = |x: &[DesignPoint], c: &TeacherConfig| match cfg.ssa_samples {
        None => solve_teacher(net, &cfg.params, x, c),
        Some((n, seed)) => sample_teacher(net, &cfg.params, x, c, n, seed),
    };
    let train_data = cached("train.bin", 0, &train_x, &cfg.teacher, &|| {
        teach(&train_x, &cfg.teacher)
    })?;
    cfg.train.progress.check_cancelled()?;
    let val_cfg = TeacherConfig {
        caps: Some(train_data.caps.clone()),
        ..cfg.teacher.clone()
    };
    // Held-out accuracy is always measured against the exact FSP where it can be solved
    // (the SSA teacher's empirical histograms carry sampling noise).
    let val_data = cached(
        "val.bin",
        cfg.train_points,
        &val_x,
        &val_cfg,
        &|| match solve_teacher(net, &cfg.params, &val_x, &val_cfg) {
            Ok(d) => Ok(d),
            Err(_) if cfg.ssa_samples.is_some() => teach(&val_x, &val_cfg),
            Err(e) => Err(e),
        },
    )?;
    Ok((train_data, val_data))
}
