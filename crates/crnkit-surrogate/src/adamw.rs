//! AdamW whose state can be saved and restored, so that a resumed distillation continues
//! bit for bit.
//!
//! candle's `AdamW` keeps its moments and step count private; this is the same update
//! (Loshchilov & Hutter 2019, decoupled weight decay), written with the same tensor
//! operations in the same order, so a run gives exactly the weights candle's optimizer
//! gave, and [`AdamW::save`] / [`AdamW::load`] carry the first and second moments and the
//! step count across a checkpoint.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Tensor, Var};
use candle_nn::{ParamsAdamW, VarMap};

use crate::error::{Error, Result, candle};

/// One weight with its moments.
struct Slot {
    name: String,
    var: Var,
    m: Var,
    v: Var,
}

/// AdamW over the float weights of a [`VarMap`], in name order.
pub(crate) struct AdamW {
    slots: Vec<Slot>,
    params: ParamsAdamW,
    step_t: usize,
}

impl AdamW {
    /// An optimiser for every float weight of `varmap`, moments zero.
    pub(crate) fn new(varmap: &VarMap, params: ParamsAdamW) -> Result<AdamW> {
        let data = varmap.data().lock().map_err(|_| Error::Failed {
            reason: "the weight map's lock is poisoned".into(),
        })?;
        let mut named: Vec<(&String, &Var)> = data.iter().collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        let mut slots = Vec::new();
        for (name, var) in named {
            if !var.dtype().is_float() {
                continue;
            }
            let zeros = || Var::zeros(var.shape(), var.dtype(), var.device());
            slots.push(Slot {
                name: name.clone(),
                var: var.clone(),
                m: zeros().map_err(candle("optimizer"))?,
                v: zeros().map_err(candle("optimizer"))?,
            });
        }
        Ok(AdamW {
            slots,
            params,
            step_t: 0,
        })
    }

    /// Set the learning rate of the next steps.
    pub(crate) fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }

    /// Steps taken.
    pub(crate) fn steps(&self) -> usize {
        self.step_t
    }

    /// Back-propagate `loss` and take one step.
    pub(crate) fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward().map_err(candle("training step"))?;
        self.step_t += 1;
        let p = &self.params;
        let lr_lambda = p.lr * p.weight_decay;
        let scale_m = 1f64 / (1f64 - p.beta1.powi(self.step_t as i32));
        let scale_v = 1f64 / (1f64 - p.beta2.powi(self.step_t as i32));
        let step = |s: &Slot, g: &Tensor| -> candle_core::Result<()> {
            let next_m = ((s.m.as_tensor() * p.beta1)? + (g * (1.0 - p.beta1))?)?;
            let next_v = ((s.v.as_tensor() * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let next_theta = (s.var.as_tensor() * (1f64 - lr_lambda))?;
            let adjusted = (m_hat / (v_hat.sqrt()? + p.eps)?)?;
            let next_theta = (next_theta - (adjusted * p.lr)?)?;
            s.m.set(&next_m)?;
            s.v.set(&next_v)?;
            s.var.set(&next_theta)
        };
        for s in &self.slots {
            if let Some(g) = grads.get(&s.var) {
                step(s, g).map_err(candle("training step"))?;
            }
        }
        Ok(())
    }

    /// Write the moments to the safetensors file `path` (`m.NAME`, `v.NAME`).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for s in &self.slots {
            map.insert(format!("m.{}", s.name), s.m.as_tensor().clone());
            map.insert(format!("v.{}", s.name), s.v.as_tensor().clone());
        }
        let tmp = crnkit_core::fs::temp_path(path);
        candle_core::safetensors::save(&map, &tmp).map_err(|e| Error::Weights {
            path: tmp.display().to_string(),
            reason: format!("cannot write the optimiser state: {e}"),
            source: Some(e),
        })?;
        Ok(crnkit_core::fs::commit_atomic(&tmp, path)?)
    }

    /// Restore the moments from `path` (written by [`AdamW::save`]) and the step count;
    /// every moment must be there with its weight's shape and type.
    pub(crate) fn load(&mut self, path: &Path, steps: usize) -> Result<()> {
        let bad = |reason: String| Error::Weights {
            path: path.display().to_string(),
            reason,
            source: None,
        };
        let device = match self.slots.first() {
            Some(s) => s.var.device().clone(),
            None => candle_core::Device::Cpu,
        };
        let map = candle_core::safetensors::load(path, &device).map_err(|e| Error::Weights {
            path: path.display().to_string(),
            reason: format!("cannot read the optimiser state: {e}"),
            source: Some(e),
        })?;
        if map.len() != 2 * self.slots.len() {
            return Err(bad(format!(
                "{} tensors where the optimiser has {}",
                map.len(),
                2 * self.slots.len()
            )));
        }
        for s in &self.slots {
            for (kind, var) in [("m", &s.m), ("v", &s.v)] {
                let key = format!("{kind}.{}", s.name);
                let t = map
                    .get(&key)
                    .ok_or_else(|| bad(format!("no tensor {key}")))?;
                if t.shape() != var.shape() || t.dtype() != var.dtype() {
                    return Err(bad(format!(
                        "{key} has shape {:?} ({:?}), the weight {:?} ({:?})",
                        t.dims(),
                        t.dtype(),
                        var.dims(),
                        var.dtype()
                    )));
                }
                var.set(t).map_err(candle("optimizer state"))?;
            }
        }
        self.step_t = steps;
        Ok(())
    }
}
