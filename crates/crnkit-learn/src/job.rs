//! Learning jobs: one learning run described in TOML (model, visible split, target or
//! environment, method and its settings) — the file `crnkit learn` reads.
//!
//! ```toml
//! [model]
//! boltzmann = { units = ["X1", "X2", "H"], edges = [[0, 2], [1, 2]] }  # or file = "m.crn"
//! visible = ["X1_0", "X1_1", "X2_0", "X2_1"]
//!
//! [target]                      # one of: table = "t.csv", poisson = [100.0],
//! environment = "toggle.crn"    #         environment + bins
//! bins = ["X1_1 = U >= 10", "X1_0 = U < 10", "X2_1 = V >= 10", "X2_0 = V < 10"]
//!
//! [learn]
//! method = "chemical"           # exact | sampled | chemical
//! limit = false                 # chemical: large-ensemble limit instead of exact SSA
//! epsilon = 1.0
//! delta_inverse = 2048
//! copies = 100
//! until = 1000
//! every = 10
//! seed = 1
//!
//! [output]
//! dir = "out/learn"
//! ```
//!
//! [`parse`] reads the text (unknown keys are refused by name), [`JobConfig::inputs`]
//! resolves the model and the environment into a [`GenerativeModel`] and an
//! [`Environment`], [`JobConfig::settings`] gives the [`LearnSettings`] of [`learn`]. Model
//! files are read by a function the caller passes ([`ReadNetwork`]; the facade and the
//! Python package pass `crnkit_io::read_network`), so that this crate reads no model
//! format itself; `builtin:NAME` names a bundled model (`crnkit_core::models`).
//!
//! [`run_in`] runs a job with its files in a folder: `curve.csv`, `learned.crn` (the model
//! at the learned free energies), `learning_network.crn` (chemical methods) and
//! `summary.json`, and `checkpoint.json` while it runs (chemical and sampled runs resume
//! from it when interrupted; it is removed when the run completes). Figures are the
//! application's.
//!
//! ```
//! use std::path::Path;
//! use crnkit_learn::job;
//!
//! let cfg = job::parse(
//!     "[model]\nbuiltin = \"immigration_death\"\nvisible = [\"X\"]\ncap = 400\n\
//!      [target]\npoisson = [100.0]\n\
//!      [learn]\nlimit = true\nclamp_rate = 1.0\nuntil = 20\nevery = 5\n",
//!     "mean.toml",
//! )?;
//! // No model file to read here: the reader refuses.
//! let no_files = |p: &Path| {
//!     Err(crnkit_core::Error::UnknownFormat { path: p.display().to_string() })
//! };
//! let (model, environment) = cfg.inputs(Path::new(""), &no_files)?;
//! let settings = cfg.settings();
//! assert_eq!(settings.method, crnkit_learn::LearnMethod::ChemicalLimit);
//! assert_eq!(settings.delta, 1.0 / 2048.0); // the default `delta_inverse`
//! let outcome = crnkit_learn::learn(&model, environment, &settings)?;
//! assert_eq!(outcome.curve.points.len(), 5); // t = 0, 5, 10, 15, 20
//! # Ok::<(), crnkit_core::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crnkit_core::progress::Reporter;
use crnkit_core::{Error, Network, Result};
use serde::Deserialize;

use crate::{Environment, GenerativeModel, LearnMethod, LearnOutcome, LearnSettings, learn};

/// Reads a model file into a network (`crnkit_io::read_network` in the facade and the
/// Python package).
pub type ReadNetwork<'a> = &'a dyn Fn(&Path) -> Result<Network>;

/// The whole job file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// The generative model.
    pub model: ModelSection,
    /// What to learn.
    pub target: TargetSection,
    /// How to learn.
    #[serde(default)]
    pub learn: LearnSection,
    /// Where to write.
    #[serde(default)]
    pub output: OutputSection,
}

/// `[model]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Model file (relative to the job file).
    pub file: Option<String>,
    /// A bundled model by name (`crnkit models`).
    pub builtin: Option<String>,
    /// A chemical Boltzmann machine.
    pub boltzmann: Option<BoltzmannSection>,
    /// Visible species (the others are hidden).
    pub visible: Vec<String>,
    /// Cap on every species count (needed for open networks).
    pub cap: Option<u32>,
    /// Largest class enumerated.
    #[serde(default = "default_max_states")]
    pub max_states: usize,
}

fn default_max_states() -> usize {
    1_000_000
}

/// `[model.boltzmann]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoltzmannSection {
    /// Unit names.
    pub units: Vec<String>,
    /// Edges as pairs of unit indices.
    #[serde(default)]
    pub edges: Vec<[usize; 2]>,
    /// Reaction barrier (kT).
    #[serde(default)]
    pub barrier: f64,
}

/// `[target]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// CSV table over the visible species (last column `probability` or `count`).
    pub table: Option<String>,
    /// Independent Poisson means per visible species.
    pub poisson: Option<Vec<f64>>,
    /// An environment network whose stationary law, binned, is the target.
    pub environment: Option<String>,
    /// Binning rules for the environment, one per visible species.
    pub bins: Option<Vec<String>>,
}

/// Learning method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum JobMethod {
    /// L-BFGS on the exact objective (argmin).
    Exact,
    /// Gradient descent with the sampled gradient (SSA ensembles of free and clamped copies).
    Sampled,
    /// The learning network itself.
    #[default]
    Chemical,
}

/// `[learn]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearnSection {
    /// Method.
    pub method: JobMethod,
    /// Chemical: integrate the large-ensemble limit instead of simulating exactly.
    pub limit: bool,
    /// Learning rate ε.
    pub epsilon: f64,
    /// Reverse rate δ (overrides `delta_inverse`).
    pub delta: Option<f64>,
    /// 1/δ.
    pub delta_inverse: f64,
    /// Copies N.
    pub copies: usize,
    /// ω, parameter molecules per unit concentration per copy.
    pub p_volume: f64,
    /// Clamping speed-up.
    pub clamp_rate: f64,
    /// Clamping potential λ (kT).
    pub clamp_strength: f64,
    /// Token hopping rate.
    pub token_rate: f64,
    /// End time (chemical) or gradient-flow time (sampled: steps = until / learning_rate).
    pub until: f64,
    /// Output interval.
    pub every: f64,
    /// Seed.
    pub seed: u64,
    /// Initial free energies are perturbed by uniform(−jitter, jitter) (breaks the
    /// symmetry of hidden units).
    pub jitter: f64,
    /// Require a finite thermodynamic cost (δ > 0).
    pub cost: bool,
    /// Sampled: copies per gradient estimate.
    pub runs: u64,
    /// Sampled: burn-in time per copy.
    pub burn_in: f64,
    /// Sampled: step size η (gradient flow time per step).
    pub learning_rate: f64,
    /// Exact: maximum L-BFGS iterations.
    pub max_iters: u64,
}

impl Default for LearnSection {
    /// The defaults of [`LearnSettings`].
    fn default() -> Self {
        let d = LearnSettings::default();
        LearnSection {
            method: JobMethod::Chemical,
            limit: false,
            epsilon: d.epsilon,
            delta: None,
            delta_inverse: 1.0 / d.delta,
            copies: d.copies,
            p_volume: d.p_volume,
            clamp_rate: d.clamp_rate,
            clamp_strength: d.clamp_strength,
            token_rate: d.token_rate,
            until: d.until,
            every: d.every,
            seed: d.seed,
            jitter: d.jitter,
            cost: d.cost,
            runs: d.runs,
            burn_in: d.burn_in,
            learning_rate: d.learning_rate,
            max_iters: d.max_iters,
        }
    }
}

impl LearnSection {
    /// The library settings of this section (`delta` overrides `1 / delta_inverse`;
    /// `limit` picks [`LearnMethod::ChemicalLimit`] for the chemical method), with the
    /// limit's CME bounded by `max_states`; quiet and without a checkpoint.
    pub fn settings(&self, max_states: usize) -> LearnSettings {
        let method = match (self.method, self.limit) {
            (JobMethod::Exact, _) => LearnMethod::Exact,
            (JobMethod::Sampled, _) => LearnMethod::Sampled,
            (JobMethod::Chemical, false) => LearnMethod::Chemical,
            (JobMethod::Chemical, true) => LearnMethod::ChemicalLimit,
        };
        LearnSettings {
            method,
            epsilon: self.epsilon,
            delta: self.delta.unwrap_or(1.0 / self.delta_inverse),
            copies: self.copies,
            p_volume: self.p_volume,
            clamp_rate: self.clamp_rate,
            clamp_strength: self.clamp_strength,
            token_rate: self.token_rate,
            until: self.until,
            every: self.every,
            seed: self.seed,
            jitter: self.jitter,
            cost: self.cost,
            runs: self.runs,
            burn_in: self.burn_in,
            learning_rate: self.learning_rate,
            max_iters: self.max_iters,
            max_states,
            ..LearnSettings::default()
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Output folder (relative to the working directory).
    pub dir: String,
    /// Write figures (the application draws them).
    pub figures: bool,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            dir: "out/learn".into(),
            figures: true,
        }
    }
}

/// What a job produced (its `summary.json`; a number that is not finite is written as the
/// string `"inf"`, `"-inf"` or `"nan"`, which JSON numbers cannot hold and Python's
/// `float()` reads).
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobSummary {
    /// Method used.
    pub method: String,
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Initial D(Q‖P).
    #[serde(serialize_with = "nonfinite::one")]
    pub initial_kl: f64,
    /// Final D(Q‖P).
    #[serde(serialize_with = "nonfinite::one")]
    pub final_kl: f64,
    /// Final free energies.
    #[serde(serialize_with = "nonfinite::many")]
    pub final_g: Vec<f64>,
    /// Entropy produced per copy (chemical; NaN otherwise; +∞ after a jump whose reverse is
    /// impossible).
    #[serde(serialize_with = "nonfinite::one")]
    pub entropy_produced: f64,
    /// Wall time of the learning and its data files (s).
    pub seconds: f64,
    /// Output folder.
    pub dir: PathBuf,
}

/// Floats as JSON numbers when finite, else as the strings `inf`, `-inf`, `nan`.
mod nonfinite {
    use serde::Serializer;
    use serde::ser::SerializeSeq;

    fn text(v: f64) -> &'static str {
        if v.is_nan() {
            "nan"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        }
    }

    pub fn one<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_str(text(*v))
        }
    }

    pub fn many<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for &x in v {
            if x.is_finite() {
                seq.serialize_element(&x)?;
            } else {
                seq.serialize_element(text(x))?;
            }
        }
        seq.end()
    }
}

/// Parse a job; `file` names it in errors (malformed TOML, unknown keys, wrong types).
pub fn parse(text: &str, file: &str) -> Result<JobConfig> {
    toml::from_str(text).map_err(|e| Error::Toml {
        file: file.to_string(),
        msg: e.to_string(),
    })
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// A network named by a job: `builtin:NAME` or a file relative to `base`.
fn load_network(base: &Path, spec: &str, read: ReadNetwork<'_>) -> Result<Network> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return crnkit_core::models::bundled(name);
    }
    read(&base.join(spec))
}

/// The error for `n` sources of `what` where exactly one is needed.
fn not_one(what: &'static str, n: usize) -> Error {
    Error::InvalidSetting {
        name: what,
        value: format!("{n} given"),
        reason: "give exactly one",
    }
}

impl JobConfig {
    /// The library settings of the job ([`LearnSection::settings`] with the model's
    /// `max_states`): quiet and without a checkpoint.
    pub fn settings(&self) -> LearnSettings {
        self.learn.settings(self.model.max_states)
    }

    /// The job's model and environment; relative model, table and environment paths are
    /// resolved against `base` and model files are read by `read`.
    ///
    /// Errors: not exactly one model source (`file`, `builtin`, `boltzmann`) or target
    /// source (`table`, `poisson`, `environment`); an environment without `bins`; the
    /// errors of the files, of [`GenerativeModel::with_cap`] (unknown visible species, a
    /// model that is not detailed balanced, a class above `max_states`) and of the
    /// target.
    pub fn inputs(
        &self,
        base: &Path,
        read: ReadNetwork<'_>,
    ) -> Result<(GenerativeModel, Environment)> {
        let m = &self.model;
        let net = self.network(base, read)?;
        let visible: Vec<&str> = m.visible.iter().map(String::as_str).collect();
        let model = GenerativeModel::with_cap(&net, &visible, m.cap, m.max_states)?;
        let environment = self.environment(&model, base, read)?;
        Ok((model, environment))
    }

    /// The job's model network: from a file (relative to `base`), a bundled model or a
    /// Boltzmann machine, exactly one of them.
    fn network(&self, base: &Path, read: ReadNetwork<'_>) -> Result<Network> {
        let m = &self.model;
        match (&m.file, &m.builtin, &m.boltzmann) {
            (Some(f), None, None) => read(&base.join(f)),
            (None, Some(b), None) => crnkit_core::models::bundled(b),
            (None, None, Some(b)) => {
                let units: Vec<&str> = b.units.iter().map(String::as_str).collect();
                let edges: Vec<(usize, usize)> = b.edges.iter().map(|e| (e[0], e[1])).collect();
                crate::boltzmann::machine(&units, &edges, b.barrier)
            }
            _ => Err(not_one(
                "model (file, builtin or boltzmann)",
                usize::from(m.file.is_some())
                    + usize::from(m.builtin.is_some())
                    + usize::from(m.boltzmann.is_some()),
            )),
        }
    }

    /// The job's environment: a table file (relative to `base`), Poisson means, or an
    /// environment network binned into a table.
    fn environment(
        &self,
        model: &GenerativeModel,
        base: &Path,
        read: ReadNetwork<'_>,
    ) -> Result<Environment> {
        let t = &self.target;
        let n = usize::from(t.table.is_some())
            + usize::from(t.poisson.is_some())
            + usize::from(t.environment.is_some());
        if n != 1 {
            return Err(not_one("target (table, poisson or environment)", n));
        }
        if let Some(f) = &t.table {
            let p = base.join(f);
            let target = model.target_from_csv(&read_text(&p)?, &p.display().to_string())?;
            return Ok(Environment::Table(target));
        }
        if let Some(mus) = &t.poisson {
            return Ok(Environment::Poisson(mus.clone()));
        }
        let env = load_network(base, t.environment.as_deref().unwrap_or_default(), read)?;
        let bins = t.bins.clone().ok_or_else(|| Error::InvalidSetting {
            name: "target.bins",
            value: String::new(),
            reason: "an environment target needs one binning rule per visible species",
        })?;
        let rules = model.parse_bin_rules(&env, &bins)?;
        let fsp = crnkit_sim::cme::FspOptions::default();
        let (target, _) = model.target_from_environment(&env, &rules, &fsp)?;
        Ok(Environment::Table(target))
    }
}

/// Run a job with its files in `dir` (created when missing): the job's model and
/// environment ([`JobConfig::inputs`]), [`learn`] with its settings, `progress` and a
/// checkpoint `dir/checkpoint.json` (a matching one is resumed; it is removed when a
/// chemical or sampled run completes), then `learning_network.crn` (chemical methods),
/// `curve.csv`, `learned.crn` (when the learned free energies are finite) and
/// `summary.json`, each written atomically. `cfg.output` is not read: the caller picks
/// `dir`.
///
/// Errors: those of [`JobConfig::inputs`] and [`learn`], and of the files written.
pub fn run_in(
    cfg: &JobConfig,
    base: &Path,
    read: ReadNetwork<'_>,
    dir: &Path,
    progress: Reporter,
) -> Result<(LearnOutcome, JobSummary)> {
    let start = std::time::Instant::now();
    let (model, environment) = cfg.inputs(base, read)?;
    let _lock = crnkit_core::fs::lock_folder(dir, "a learning job")?;
    let checkpoint = dir.join("checkpoint.json");
    let settings = LearnSettings {
        progress,
        checkpoint: Some(checkpoint.clone()),
        ..cfg.settings()
    };
    let outcome = learn(&model, environment, &settings)?;
    if settings.method.is_chemical() {
        let ln = outcome.learner.learning_network(settings.seed)?;
        ln.network.to_file(dir.join("learning_network.crn"))?;
    }
    if settings.method != LearnMethod::Exact {
        let _ = std::fs::remove_file(&checkpoint);
    }
    let curve = &outcome.curve;
    crnkit_core::fs::write_atomic(&dir.join("curve.csv"), curve.to_csv().as_bytes())?;
    if outcome.learned.iter().all(|v| v.is_finite()) {
        outcome
            .learned_network()?
            .to_file(dir.join("learned.crn"))?;
    }
    let summary = JobSummary {
        method: curve.method.clone(),
        parameters: model
            .parameter_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        initial_kl: outcome.initial_divergence(),
        final_kl: outcome.final_divergence(),
        final_g: outcome.learned.clone(),
        entropy_produced: outcome.entropy_produced(),
        seconds: start.elapsed().as_secs_f64(),
        dir: dir.to_path_buf(),
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Numerical {
        what: "summary",
        reason: e.to_string(),
    })?;
    crnkit_core::fs::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    Ok((outcome, summary))
}
