//! A distillation described in a configuration file (TOML, or the same structure in JSON):
//! what `crnkit distill CONFIG.toml` and the Python package's `crnkit.distill` run.
//!
//! [`parse`] reads the text into a [`DistillFile`], [`DistillFile::resolve`] checks every
//! setting by name against the network and gives the library's [`DistillConfig`], and
//! [`Resolved::run`] distils and writes the output folder. Model files are read by a
//! function the caller passes (this crate reads no model formats of its own: the facade
//! and the Python package pass `crnkit_io::read_network`); bundled models come from
//! [`crnkit_core::models`]. Progress and cancellation go through a
//! [`Reporter`].
//!
//! ```toml
//! [model]
//! builtin = "autoregulated_feedback"   # or file = "model.crn" (relative to this file)
//!
//! [[param]]                            # the box, in prompt order
//! name = "rho_b"
//! lo = 0.0
//! hi = 100.0
//! log = false                          # sample and normalise on a log scale (lo > 0)
//!
//! [initial]                            # initial counts trained on (others: the model's)
//! Gb = [0, 1]
//! P = [0, 60]
//!
//! [teacher]
//! kind = "fsp"                         # fsp (exact) | ssa (maximum likelihood on samples)
//! t_max = 10.0                         # times t_max·k/n_times, k = 1..n_times
//! n_times = 40                         # (or times = [0.5, 1.0, ...])
//! tol = 1e-8                           # FSP
//! samples = 2000                       # SSA, per design point
//! seed = 1                             # SSA
//! caps = { P = 180 }                   # optional: chosen from the teacher otherwise
//! prune = 1e-14                        # drop teacher states below this probability
//!
//! [design]
//! train_points = 512
//! val_points = 64
//! seed = 1
//!
//! [network]
//! hidden = 128
//! activation = "silu"                  # silu | tanh
//! seed = 0
//!
//! [train]
//! epochs = 400
//! batch_pairs = 64
//! lr = 3e-3
//! patience = 60
//! seed = 0
//! budget_minutes = 30                  # stop after the epoch that passes it
//!
//! [output]
//! dir = "out/surrogates/autoregulated" # model.safetensors, card.json, report.json,
//!                                      # validation.csv, checkpoint/ (resumable),
//!                                      # teacher/ (cached teacher solutions)
//! ```

use std::path::{Path, PathBuf};

use crnkit_core::Error as ModelError;
use crnkit_core::network::Network;
use crnkit_core::progress::Reporter;
use serde::Deserialize;

use crate::{Activation, DistillConfig, InitialBox, ParamBox, TeacherConfig, TrainConfig};
use crate::{Error, Result};

/// Reads a model file into a network (the facade passes `crnkit_io::read_network`).
pub type ReadNetwork<'a> = &'a dyn Fn(&Path) -> crnkit_core::Result<Network>;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillFile {
    /// The network.
    pub model: ModelSection,
    /// The parameter box, in prompt order.
    pub param: Vec<ParamSection>,
    /// Ranges of initial counts by species name.
    #[serde(default)]
    pub initial: std::collections::BTreeMap<String, [u64; 2]>,
    /// The teacher.
    pub teacher: TeacherSection,
    /// The design.
    #[serde(default)]
    pub design: DesignSection,
    /// The network's size.
    #[serde(default)]
    pub network: NetworkSection,
    /// Training.
    #[serde(default)]
    pub train: TrainSection,
    /// Where to write.
    pub output: OutputSection,
}

/// `[model]`: exactly one of `file` and `builtin`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Model file, relative to the configuration file.
    pub file: Option<String>,
    /// A bundled model (`crnkit models`).
    pub builtin: Option<String>,
}

/// One `[[param]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSection {
    /// Parameter name.
    pub name: String,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Log scale.
    #[serde(default)]
    pub log: bool,
}

/// `[teacher]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherSection {
    /// `fsp` or `ssa`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Explicit times.
    pub times: Option<Vec<f64>>,
    /// Last time of an even grid.
    pub t_max: Option<f64>,
    /// Points of the even grid.
    pub n_times: Option<usize>,
    /// FSP tolerance.
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// SSA samples per design point.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// SSA seed.
    #[serde(default)]
    pub seed: u64,
    /// Caps by species name.
    #[serde(default)]
    pub caps: std::collections::BTreeMap<String, u32>,
    /// States with less teacher probability are dropped (their mass is reported).
    #[serde(default = "default_prune")]
    pub prune: f64,
}

fn default_prune() -> f64 {
    TeacherConfig::default().prune
}

fn default_kind() -> String {
    "fsp".into()
}
fn default_tol() -> f64 {
    1e-8
}
fn default_samples() -> usize {
    2000
}

/// `[design]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesignSection {
    /// Training points.
    pub train_points: usize,
    /// Held-out points.
    pub val_points: usize,
    /// Seed of the Halton shift.
    pub seed: u64,
}

impl Default for DesignSection {
    fn default() -> Self {
        DesignSection {
            train_points: 256,
            val_points: 64,
            seed: 1,
        }
    }
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Hidden width.
    pub hidden: usize,
    /// Nonlinearity.
    pub activation: Activation,
    /// Seed of the initial weights.
    pub seed: u64,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            hidden: 128,
            activation: Activation::Silu,
            seed: 0,
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Most epochs.
    pub epochs: usize,
    /// Pairs per minibatch.
    pub batch_pairs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Early-stopping patience (epochs).
    pub patience: usize,
    /// Seed of the minibatch order.
    pub seed: u64,
    /// Time budget in minutes.
    pub budget_minutes: Option<f64>,
}

impl Default for TrainSection {
    fn default() -> Self {
        let t = TrainConfig::default();
        TrainSection {
            epochs: t.epochs,
            batch_pairs: t.batch_pairs,
            lr: t.lr,
            weight_decay: t.weight_decay,
            patience: t.patience,
            seed: t.seed,
            budget_minutes: None,
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Output folder (relative to the working directory).
    pub dir: String,
}

/// Parse a configuration file's text (`file` names it in errors, which carry line and
/// column).
pub fn parse(text: &str, file: &str) -> Result<DistillFile> {
    toml::from_str(text).map_err(|e| {
        ModelError::Toml {
            file: file.to_string(),
            msg: e.to_string(),
        }
        .into()
    })
}

/// Parse a configuration given as JSON (the structure of the TOML file: `{"model":
/// {"builtin": ...}, "param": [{"name": ..., "lo": ..., "hi": ...}], ...}`); `file` names
/// it in errors.
pub fn parse_json(text: &str, file: &str) -> Result<DistillFile> {
    serde_json::from_str(text).map_err(|e| {
        ModelError::Json {
            file: file.to_string(),
            line: e.line(),
            col: e.column(),
            msg: e.to_string(),
        }
        .into()
    })
}

/// The widest hidden layer a configuration may ask for.
pub const MAX_HIDDEN: usize = 10_000;

/// The most (design point, time) pairs a configuration may ask the teacher for.
pub const MAX_PAIRS: usize = 10_000_000;

/// A parsed configuration resolved against the network: what [`crate::distill`] needs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The network.
    pub network: Network,
    /// The settings.
    pub config: DistillConfig,
    /// The output folder.
    pub out: PathBuf,
}

impl DistillFile {
    /// Load the network (a `file` through `read`, relative to `base`; a `builtin` from
    /// [`crnkit_core::models`]) and check every setting by name. Training reports to
    /// `progress` and stops when its cancellation token is cancelled.
    pub fn resolve(
        &self,
        base: &Path,
        read: ReadNetwork<'_>,
        progress: Reporter,
    ) -> Result<Resolved> {
        let bad = |name: &'static str, value: String, reason: &str| Error::InvalidSetting {
            name,
            value,
            reason: reason.into(),
        };
        let network = match (&self.model.file, &self.model.builtin) {
            (Some(f), None) => read(&base.join(f))?,
            (None, Some(b)) => crnkit_core::models::bundled(b)?,
            _ => {
                return Err(bad(
                    "[model]",
                    format!(
                        "file {:?}, builtin {:?}",
                        self.model.file, self.model.builtin
                    ),
                    "needs exactly one of `file` and `builtin`",
                ));
            }
        };
        let params = ParamBox::new(
            self.param.iter().map(|p| p.name.clone()).collect(),
            self.param.iter().map(|p| p.lo).collect(),
            self.param.iter().map(|p| p.hi).collect(),
            self.param.iter().map(|p| p.log).collect(),
        )?;
        for name in &params.names {
            if network.parameter(name).is_none() {
                return Err(ModelError::UnknownParameter {
                    name: name.clone(),
                    hint: " (a [[param]] of the distillation)".into(),
                }
                .into());
            }
        }
        let initial = self.resolve_initial(&network)?;
        let (teacher, ssa_samples) = self.resolve_teacher(&network)?;
        let tr = &self.train;
        if let Some(m) = tr.budget_minutes
            && !(m > 0.0 && m.is_finite())
        {
            return Err(bad("[train] budget_minutes", m.to_string(), "must be > 0"));
        }
        if self.network.hidden == 0 || self.network.hidden > MAX_HIDDEN {
            return Err(bad(
                "[network] hidden",
                self.network.hidden.to_string(),
                "must be in 1..=10000 (the weights grow as its square)",
            ));
        }
        let d = &self.design;
        let pairs = (d.train_points as u128 + d.val_points as u128) * teacher.times.len() as u128;
        if pairs > MAX_PAIRS as u128 {
            return Err(bad(
                "[design] train_points",
                format!(
                    "{} + {} points × {} times",
                    d.train_points,
                    d.val_points,
                    teacher.times.len()
                ),
                "more than 10^7 (point, time) pairs: the teacher's distributions would not \
                 fit in memory; use fewer points or times",
            ));
        }
        let out = PathBuf::from(&self.output.dir);
        let config = DistillConfig {
            params,
            initial,
            teacher,
            ssa_samples,
            train_points: self.design.train_points,
            val_points: self.design.val_points,
            design_seed: self.design.seed,
            hidden: self.network.hidden,
            activation: self.network.activation,
            init_seed: self.network.seed,
            train: TrainConfig {
                epochs: tr.epochs,
                batch_pairs: tr.batch_pairs,
                lr: tr.lr,
                weight_decay: tr.weight_decay,
                patience: tr.patience,
                seed: tr.seed,
                progress,
                checkpoint_dir: Some(out.join("checkpoint")),
                resume: true,
                max_seconds: tr.budget_minutes.map(|m| m * 60.0),
            },
            teacher_cache: Some(out.join("teacher")),
        };
        Ok(Resolved {
            network,
            config,
            out,
        })
    }

    /// The `[initial]` box of trained initial states (`None` when it names no species).
    fn resolve_initial(&self, network: &Network) -> Result<Option<InitialBox>> {
        Ok(if self.initial.is_empty() {
            None
        } else {
            let x0 = network.initial_state();
            let mut b = InitialBox::fixed(&x0);
            for (name, [lo, hi]) in &self.initial {
                let i = species_index(network, name, "[initial]")?;
                b.lo[i] = *lo;
                b.hi[i] = *hi;
            }
            b.validate(network.num_species())?;
            Some(b)
        })
    }

    /// The `[teacher]` settings, and the SSA teacher's (samples, seed) for `kind = "ssa"`.
    fn resolve_teacher(&self, network: &Network) -> Result<(TeacherConfig, Option<(usize, u64)>)> {
        let bad = |name: &'static str, value: String, reason: &str| Error::InvalidSetting {
            name,
            value,
            reason: reason.into(),
        };
        let t = &self.teacher;
        let times = match (&t.times, t.t_max, t.n_times) {
            (Some(ts), None, None) => ts.clone(),
            (None, Some(tm), Some(n)) if tm > 0.0 && tm.is_finite() && n > 0 && n <= 1_000_000 => {
                (1..=n).map(|k| tm * k as f64 / n as f64).collect()
            }
            _ => {
                return Err(bad(
                    "[teacher]",
                    format!(
                        "times {:?}, t_max {:?}, n_times {:?}",
                        t.times, t.t_max, t.n_times
                    ),
                    "needs either `times` or both `t_max` (> 0) and `n_times` (1 to 10^6)",
                ));
            }
        };
        let caps = if t.caps.is_empty() {
            None
        } else {
            let mut c = vec![None; network.num_species()];
            for (name, &cap) in &t.caps {
                c[species_index(network, name, "[teacher] caps")?] = Some(cap);
            }
            match c.iter().position(Option::is_none) {
                Some(i) => {
                    return Err(bad(
                        "[teacher] caps",
                        format!("{:?}", t.caps),
                        &format!(
                            "must name every species; `{}` is missing",
                            network.species_names()[i]
                        ),
                    ));
                }
                None => Some(c.into_iter().flatten().collect()),
            }
        };
        let ssa_samples = match t.kind.as_str() {
            "fsp" => None,
            "ssa" => Some((t.samples, t.seed)),
            other => {
                return Err(bad(
                    "[teacher] kind",
                    other.into(),
                    "is not one of fsp, ssa",
                ));
            }
        };
        if !(t.prune >= 0.0 && t.prune < 1e-3) {
            return Err(bad(
                "[teacher] prune",
                t.prune.to_string(),
                "must be in [0, 1e-3)",
            ));
        }
        if !(t.tol > 0.0 && t.tol < 1.0) {
            return Err(bad("[teacher] tol", t.tol.to_string(), "must be in (0, 1)"));
        }
        let teacher = TeacherConfig {
            times,
            tol: t.tol,
            caps,
            prune: t.prune,
            ..TeacherConfig::default()
        };
        Ok((teacher, ssa_samples))
    }
}

/// The index of species `name` of `network`, which `what` names.
fn species_index(network: &Network, name: &str, what: &'static str) -> Result<usize> {
    network
        .species_index(name)
        .ok_or_else(|| Error::InvalidSetting {
            name: what,
            value: name.into(),
            reason: format!(
                "names species `{name}`, which the model does not have (species: {})",
                network.species_names().join(", ")
            ),
        })
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct DistillSummary {
    /// The output folder.
    pub dir: PathBuf,
    /// The metrics stored in the card.
    pub metrics: crate::Metrics,
    /// Why training stopped.
    pub stop: crate::TrainStop,
    /// Epoch a resumed run continued after.
    pub resumed_from: Option<usize>,
}

/// Read the configuration file `path` (TOML), parse and resolve it (model files relative
/// to the file, read by `read`); `out` overrides its output folder.
pub fn prepare(
    path: &Path,
    out: Option<&Path>,
    read: ReadNetwork<'_>,
    progress: Reporter,
) -> Result<Resolved> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let file = parse(&text, &path.display().to_string())?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut r = file.resolve(base, read, progress)?;
    if let Some(o) = out {
        r.set_out(o);
    }
    Ok(r)
}

/// Run the distillation in `path` ([`prepare`], then [`Resolved::run`]).
pub fn run(
    path: &Path,
    out: Option<&Path>,
    fresh: bool,
    read: ReadNetwork<'_>,
    progress: Reporter,
) -> Result<DistillSummary> {
    prepare(path, out, read, progress)?.run(fresh)
}

impl Resolved {
    /// Write into `out` instead (the checkpoint and the teacher cache move with it).
    pub fn set_out(&mut self, out: &Path) {
        self.out = out.to_path_buf();
        self.config.train.checkpoint_dir = Some(self.out.join("checkpoint"));
        self.config.teacher_cache = Some(self.out.join("teacher"));
    }

    /// One line on the teacher about to be solved: its kind and the number of solves.
    pub fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "solving the {} teacher at {} + {} design points × {} times",
            if c.ssa_samples.is_some() {
                "SSA"
            } else {
                "FSP"
            },
            c.train_points,
            c.val_points,
            c.teacher.times.len()
        )
    }

    /// Distil: resume from `out/checkpoint` unless `fresh`; reuse the teacher solutions
    /// cached in `out/teacher` when they were written under the same settings, whether or
    /// not `fresh`; write `model.safetensors`, `card.json`, `report.json` (the training
    /// curve and metrics) and `validation.csv` (Hellinger distance per held-out point and
    /// time).
    pub fn run(&self, fresh: bool) -> Result<DistillSummary> {
        let _lock = crnkit_core::fs::lock_folder(&self.out, "a distillation")?;
        let cp = self.out.join("checkpoint");
        if fresh && cp.exists() {
            std::fs::remove_dir_all(&cp).map_err(|source| ModelError::Io {
                path: cp.display().to_string(),
                source,
            })?;
        }
        let d = crate::distill(&self.network, &self.config)?;
        d.surrogate.save(&self.out)?;
        let io = |e: serde_json::Error| ModelError::Numerical {
            what: "report.json",
            reason: format!("cannot serialise the report: {e}"),
        };
        let report = serde_json::json!({
            "metrics": d.surrogate.card.metrics,
            "training": d.report,
        });
        crnkit_core::fs::write_atomic(
            &self.out.join("report.json"),
            &serde_json::to_vec_pretty(&report).map_err(io)?,
        )?;
        crnkit_core::fs::write_atomic(
            &self.out.join("validation.csv"),
            validation_csv(&d).as_bytes(),
        )?;
        Ok(DistillSummary {
            dir: self.out.clone(),
            metrics: d.surrogate.card.metrics.clone(),
            stop: d.report.stop,
            resumed_from: d.report.resumed_from,
        })
    }
}

/// `validation.csv`: the Hellinger distance per held-out point and time.
fn validation_csv(d: &crate::Distilled) -> String {
    let names = &d.surrogate.card.prompt.params.names;
    let mut csv = String::new();
    csv.push_str(&names.join(","));
    for s in &d.surrogate.card.species {
        csv.push_str(&format!(",{s}_0"));
    }
    csv.push_str(",time,hellinger\n");
    let mut k = 0;
    for pt in &d.validation.points {
        for s in &pt.slices {
            let vals: Vec<String> = pt.params.iter().map(|v| v.to_string()).collect();
            let x0: Vec<String> = pt.initial.iter().map(|v| v.to_string()).collect();
            csv.push_str(&format!(
                "{},{},{},{}\n",
                vals.join(","),
                x0.join(","),
                s.time,
                d.hellinger.get(k).copied().unwrap_or(f64::NAN)
            ));
            k += 1;
        }
    }
    csv
}
