//! Training against the exact teacher.
//!
//! Loss: the mean over a minibatch of (point, time) pairs of the cross-entropy
//! CE(c) = −Σ_x p̂(x | c) ln q_φ(x | c), with p̂ the teacher's distribution renormalised on the
//! box of caps. The KL divergence KL(p̂ ‖ q_φ) = CE − H(p̂) differs by the teacher's entropy,
//! which does not depend on φ, and is what is reported. AdamW with a cosine learning-rate
//! decay, minibatches of pairs shuffled per epoch from `stream(seed, epoch)`, early stopping
//! on the KL of held-out design points, the best epoch's weights kept. With a checkpoint
//! folder, the weights and the history are written after every epoch (temporary file +
//! rename) and a later run with `resume` continues from them.

use std::path::{Path, PathBuf};

use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::model::{Model, tmp_path};
use super::teacher::TeacherData;
use super::{PromptSpec, ce};
use crate::{Error, Result};

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Most epochs (passes over the training pairs). Default 200.
    pub epochs: usize,
    /// (point, time) pairs per minibatch. Default 32.
    pub batch_pairs: usize,
    /// Peak learning rate (cosine decay to 2% of it over `epochs`). Default 3e-3.
    pub lr: f64,
    /// AdamW weight decay. Default 0.
    pub weight_decay: f64,
    /// Stop when the validation KL has not improved for this many epochs. Default 40.
    pub patience: usize,
    /// Seed of the minibatch order.
    pub seed: u64,
    /// Show a progress bar on standard error.
    pub progress: bool,
    /// Write a checkpoint here after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir` if there is one.
    pub resume: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 200,
            batch_pairs: 32,
            lr: 3e-3,
            weight_decay: 0.0,
            patience: 40,
            seed: 0,
            progress: false,
            checkpoint_dir: None,
            resume: false,
        }
    }
}

/// What a training run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs completed (including those of a resumed run).
    pub epochs_run: usize,
    /// Epoch (1-based) with the lowest validation KL; its weights are the model's.
    pub best_epoch: usize,
    /// Mean KL on the validation pairs at the best epoch (nats).
    pub best_val_kl: f64,
    /// Mean training KL per epoch, averaged over the epoch's minibatches (nats).
    pub train_kl: Vec<f64>,
    /// Mean validation KL per epoch (nats).
    pub val_kl: Vec<f64>,
    /// Wall-clock seconds of this call.
    pub seconds: f64,
    /// The epoch a resumed run started after, if it resumed.
    pub resumed_from: Option<usize>,
}

/// One (point, time) pair ready for the model.
pub(crate) struct Pair {
    pub states: Vec<u32>,
    pub weights: Vec<f64>,
    pub prompt: Vec<f32>,
    pub entropy: f64,
}

/// Pairs of a teacher data set, with prompts from `spec`.
pub(crate) fn pairs(data: &TeacherData, spec: &PromptSpec) -> Result<Vec<Pair>> {
    let mut out = Vec::with_capacity(data.num_pairs());
    for pt in &data.points {
        for s in &pt.slices {
            let z = s.mass();
            if z.is_nan() || z <= 0.0 {
                return Err(Error::Surrogate {
                    reason: format!(
                        "the teacher has no mass inside the caps at t = {} (parameters {:?})",
                        s.time, pt.params
                    ),
                });
            }
            out.push(Pair {
                states: s.states.clone(),
                weights: s.probs.iter().map(|p| p / z).collect(),
                prompt: spec
                    .prompt(&pt.params, s.time)?
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
                entropy: s.entropy(),
            });
        }
    }
    Ok(out)
}

/// Σ over the pairs `idx` of −Σ_x p̂ ln q, as a scalar tensor, and the number of pairs.
fn batch_ce(model: &Model, data: &[Pair], idx: &[usize]) -> Result<Tensor> {
    let mut states = Vec::new();
    let mut prompts = Vec::new();
    let mut weights = Vec::new();
    for &k in idx {
        let p = &data[k];
        states.extend_from_slice(&p.states);
        for _ in 0..p.weights.len() {
            prompts.extend_from_slice(&p.prompt);
        }
        weights.extend_from_slice(&p.weights);
    }
    let lp = model.log_prob_tensor(&states, &prompts)?;
    let w = Tensor::from_vec(weights, lp.dims(), model.device()).map_err(ce)?;
    (lp * w)
        .map_err(ce)?
        .sum_all()
        .map_err(ce)?
        .neg()
        .map_err(ce)
}

/// Mean KL(p̂ ‖ q) over `data`, evaluated in batches.
pub(crate) fn mean_kl(model: &Model, data: &[Pair]) -> Result<f64> {
    if data.is_empty() {
        return Ok(0.0);
    }
    let mut total = 0.0;
    let mut batch = Vec::new();
    let mut rows = 0;
    let flush = |batch: &mut Vec<usize>, total: &mut f64| -> Result<()> {
        if !batch.is_empty() {
            *total += batch_ce(model, data, batch)?
                .to_scalar::<f64>()
                .map_err(ce)?;
            batch.clear();
        }
        Ok(())
    };
    for (k, pair) in data.iter().enumerate() {
        batch.push(k);
        rows += pair.weights.len();
        if rows > 1 << 15 {
            flush(&mut batch, &mut total)?;
            rows = 0;
        }
    }
    flush(&mut batch, &mut total)?;
    let h: f64 = data.iter().map(|p| p.entropy).sum();
    Ok((total - h) / data.len() as f64)
}

/// Checkpointed progress (`checkpoint.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Checkpoint {
    epoch: usize,
    best_epoch: usize,
    best_val_kl: f64,
    train_kl: Vec<f64>,
    val_kl: Vec<f64>,
    seed: u64,
}

/// Write `text` to `path` atomically (temporary file + rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let io = |source, p: &Path| Error::Io {
        path: p.display().to_string(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(|e| io(e, &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| io(e, path))
}

/// Train `model` on `train` with early stopping on `val` (prompts from `spec`). The model
/// ends with the weights of the best validation epoch.
pub fn train(
    model: &mut Model,
    spec: &PromptSpec,
    train: &TeacherData,
    val: &TeacherData,
    cfg: &TrainConfig,
) -> Result<TrainReport> {
    if cfg.batch_pairs == 0 || !(cfg.lr > 0.0 && cfg.lr.is_finite()) || cfg.epochs == 0 {
        return Err(Error::Surrogate {
            reason: "training needs epochs > 0, batch_pairs > 0 and a finite lr > 0".into(),
        });
    }
    if train.caps != model.arch().caps || val.caps != model.arch().caps {
        return Err(Error::Surrogate {
            reason: "the teacher data's caps differ from the model's".into(),
        });
    }
    let start = std::time::Instant::now();
    let train_pairs = pairs(train, spec)?;
    let val_pairs = pairs(val, spec)?;
    if train_pairs.is_empty() {
        return Err(Error::Surrogate {
            reason: "no training pairs".into(),
        });
    }
    let mut report = TrainReport {
        best_val_kl: f64::INFINITY,
        ..TrainReport::default()
    };
    let mut best = model.snapshot()?;
    let mut first_epoch = 1;
    if let Some(dir) = &cfg.checkpoint_dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let cp_path = dir.join("checkpoint.json");
        if cfg.resume && cp_path.exists() {
            let text = std::fs::read_to_string(&cp_path).map_err(|source| Error::Io {
                path: cp_path.display().to_string(),
                source,
            })?;
            let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| Error::Surrogate {
                reason: format!("{}: invalid checkpoint: {e}", cp_path.display()),
            })?;
            model.load_weights(&dir.join("best.safetensors"))?;
            best = model.snapshot()?;
            model.load_weights(&dir.join("checkpoint.safetensors"))?;
            report.epochs_run = cp.epoch;
            report.best_epoch = cp.best_epoch;
            report.best_val_kl = cp.best_val_kl;
            report.train_kl = cp.train_kl;
            report.val_kl = cp.val_kl;
            report.resumed_from = Some(cp.epoch);
            first_epoch = cp.epoch + 1;
        }
    }
    let params = ParamsAdamW {
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        ..ParamsAdamW::default()
    };
    // The map's order varies from run to run; AdamW updates each weight on its own, so the
    // result does not depend on it.
    let vars = model.varmap().all_vars();
    let mut opt = AdamW::new(vars, params).map_err(ce)?;
    let bar = if cfg.progress {
        let b = indicatif::ProgressBar::new(cfg.epochs as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} distilling [{bar:40}] {pos}/{len} epochs {msg} {elapsed_precise}",
        ) {
            b.set_style(style);
        }
        b.set_position(first_epoch as u64 - 1);
        Some(b)
    } else {
        None
    };
    let h_train: f64 =
        train_pairs.iter().map(|p| p.entropy).sum::<f64>() / train_pairs.len() as f64;
    let mut order: Vec<usize> = (0..train_pairs.len()).collect();
    for epoch in first_epoch..=cfg.epochs {
        if report.best_epoch > 0 && epoch - report.best_epoch > cfg.patience {
            break;
        }
        let progress = (epoch - 1) as f64 / cfg.epochs as f64;
        let lr = cfg.lr * (0.02 + 0.98 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        opt.set_learning_rate(lr);
        order.sort_unstable();
        let mut rng = crate::rng::stream(cfg.seed, epoch as u64);
        order.shuffle(&mut rng);
        let mut ce_sum = 0.0;
        for chunk in order.chunks(cfg.batch_pairs) {
            let loss = batch_ce(model, &train_pairs, chunk)?;
            ce_sum += loss.to_scalar::<f64>().map_err(ce)?;
            let mean = (loss / chunk.len() as f64).map_err(ce)?;
            opt.backward_step(&mean).map_err(ce)?;
        }
        let train_kl = ce_sum / train_pairs.len() as f64 - h_train;
        let val_kl = if val_pairs.is_empty() {
            train_kl
        } else {
            mean_kl(model, &val_pairs)?
        };
        if !val_kl.is_finite() {
            return Err(Error::Surrogate {
                reason: format!("training diverged at epoch {epoch} (validation KL {val_kl})"),
            });
        }
        report.train_kl.push(train_kl);
        report.val_kl.push(val_kl);
        report.epochs_run = epoch;
        let improved = val_kl < report.best_val_kl;
        if improved {
            report.best_val_kl = val_kl;
            report.best_epoch = epoch;
            best = model.snapshot()?;
        }
        if let Some(dir) = &cfg.checkpoint_dir {
            model.save_weights(&dir.join("checkpoint.safetensors"))?;
            if improved {
                model.save_weights(&dir.join("best.safetensors"))?;
            }
            let cp = Checkpoint {
                epoch,
                best_epoch: report.best_epoch,
                best_val_kl: report.best_val_kl,
                train_kl: report.train_kl.clone(),
                val_kl: report.val_kl.clone(),
                seed: cfg.seed,
            };
            let text = serde_json::to_vec_pretty(&cp).map_err(|e| Error::Surrogate {
                reason: format!("cannot serialise the checkpoint: {e}"),
            })?;
            write_atomic(&dir.join("checkpoint.json"), &text)?;
        }
        if let Some(b) = &bar {
            b.set_position(epoch as u64);
            b.set_message(format!("train KL {train_kl:.2e} val KL {val_kl:.2e}"));
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    model.restore(&best)?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}
