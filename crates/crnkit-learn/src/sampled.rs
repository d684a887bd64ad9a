//! Learning with sampled gradients: free and clamped SSA copies estimate the gradient of
//! D(Q‖P_G) at every step (the stochastic counterpart of [`crate::fit_exact`]).

use crate::chemical::{EntropyAccounts, LearningCurve, RunConfig};
use crate::{GenerativeModel, Learner, Target};
use crnkit_core::{Error, Result};

/// Settings of [`learn_sampled`].
#[derive(Debug, Clone, PartialEq)]
pub struct SampledConfig {
    /// Step size η (gradient-flow time per step).
    pub learning_rate: f64,
    /// Gradient-flow time: `until / learning_rate` steps.
    pub until: f64,
    /// Interval of the recorded rows (gradient-flow time).
    pub every: f64,
    /// Copies per gradient estimate.
    pub runs: u64,
    /// Burn-in time per copy.
    pub burn_in: f64,
    /// Seed (step s draws from stream (seed, s)).
    pub seed: u64,
}

impl Default for SampledConfig {
    /// η = 0.1 to gradient-flow time 100, rows every 1, 1,000 copies per estimate after a
    /// burn-in of 10, seed 1 (the job file's defaults).
    fn default() -> Self {
        SampledConfig {
            learning_rate: 0.1,
            until: 100.0,
            every: 1.0,
            runs: 1000,
            burn_in: 10.0,
            seed: 1,
        }
    }
}

/// The learning curve of free energies `rows` (time, G) as the learner measures it: the
/// exact D(Q‖P) and the free and clamped expectations at every row (exact and sampled
/// methods).
pub fn curve_from_g(
    learner: &Learner,
    method: &str,
    names: Vec<String>,
    rows: impl Iterator<Item = (f64, Vec<f64>)>,
) -> Result<LearningCurve> {
    let g0 = learner.model.initial.clone();
    let mut points = Vec::new();
    for (t, g) in rows {
        let p: Vec<f64> = g.iter().zip(&g0).map(|(g, g0)| (g - g0).exp()).collect();
        let e = learner.model.expectations(&learner.target, &g)?;
        let mut pt = learner.point(t, p, e.free, e.clamped, EntropyAccounts::splat(f64::NAN))?;
        pt.kl = e.divergence;
        points.push(pt);
    }
    Ok(LearningCurve {
        method: method.into(),
        names,
        g0,
        points,
        balance: Vec::new(),
    })
}

/// Learn by gradient descent with sampled gradients: at every step, `cfg.runs` free and
/// clamped SSA copies estimate ∂D/∂G (after a burn-in), and G moves by −η times the
/// estimate. Rows every `cfg.every` of gradient-flow time; with `run.checkpoint` the run
/// checkpoints at every row and resumes from a matching checkpoint.
pub fn learn_sampled(
    model: &GenerativeModel,
    learner: &Learner,
    target: &Target,
    g_start: &[f64],
    l: &SampledConfig,
    run: &RunConfig,
) -> Result<LearningCurve> {
    if !(l.learning_rate.is_finite() && l.learning_rate > 0.0) {
        return Err(Error::InvalidSetting {
            name: "learning_rate",
            value: l.learning_rate.to_string(),
            reason: "must be a finite number > 0",
        });
    }
    let steps = (l.until / l.learning_rate).round() as u64;
    let every = ((l.every / l.learning_rate).round() as u64).max(1);
    let names: Vec<String> = model
        .parameter_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let fp = format!(
        "sampled|{:?}|{:?}|{g_start:?}|{}",
        l,
        target,
        model.network().to_crn_string()
    );
    // Resume: the state is (next step, G); the rows so far are the checkpoint's curve.
    let expect = crate::chemical::Resumable {
        state_len: 1 + g_start.len(),
        grid: None,
        names: names.clone(),
        whole: 1,
    };
    let (first, mut g, mut rows) = match crate::chemical::load_checkpoint(run, &fp, &expect)? {
        Some((state, _)) if state[0] as u64 > steps => {
            return Err(Error::InvalidSetting {
                name: "checkpoint",
                value: format!("step {}", state[0]),
                reason: "the checkpoint is past the end of this run",
            });
        }
        Some((state, curve)) => {
            let rows: Vec<(f64, Vec<f64>)> = (0..curve.points.len())
                .map(|k| (curve.points[k].time, curve.effective(k)))
                .collect();
            (state[0] as u64, state[1..].to_vec(), rows)
        }
        _ => (0, g_start.to_vec(), vec![(0.0, g_start.to_vec())]),
    };
    let bar = run.progress.start_horizon("learning (sampled)", l.until);
    for s in first..steps {
        run.progress.check_cancelled()?;
        let sg = model.sampled_gradient(
            target,
            &g,
            l.runs,
            l.burn_in,
            rand::RngCore::next_u64(&mut crnkit_core::rng::stream(l.seed, s)),
        )?;
        for (gi, d) in g.iter_mut().zip(&sg.gradient) {
            *gi -= l.learning_rate * d;
        }
        if (s + 1) % every == 0 || s + 1 == steps {
            rows.push(((s + 1) as f64 * l.learning_rate, g.clone()));
            let curve = curve_from_g(learner, "sampled", names.clone(), rows.iter().cloned())?;
            let mut state = vec![(s + 1) as f64];
            state.extend_from_slice(&g);
            crate::chemical::save_checkpoint(run, &fp, &state, &curve)?;
        }
        if let Some(b) = &bar {
            b.set_position(1000 * (s + 1) / steps.max(1));
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    curve_from_g(learner, "sampled", names, rows.into_iter())
}
