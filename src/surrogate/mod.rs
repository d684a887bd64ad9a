//! Neural distillation: a conditional autoregressive surrogate of the CME.
//!
//! A [`Surrogate`] holds a model q_φ(x | c) = Π_i q_φ(x_i | x_<i, c) over species counts,
//! each a categorical over 0..=cap_i, prompted by c = (parameters of a [`ParamBox`] mapped
//! to [-1, 1], time mapped to [-1, 1], initial counts over caps). Probabilities are
//! normalised by construction, marginals and joints are exact sums, sampling is ancestral.
//!
//! [`distill`] builds one: a shifted Halton design over the box ([`design`]), the exact
//! FSP solution of the CME at every design point and time ([`teacher`]), and training by
//! cross-entropy against it with early stopping on held-out design points ([`train`]).
//! [`Surrogate::save`] writes `model.safetensors` and `card.json` (network, box, caps,
//! prompt normalisation, architecture, metrics); [`Surrogate::load`] checks them.
//!
//! Liu & Wang (PNAS 121:e2317422121, 2024) train such a model by REINFORCE on the reverse
//! KL to one Euler step of the CME; where FSP applies, its solution is an exact teacher
//! with no sampling noise, and that is what is used here.

pub mod design;
pub mod model;
pub mod teacher;
pub mod train;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use design::{ParamBox, halton};
pub use model::{Activation, Architecture, MAX_ENUMERATED_STATES, Model};
pub use teacher::{TeacherConfig, TeacherData, TeacherPoint, TeacherSlice, solve_teacher};
pub use train::{TrainConfig, TrainReport, train};

use crate::network::Network;
use crate::{Error, Result};

/// The `format` field of a model card this version writes and reads.
pub const CARD_FORMAT: &str = "crnkit-surrogate/1";

/// A candle error as a crnkit error.
pub(crate) fn ce(e: candle_core::Error) -> Error {
    Error::Surrogate {
        reason: e.to_string(),
    }
}

/// How a condition (parameters, time, initial state) becomes the prompt vector c.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSpec {
    /// The parameters and their ranges: each mapped to [-1, 1] (log scale where marked).
    pub params: ParamBox,
    /// Time range [t_min, t_max] mapped affinely to [-1, 1].
    pub t_min: f64,
    /// See `t_min`.
    pub t_max: f64,
    /// The initial counts the surrogate was trained from (entered as x0_i / cap_i).
    pub initial: Vec<u64>,
    /// Caps per species.
    pub caps: Vec<u32>,
}

impl PromptSpec {
    /// Length of c: parameters, time, one entry per species.
    pub fn dim(&self) -> usize {
        self.params.dim() + 1 + self.caps.len()
    }

    /// The prompt for parameter values `params` (box order) at time `t`.
    pub fn prompt(&self, params: &[f64], t: f64) -> Result<Vec<f64>> {
        if !t.is_finite() {
            return Err(Error::Surrogate {
                reason: format!("time {t} is not finite"),
            });
        }
        let mut c = self.params.normalise(params)?;
        let span = self.t_max - self.t_min;
        c.push(if span > 0.0 {
            2.0 * (t - self.t_min) / span - 1.0
        } else {
            0.0
        });
        for (&x, &cap) in self.initial.iter().zip(&self.caps) {
            c.push(if cap == 0 { 0.0 } else { x as f64 / cap as f64 });
        }
        Ok(c)
    }

    fn validate(&self) -> Result<()> {
        self.params.validate()?;
        if !(self.t_min.is_finite() && self.t_max.is_finite() && self.t_min <= self.t_max) {
            return Err(Error::Surrogate {
                reason: format!("invalid time range [{}, {}]", self.t_min, self.t_max),
            });
        }
        if self.initial.len() != self.caps.len() {
            return Err(Error::Surrogate {
                reason: format!(
                    "{} initial counts for {} caps",
                    self.initial.len(),
                    self.caps.len()
                ),
            });
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
}

impl Card {
    /// Check that the card is self-consistent: format, network text, species, caps and
    /// prompt length agree.
    pub fn validate(&self) -> Result<Network> {
        let bad = |reason: String| Error::Surrogate { reason };
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
    /// The prompt for parameters `params` (box order) at time `t`.
    pub fn prompt(&self, params: &[f64], t: f64) -> Result<Vec<f64>> {
        self.card.prompt.prompt(params, t)
    }

    /// ln q(x | params, t) for several states (flat, one row of counts per state).
    pub fn log_prob(&self, states: &[u32], params: &[f64], t: f64) -> Result<Vec<f64>> {
        let c = self.prompt(params, t)?;
        let ns = self.card.species.len();
        let b = states.len() / ns.max(1);
        let prompts: Vec<f64> = (0..b).flat_map(|_| c.iter().copied()).collect();
        self.model.log_prob(states, &prompts)
    }

    /// The joint on the box of caps (states flat, probabilities).
    pub fn joint(&self, params: &[f64], t: f64) -> Result<(Vec<u32>, Vec<f64>)> {
        self.model.joint(&self.prompt(params, t)?)
    }

    /// The marginal of species `i` (entry n = q(X_i = n)).
    pub fn marginal(&self, i: usize, params: &[f64], t: f64) -> Result<Vec<f64>> {
        self.model.marginal(i, &self.prompt(params, t)?)
    }

    /// `n` ancestral samples (flat, n × species).
    pub fn sample(&self, n: usize, params: &[f64], t: f64, seed: u64) -> Result<Vec<u32>> {
        self.model.sample(n, &self.prompt(params, t)?, seed)
    }

    /// Write `model.safetensors` and `card.json` into folder `dir` (created if needed),
    /// each through a temporary file and a rename.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        self.model.save_weights(&dir.join("model.safetensors"))?;
        let text = serde_json::to_vec_pretty(&self.card).map_err(|e| Error::Surrogate {
            reason: format!("cannot serialise the card: {e}"),
        })?;
        train::write_atomic(&dir.join("card.json"), &text)
    }

    /// Read a surrogate written by [`Surrogate::save`]; a missing, corrupt or inconsistent
    /// card or weight file is an error.
    pub fn load(dir: impl AsRef<Path>) -> Result<Surrogate> {
        let dir = dir.as_ref();
        let card_path = dir.join("card.json");
        let text = std::fs::read_to_string(&card_path).map_err(|source| Error::Io {
            path: card_path.display().to_string(),
            source,
        })?;
        let card: Card = serde_json::from_str(&text).map_err(|e| Error::Surrogate {
            reason: format!("{}: invalid model card: {e}", card_path.display()),
        })?;
        card.validate()?;
        let mut model = Model::new(card.arch.clone(), 0)?;
        model.load_weights(&dir.join("model.safetensors"))?;
        Ok(Surrogate { card, model })
    }

    /// The network of the card.
    pub fn network(&self) -> Result<Network> {
        self.card.validate()
    }
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
            let (states, q) = model.joint(&spec.prompt(&pt.params, s.time)?)?;
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
    /// The teacher (its `times` are the training times).
    pub teacher: TeacherConfig,
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
        return Err(Error::Surrogate {
            reason: "distillation needs training and validation design points".into(),
        });
    }
    let t0 = std::time::Instant::now();
    let train_x = cfg.params.design(0, cfg.train_points, cfg.design_seed);
    let val_x = cfg
        .params
        .design(cfg.train_points, cfg.val_points, cfg.design_seed);
    let train_data = solve_teacher(net, &cfg.params, &train_x, &cfg.teacher)?;
    let val_cfg = TeacherConfig {
        caps: Some(train_data.caps.clone()),
        ..cfg.teacher.clone()
    };
    let val_data = solve_teacher(net, &cfg.params, &val_x, &val_cfg)?;
    let teacher_seconds = t0.elapsed().as_secs_f64();
    let caps = train_data.caps.clone();
    let spec = PromptSpec {
        params: cfg.params.clone(),
        t_min: cfg.teacher.times[0],
        t_max: *cfg.teacher.times.last().unwrap_or(&cfg.teacher.times[0]),
        initial: net.initial_state(),
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
    };
    let card = Card {
        format: CARD_FORMAT.into(),
        network: net.to_crn_string(),
        species: net.species_names().iter().map(|s| s.to_string()).collect(),
        prompt: spec,
        arch,
        metrics,
    };
    Ok(Distilled {
        surrogate: Surrogate { card, model },
        report,
        hellinger: hel,
        validation: val_data,
    })
}
