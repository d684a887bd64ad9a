//! `crnkit learn CONFIG.toml`: one learning job described in TOML, run with its outputs
//! written to a folder.
//!
//! The job file's parser, its model and environment and its data files are the library's
//! ([`crnkit_learn::job`], re-exported here); this module adds the figures
//! `learning.{png,svg}` and `target.{png,svg}` (plotters) and the terminal bars.
//!
//! Outputs: `curve.csv` (`time,kl,entropy_produced,...`), `learned.crn` (the model at the
//! learned free energies), `learning_network.crn` (chemical), `summary.json`, figures
//! `learning.{png,svg}` and `target.{png,svg}`, and `checkpoint.json` (chemical and sampled runs
//! resume from it when interrupted; it is removed when the run completes).

use std::path::{Path, PathBuf};

pub use crnkit_learn::job::*;

use super::{ChannelKind, Learner, LearningCurve};
use crate::error::{ModelError as Error, ModelResult as Result};

/// Run the job in `path`, writing to its output folder; `progress` shows bars.
pub fn run(path: &Path, progress: bool) -> Result<JobSummary> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let cfg = parse(&text, &path.display().to_string())?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    run_config(&cfg, &base, progress)
}

/// Run a parsed job; relative model and target paths are resolved against `base`. The
/// learning and its data files are [`run_in`] in the job's output folder (with bars when
/// `progress`); this adds the figures when `[output] figures` is set.
pub fn run_config(cfg: &JobConfig, base: &Path, progress: bool) -> Result<JobSummary> {
    let dir = PathBuf::from(&cfg.output.dir);
    let read = |p: &Path| crate::io::read_network(p);
    let (outcome, summary) = run_in(cfg, base, &read, &dir, crate::bars::bars(progress))?;
    if cfg.output.figures {
        write_figures(&outcome.learner, &outcome.curve, &outcome.learned, &dir)?;
    }
    Ok(summary)
}

/// The figures of a learning run in `dir`: `learning.{png,svg}` (the learning curve and the
/// entropy produced by kind) and `target.{png,svg}` (target and learned law at the learned
/// free energies `g` over the visible configurations, when they are finite).
pub fn write_figures(
    learner: &Learner,
    curve: &LearningCurve,
    g: &[f64],
    dir: &Path,
) -> Result<()> {
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
    // Target vs learned over the visible configurations (none when the learned free
    // energies are not finite: a parameter ran out, as for `learned.crn`).
    if !g.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    let model = learner.model();
    let pv = model.visible_marginal(g)?;
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
