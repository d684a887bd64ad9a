//! `crnkit learn CONFIG.toml`: one learning job described in TOML (model, visible split,
//! target or environment, method and its settings), with its outputs written to a folder.
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
//! Outputs: `curve.csv` (`time,kl,entropy_produced,...`), `learned.crn` (the model at the
//! learned free energies), `learning_network.crn` (chemical), `summary.json`, figures
//! `learning.{png,svg}` and `target.{png,svg}`, and `checkpoint.json` (chemical and sampled runs
//! resume from it when interrupted; it is removed when the run completes).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    ChannelKind, Environment, GenerativeModel, LearnMethod, LearnSettings, Learner, LearningCurve,
    learn,
};
use crate::Network;
use crate::error::{ModelError as Error, ModelResult as Result};

/// The whole configuration file.
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
    /// Model file (relative to the configuration file).
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
    /// Write figures.
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

/// What a job produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobSummary {
    /// Method used.
    pub method: String,
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Initial D(Q‖P).
    pub initial_kl: f64,
    /// Final D(Q‖P).
    pub final_kl: f64,
    /// Final free energies.
    pub final_g: Vec<f64>,
    /// Entropy produced per copy (chemical; NaN otherwise).
    pub entropy_produced: f64,
    /// Wall time (s).
    pub seconds: f64,
    /// Output folder.
    pub dir: PathBuf,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn load_network(base: &Path, spec: &str) -> Result<Network> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return crate::models::bundled(name);
    }
    crate::io::read_network(base.join(spec))
}

fn exactly_one(what: &'static str, n: usize) -> Result<()> {
    if n == 1 {
        Ok(())
    } else {
        Err(Error::InvalidSetting {
            name: what,
            value: format!("{n} given"),
            reason: "give exactly one",
        })
    }
}

/// Parse a job file.
pub fn parse(text: &str, file: &str) -> Result<JobConfig> {
    toml::from_str(text).map_err(|e| Error::Toml {
        file: file.to_string(),
        msg: e.to_string(),
    })
}

/// Run the job in `path`, writing to its output folder; `progress` shows bars.
pub fn run(path: &Path, progress: bool) -> Result<JobSummary> {
    let text = read(path)?;
    let cfg = parse(&text, &path.display().to_string())?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    run_config(&cfg, &base, progress)
}

/// The job's model and environment (relative paths resolved against `base`).
pub fn job_inputs(cfg: &JobConfig, base: &Path) -> Result<(GenerativeModel, Environment)> {
    let m = &cfg.model;
    let net = job_network(m, base)?;
    let visible: Vec<&str> = m.visible.iter().map(String::as_str).collect();
    let model = GenerativeModel::with_cap(&net, &visible, m.cap, m.max_states)?;
    let environment = job_environment(&cfg.target, &model, base)?;
    Ok((model, environment))
}

/// Run a parsed job; relative model and target paths are resolved against `base`. The
/// learning is [`learn`] with the job's [`LearnSection::settings`] and a checkpoint in the
/// output folder (removed when the run completes); this writes the files.
pub fn run_config(cfg: &JobConfig, base: &Path, progress: bool) -> Result<JobSummary> {
    let start = std::time::Instant::now();
    let (model, environment) = job_inputs(cfg, base)?;
    let dir = PathBuf::from(&cfg.output.dir);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let checkpoint = dir.join("checkpoint.json");
    let settings = LearnSettings {
        progress: crate::bars::bars(progress),
        checkpoint: Some(checkpoint.clone()),
        ..cfg.learn.settings(cfg.model.max_states)
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
    write_outputs(&outcome.learner, curve, &dir, cfg.output.figures)?;
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
        dir: dir.clone(),
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Numerical {
        what: "summary",
        reason: e.to_string(),
    })?;
    crate::io::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    Ok(summary)
}

/// The job's model network: from a file (relative to `base`), a bundled model or a
/// Boltzmann machine, exactly one of them.
fn job_network(m: &ModelSection, base: &Path) -> Result<Network> {
    exactly_one(
        "model (file, builtin or boltzmann)",
        usize::from(m.file.is_some())
            + usize::from(m.builtin.is_some())
            + usize::from(m.boltzmann.is_some()),
    )?;
    let net = if let Some(f) = &m.file {
        crate::io::read_network(base.join(f))?
    } else if let Some(b) = &m.builtin {
        crate::models::bundled(b)?
    } else if let Some(b) = &m.boltzmann {
        let units: Vec<&str> = b.units.iter().map(String::as_str).collect();
        let edges: Vec<(usize, usize)> = b.edges.iter().map(|e| (e[0], e[1])).collect();
        super::boltzmann::machine(&units, &edges, b.barrier)?
    } else {
        unreachable!("exactly one model source was checked above")
    };
    Ok(net)
}

/// The job's environment: a table file (relative to `base`), Poisson means, or an
/// environment network binned into a table.
fn job_environment(t: &TargetSection, model: &GenerativeModel, base: &Path) -> Result<Environment> {
    exactly_one(
        "target (table, poisson or environment)",
        usize::from(t.table.is_some())
            + usize::from(t.poisson.is_some())
            + usize::from(t.environment.is_some()),
    )?;
    let environment = if let Some(f) = &t.table {
        let p = base.join(f);
        Environment::Table(model.target_from_csv(&read(&p)?, &p.display().to_string())?)
    } else if let Some(mus) = &t.poisson {
        Environment::Poisson(mus.clone())
    } else {
        let env = load_network(base, t.environment.as_deref().unwrap_or_default())?;
        let bins = t.bins.clone().ok_or_else(|| Error::InvalidSetting {
            name: "target.bins",
            value: String::new(),
            reason: "an environment target needs one binning rule per visible species",
        })?;
        let rules = model.parse_bin_rules(&env, &bins)?;
        let (target, _) =
            model.target_from_environment(&env, &rules, &crate::cme::FspOptions::default())?;
        Environment::Table(target)
    };
    Ok(environment)
}

fn write_outputs(
    learner: &Learner,
    curve: &LearningCurve,
    dir: &Path,
    figures: bool,
) -> Result<()> {
    crate::io::write_atomic(&dir.join("curve.csv"), curve.to_csv().as_bytes())?;
    let last = curve.points.len() - 1;
    let g = curve.effective(last);
    if g.iter().all(|v| v.is_finite()) {
        learner
            .model()
            .network_at(&g)?
            .to_file(dir.join("learned.crn"))?;
    }
    if !figures {
        return Ok(());
    }
    use crate::plot::{Line, PALETTE, Panel, save};
    let kl = Line {
        name: "D(Q||P)".into(),
        color: PALETTE[0],
        points: curve
            .points
            .iter()
            .filter(|p| p.kl.is_finite())
            .map(|p| (p.time, p.kl))
            .collect(),
    };
    let sigma: Vec<Line> = ChannelKind::ALL
        .into_iter()
        .enumerate()
        .map(|(k, kind)| Line {
            name: kind.name().into(),
            color: PALETTE[(k + 1) % PALETTE.len()],
            points: curve
                .points
                .iter()
                .filter(|p| p.sigma[kind].is_finite())
                .map(|p| (p.time, p.sigma[kind]))
                .collect(),
        })
        .filter(|l| !l.points.is_empty() && l.points.iter().any(|p| p.1 != 0.0))
        .collect();
    let mut panels = vec![Panel {
        title: "learning curve".into(),
        x_label: "time".into(),
        y_label: "D(Q||P) (nats)".into(),
        lines: vec![kl],
        bands: vec![],
    }];
    if !sigma.is_empty() {
        panels.push(Panel {
            title: "entropy produced per copy".into(),
            x_label: "time".into(),
            y_label: "k_B".into(),
            lines: sigma,
            bands: vec![],
        });
    }
    save(&dir.join("learning"), &panels, (1200, 450))?;
    // Target vs learned over the visible configurations.
    let model = learner.model();
    let pv = model.visible_marginal(&g)?;
    let t = learner.target();
    let q: Vec<f64> = model
        .visible_states()
        .iter()
        .map(|v| {
            t.states
                .iter()
                .zip(&t.probabilities)
                .filter(|(s, _)| *s == v)
                .map(|(_, q)| q)
                .sum()
        })
        .collect();
    let line = |name: &str, c: usize, ys: &[f64]| Line {
        name: name.into(),
        color: PALETTE[c],
        points: ys.iter().enumerate().map(|(k, &y)| (k as f64, y)).collect(),
    };
    save(
        &dir.join("target"),
        &[Panel {
            title: "target vs learned (visible configurations in class order)".into(),
            x_label: "configuration".into(),
            y_label: "probability".into(),
            lines: vec![line("target Q", 0, &q), line("learned P", 1, &pv)],
            bands: vec![],
        }],
        (800, 450),
    )?;
    Ok(())
}
