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

use std::path::PathBuf;

use candle_core::Tensor;
use candle_nn::ParamsAdamW;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::PromptSpec;
use super::model::Model;
use super::teacher::TeacherData;
use crate::error::{Error, Result, candle};
use crnkit_core::Error as ModelError;
use crnkit_core::checkpoint::{Checkpoint, fingerprint};

use crate::adamw::AdamW;
pub(crate) use crnkit_core::fs::write_atomic;
use crnkit_core::progress::{Reporter, Unit};

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
    /// Where progress reports go (nowhere by default); a cancellation token on it stops
    /// training between minibatches ([`crnkit_core::Error::Cancelled`]), and the checkpoint
    /// keeps the last finished epoch.
    pub progress: Reporter,
    /// Write a checkpoint here after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir` if there is one.
    pub resume: bool,
    /// Stop after the first epoch that ends past this many seconds of training (counting
    /// the runs a resumed run continues).
    pub max_seconds: Option<f64>,
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
            progress: Reporter::none(),
            checkpoint_dir: None,
            resume: false,
            max_seconds: None,
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
    /// Wall-clock training seconds, over this call and the runs it resumed.
    pub seconds: f64,
    /// The epoch a resumed run started after, if it resumed.
    pub resumed_from: Option<usize>,
    /// Why training stopped.
    pub stop: TrainStop,
}

/// Why a training run stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainStop {
    /// All epochs ran.
    #[default]
    Epochs,
    /// The validation KL stopped improving for `patience` epochs.
    EarlyStopping,
    /// The time budget ran out.
    Budget,
}

/// The teacher's mass of one pair arranged for species `i`: the distinct prefixes x_<i
/// that carry mass and, for each, the dense row p̂(x_<i, x_i = 0..=cap_i).
pub(crate) struct Level {
    /// Distinct prefixes, flat (rows × i), scaled by the caps for the model's input.
    pub prefixes: Vec<f32>,
    /// The nonzero masses p̂(x_<i = prefix `row`, x_i = `col`) as (row, col, mass).
    pub weights: Vec<(u32, u32, f64)>,
    /// Number of distinct prefixes.
    pub rows: usize,
}

/// One (point, time) pair ready for the model.
pub(crate) struct Pair {
    pub prompt: Vec<f32>,
    pub entropy: f64,
    /// One level per species.
    pub levels: Vec<Level>,
}

impl Pair {
    /// Rows this pair adds to a batch (over every species).
    fn rows(&self) -> usize {
        self.levels.iter().map(|l| l.rows).sum::<usize>().max(1)
    }
}

/// Arrange a normalised sparse distribution (states flat, weights) by species: for species
/// i, the marginal mass of (x_<i, x_i) on the distinct prefixes x_<i. Cross-entropy then
/// needs one conditional per distinct prefix instead of one per state:
/// −Σ_x p̂(x) ln q(x) = −Σ_i Σ_{x_<i} Σ_{x_i} p̂(x_<i, x_i) ln q(x_i | x_<i).
fn levels(states: &[u32], weights: &[f64], caps: &[u32]) -> Vec<Level> {
    let ns = caps.len();
    (0..ns)
        .map(|i| {
            let mut index: std::collections::BTreeMap<&[u32], usize> = Default::default();
            let mut cells: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
            let mut prefixes = Vec::new();
            for (k, &p) in weights.iter().enumerate() {
                let st = &states[k * ns..(k + 1) * ns];
                let next = index.len();
                let row = *index.entry(&st[..i]).or_insert_with(|| {
                    prefixes.extend(
                        st[..i]
                            .iter()
                            .zip(caps)
                            .map(|(&x, &c)| if c == 0 { 0.0 } else { x as f32 / c as f32 }),
                    );
                    next
                });
                *cells.entry((row as u32, st[i])).or_insert(0.0) += p;
            }
            Level {
                prefixes,
                rows: index.len(),
                weights: cells.into_iter().map(|((r, c), w)| (r, c, w)).collect(),
            }
        })
        .collect()
}

/// Pairs of a teacher data set, with prompts from `spec`.
pub(crate) fn pairs(data: &TeacherData, spec: &PromptSpec) -> Result<Vec<Pair>> {
    let mut out = Vec::with_capacity(data.num_pairs());
    for pt in &data.points {
        for s in &pt.slices {
            let z = s.mass();
            if z.is_nan() || z <= 0.0 {
                return Err(Error::Data {
                    reason: format!(
                        "the teacher has no mass inside the caps at t = {} (parameters {:?})",
                        s.time, pt.params
                    ),
                });
            }
            let weights: Vec<f64> = s.probs.iter().map(|p| p / z).collect();
            out.push(Pair {
                levels: levels(&s.states, &weights, &data.caps),
                prompt: if pt.initial.is_empty() {
                    spec.prompt(&pt.params, s.time)?
                } else {
                    spec.prompt_at(&pt.params, &pt.initial, s.time)?
                }
                .into_iter()
                .map(|v| v as f32)
                .collect(),
                entropy: s.entropy(),
            });
        }
    }
    Ok(out)
}

/// Σ over the pairs `idx` of −Σ_x p̂ ln q, as a scalar tensor: per species, one batched
/// conditional over every distinct prefix of every pair.
fn batch_ce(model: &Model, data: &[Pair], idx: &[usize]) -> Result<Tensor> {
    let ns = model.arch().num_species();
    let d = model.arch().prompt_dim;
    let dev = model.device();
    let mut total: Option<Tensor> = None;
    for i in 0..ns {
        let width = model.arch().caps[i] as usize + 1;
        let rows: usize = idx.iter().map(|&k| data[k].levels[i].rows).sum();
        let mut prompts = Vec::with_capacity(rows * d);
        let mut prefixes = Vec::with_capacity(rows * i);
        let mut weights = vec![0.0f64; rows * width];
        let mut base = 0;
        for &k in idx {
            let l = &data[k].levels[i];
            for _ in 0..l.rows {
                prompts.extend_from_slice(&data[k].prompt);
            }
            prefixes.extend_from_slice(&l.prefixes);
            for &(r, c, w) in &l.weights {
                weights[(base + r as usize) * width + c as usize] = w;
            }
            base += l.rows;
        }
        if rows == 0 {
            continue;
        }
        let pt = Tensor::from_vec(prompts, (rows, d), dev).map_err(candle("training loss"))?;
        let prefix = if i > 0 {
            Some(Tensor::from_vec(prefixes, (rows, i), dev).map_err(candle("training loss"))?)
        } else {
            None
        };
        let lp = model.conditional_tensor(i, &pt, prefix.as_ref())?;
        let w = Tensor::from_vec(weights, (rows, width), dev).map_err(candle("training loss"))?;
        let term = (lp * w)
            .map_err(candle("training loss"))?
            .sum_all()
            .map_err(candle("training loss"))?;
        total = Some(match total {
            None => term,
            Some(t) => (t + term).map_err(candle("training loss"))?,
        });
    }
    total
        .ok_or_else(|| Error::Failed {
            reason: "an empty training batch".into(),
        })?
        .neg()
        .map_err(candle("training loss"))
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
                .map_err(candle("validation loss"))?;
            batch.clear();
        }
        Ok(())
    };
    for (k, pair) in data.iter().enumerate() {
        batch.push(k);
        rows += pair.rows();
        if rows > 1 << 15 {
            flush(&mut batch, &mut total)?;
            rows = 0;
        }
    }
    flush(&mut batch, &mut total)?;
    let h: f64 = data.iter().map(|p| p.entropy).sum();
    Ok((total - h) / data.len() as f64)
}

/// The resumable progress of a training run, kept in the one checkpoint format
/// (`crnkit_core::checkpoint`, job `distill`; envelope `checkpoint.json`, weights of the
/// last and of the best epoch as side files).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainState {
    epoch: usize,
    best_epoch: usize,
    best_val_kl: f64,
    train_kl: Vec<f64>,
    val_kl: Vec<f64>,
    /// Training seconds spent up to this checkpoint (over every earlier run).
    seconds: f64,
    /// Optimiser steps taken (its moments are the side file [`OPT`]); absent in
    /// checkpoints written before the optimiser state was kept.
    #[serde(default)]
    steps: Option<usize>,
}

/// Side file of the last epoch's weights.
const LAST: &str = "weights.safetensors";
/// Side file of the best epoch's weights.
const BEST: &str = "best.safetensors";
/// Side file of the optimiser's moments after the last epoch.
const OPT: &str = "optimizer.safetensors";

/// Everything that fixes a training run's result, except the number of epochs, the
/// patience and the time budget (a run may be resumed to train longer).
#[derive(Serialize)]
struct TrainSettings<'a> {
    arch: &'a super::model::Architecture,
    spec: &'a PromptSpec,
    train: String,
    val: String,
    batch_pairs: usize,
    lr: f64,
    weight_decay: f64,
    seed: u64,
}

/// The checkpoint of a run of `cfg` in `dir`.
fn checkpoint_of(
    dir: &std::path::Path,
    model: &Model,
    spec: &PromptSpec,
    data: (&TeacherData, &TeacherData),
    cfg: &TrainConfig,
) -> Result<Checkpoint> {
    let settings = TrainSettings {
        arch: model.arch(),
        spec,
        train: fingerprint(data.0)?,
        val: fingerprint(data.1)?,
        batch_pairs: cfg.batch_pairs,
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        seed: cfg.seed,
    };
    Ok(Checkpoint::new(
        dir.join("checkpoint.json"),
        "distill",
        &settings,
    )?)
}

/// Training needs epochs > 0, batch_pairs > 0 and a finite lr > 0.
fn check_config(cfg: &TrainConfig) -> Result<()> {
    let bad = |name, value: String| {
        Err(Error::InvalidSetting {
            name,
            value,
            reason: "training needs epochs > 0, batch_pairs > 0 and a finite lr > 0".into(),
        })
    };
    if cfg.epochs == 0 {
        return bad("epochs", "0".into());
    }
    if cfg.batch_pairs == 0 {
        return bad("batch_pairs", "0".into());
    }
    if !(cfg.lr > 0.0 && cfg.lr.is_finite()) {
        return bad("lr", cfg.lr.to_string());
    }
    Ok(())
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
    check_config(cfg)?;
    if train.caps != model.arch().caps || val.caps != model.arch().caps {
        return Err(Error::Data {
            reason: "the teacher data's caps differ from the model's".into(),
        });
    }
    let start = std::time::Instant::now();
    let train_pairs = pairs(train, spec)?;
    let val_pairs = pairs(val, spec)?;
    if train_pairs.is_empty() {
        return Err(Error::Data {
            reason: "no training pairs".into(),
        });
    }
    let mut report = TrainReport {
        best_val_kl: f64::INFINITY,
        ..TrainReport::default()
    };
    let mut best = model.snapshot()?;
    // Seconds spent by the runs a resumed run continues (they count toward the budget).
    let (mut checkpoint, first_epoch, prior_seconds, steps) =
        prepare_checkpoint(model, spec, (train, val), cfg, &mut report, &mut best)?;
    let params = ParamsAdamW {
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut opt = AdamW::new(model.varmap(), params)?;
    // A resumed run continues with the optimiser's moments, so it gives the weights of an
    // uninterrupted run bit for bit.
    if let (Some(cp), Some(steps)) = (&checkpoint, steps)
        && let Some(path) = cp.file(OPT)
    {
        opt.load(&path, steps)?;
    }
    let bar = cfg.progress.start(
        "distilling",
        Unit::Epochs,
        cfg.epochs as u64,
        first_epoch as u64 - 1,
    );
    let h_train: f64 =
        train_pairs.iter().map(|p| p.entropy).sum::<f64>() / train_pairs.len() as f64;
    let mut order: Vec<usize> = (0..train_pairs.len()).collect();
    for epoch in first_epoch..=cfg.epochs {
        // Cancelled (Ctrl-C in the Python package): the checkpoint holds the last epoch.
        cfg.progress.check_cancelled()?;
        if report.best_epoch > 0 && epoch - report.best_epoch > cfg.patience {
            report.stop = TrainStop::EarlyStopping;
            break;
        }
        if cfg
            .max_seconds
            .is_some_and(|m| prior_seconds + start.elapsed().as_secs_f64() > m)
        {
            report.stop = TrainStop::Budget;
            break;
        }
        let ce_sum = train_epoch(model, &mut opt, &train_pairs, &mut order, cfg, epoch)?;
        let train_kl = ce_sum / train_pairs.len() as f64 - h_train;
        let val_kl = if val_pairs.is_empty() {
            train_kl
        } else {
            mean_kl(model, &val_pairs)?
        };
        if !val_kl.is_finite() {
            return Err(Error::Failed {
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
        if let Some(cp) = &mut checkpoint {
            let seconds = prior_seconds + start.elapsed().as_secs_f64();
            save_checkpoint(cp, model, &opt, improved, &report, seconds)?;
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
    report.seconds = prior_seconds + start.elapsed().as_secs_f64();
    Ok(report)
}

/// One epoch of AdamW steps over the training pairs in the epoch's shuffle, at the cosine
/// schedule's learning rate: the summed cross-entropy of the batches.
fn train_epoch(
    model: &Model,
    opt: &mut AdamW,
    train_pairs: &[Pair],
    order: &mut [usize],
    cfg: &TrainConfig,
    epoch: usize,
) -> Result<f64> {
    let progress = (epoch - 1) as f64 / cfg.epochs as f64;
    let lr = cfg.lr * (0.02 + 0.98 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
    opt.set_learning_rate(lr);
    order.sort_unstable();
    let mut rng = crnkit_core::rng::stream(cfg.seed, epoch as u64);
    order.shuffle(&mut rng);
    let mut ce_sum = 0.0;
    for chunk in order.chunks(cfg.batch_pairs) {
        cfg.progress.check_cancelled()?;
        let loss = batch_ce(model, train_pairs, chunk)?;
        ce_sum += loss.to_scalar::<f64>().map_err(candle("training step"))?;
        let mean = (loss / chunk.len() as f64).map_err(candle("training step"))?;
        opt.backward_step(&mean)?;
    }
    Ok(ce_sum)
}

/// Create the checkpoint directory of `cfg` and, when resuming from a checkpoint there,
/// load it into `model`, `best` and `report`: the checkpoint (if any), the first epoch to run
/// and the seconds the earlier runs spent, and the optimiser steps of the run resumed.
fn prepare_checkpoint(
    model: &mut Model,
    spec: &PromptSpec,
    data: (&TeacherData, &TeacherData),
    cfg: &TrainConfig,
    report: &mut TrainReport,
    best: &mut Vec<(String, Tensor)>,
) -> Result<(Option<Checkpoint>, usize, f64, Option<usize>)> {
    let Some(dir) = &cfg.checkpoint_dir else {
        return Ok((None, 1, 0.0, None));
    };
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut cp = checkpoint_of(dir, model, spec, data, cfg)?;
    if !cfg.resume {
        cp.remove()?;
        return Ok((Some(cp), 1, 0.0, None));
    }
    let Some(state) = cp.load::<TrainState>()? else {
        return Ok((Some(cp), 1, 0.0, None));
    };
    let weights = |role: &str| {
        cp.file(role).ok_or_else(|| ModelError::InvalidSetting {
            name: "checkpoint",
            value: cp.path().display().to_string(),
            reason: "the checkpoint has no weights",
        })
    };
    model.load_weights(&weights(BEST)?)?;
    *best = model.snapshot()?;
    model.load_weights(&weights(LAST)?)?;
    report.epochs_run = state.epoch;
    report.best_epoch = state.best_epoch;
    report.best_val_kl = state.best_val_kl;
    report.train_kl = state.train_kl;
    report.val_kl = state.val_kl;
    report.resumed_from = Some(state.epoch);
    Ok((Some(cp), state.epoch + 1, state.seconds, state.steps))
}

/// Commit epoch `epoch`'s weights (and the best weights: new when `improved`, else the
/// previous checkpoint's), the optimiser's moments and progress; `seconds` gives the
/// training time so far.
fn save_checkpoint(
    cp: &mut Checkpoint,
    model: &Model,
    opt: &AdamW,
    improved: bool,
    report: &TrainReport,
    seconds: f64,
) -> Result<()> {
    model.save_weights(&cp.staged(LAST))?;
    match cp.file(BEST) {
        Some(prev) if !improved => {
            let to = cp.staged(BEST);
            std::fs::copy(&prev, &to).map_err(|source| ModelError::Io {
                path: to.display().to_string(),
                source,
            })?;
        }
        _ => model.save_weights(&cp.staged(BEST))?,
    }
    let state = TrainState {
        epoch: report.epochs_run,
        best_epoch: report.best_epoch,
        best_val_kl: report.best_val_kl,
        train_kl: report.train_kl.clone(),
        val_kl: report.val_kl.clone(),
        seconds,
        steps: Some(opt.steps()),
    };
    opt.save(&cp.staged(OPT))?;
    Ok(cp.save(&state, &[LAST, BEST, OPT])?)
}
