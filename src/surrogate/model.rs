//! The conditional autoregressive network q_φ(x | c) = Π_i q_φ(x_i | x_<i, c).
//!
//! Species i has its own MLP (two hidden layers) that takes the prompt c and the earlier
//! counts scaled by their caps, [c, x_0/cap_0, …, x_{i−1}/cap_{i−1}], and returns logits
//! over 0..=cap_i. A log-softmax (taken in f64) makes every conditional, and so the joint
//! on the box Π_i {0..=cap_i}, normalised by construction. Weights are f32 candle `Var`s
//! held in a [`VarMap`] (saved as safetensors), initialised from crnkit's own generator so
//! that a model is a pure function of its seed.

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{Linear, Module, VarMap};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::ce;
use crate::{Error, Result};

/// Largest number of states [`Model::joint`] and [`Model::marginal`] enumerate.
pub const MAX_ENUMERATED_STATES: usize = 100_000;

/// Rows per forward pass when evaluating many states.
const CHUNK_ROWS: usize = 1 << 16;

/// Hidden-layer nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// x · sigmoid(x).
    Silu,
    /// tanh(x).
    Tanh,
}

/// Shape of the network; stored in the model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Length of the prompt vector c.
    pub prompt_dim: usize,
    /// Largest count modelled per species (categories 0..=cap).
    pub caps: Vec<u32>,
    /// Width of both hidden layers.
    pub hidden: usize,
    /// Nonlinearity.
    pub activation: Activation,
}

impl Architecture {
    /// Check the sizes.
    pub fn validate(&self) -> Result<()> {
        if self.caps.is_empty() || self.hidden == 0 || self.prompt_dim == 0 {
            return Err(Error::Surrogate {
                reason: format!(
                    "invalid architecture: {} species, hidden width {}, prompt length {} (all must be > 0)",
                    self.caps.len(),
                    self.hidden,
                    self.prompt_dim
                ),
            });
        }
        Ok(())
    }

    /// Number of species.
    pub fn num_species(&self) -> usize {
        self.caps.len()
    }

    /// (name, shape) of every weight, in a fixed order.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for (i, &cap) in self.caps.iter().enumerate() {
            let dims = [
                self.prompt_dim + i,
                self.hidden,
                self.hidden,
                cap as usize + 1,
            ];
            for l in 0..3 {
                out.push((format!("s{i}.l{l}.weight"), vec![dims[l + 1], dims[l]]));
                out.push((format!("s{i}.l{l}.bias"), vec![dims[l + 1]]));
            }
        }
        out
    }

    /// Number of states on the box Π_i (cap_i + 1), saturating.
    pub fn box_size(&self) -> usize {
        self.caps
            .iter()
            .fold(1usize, |a, &c| a.saturating_mul(c as usize + 1))
    }
}

/// The autoregressive model.
pub struct Model {
    arch: Architecture,
    varmap: VarMap,
    layers: Vec<[Linear; 3]>,
    device: Device,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("arch", &self.arch).finish()
    }
}

impl Model {
    /// A model with weights drawn from `seed` (uniform in ±1/√fan_in, as PyTorch's
    /// default), on the CPU.
    pub fn new(arch: Architecture, seed: u64) -> Result<Model> {
        Model::new_on(arch, seed, Device::Cpu)
    }

    /// [`Model::new`] on a given candle device.
    pub fn new_on(arch: Architecture, seed: u64, device: Device) -> Result<Model> {
        arch.validate()?;
        let varmap = VarMap::new();
        let mut rng = crate::rng::stream(seed, 0x004d_4f44_454c);
        {
            let mut data = varmap.data().lock().map_err(|_| Error::Surrogate {
                reason: "weight map lock poisoned".into(),
            })?;
            for (name, shape) in arch.parameter_shapes() {
                let fan_in = if shape.len() == 2 {
                    shape[1]
                } else {
                    // A bias: fan-in of the layer it belongs to, stored next to it.
                    0
                };
                let fan_in = if fan_in == 0 {
                    let wname = name.replace(".bias", ".weight");
                    arch.parameter_shapes()
                        .into_iter()
                        .find(|(n, _)| *n == wname)
                        .map_or(1, |(_, s)| s[1])
                } else {
                    fan_in
                };
                let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
                let len: usize = shape.iter().product();
                let v: Vec<f32> = (0..len)
                    .map(|_| ((2.0 * rng.random::<f64>() - 1.0) * bound) as f32)
                    .collect();
                let t = Tensor::from_vec(v, shape.as_slice(), &device).map_err(ce)?;
                data.insert(name, Var::from_tensor(&t).map_err(ce)?);
            }
        }
        Model::assemble(arch, varmap, device)
    }

    fn assemble(arch: Architecture, varmap: VarMap, device: Device) -> Result<Model> {
        let layers = {
            let data = varmap.data().lock().map_err(|_| Error::Surrogate {
                reason: "weight map lock poisoned".into(),
            })?;
            let get = |name: String| -> Result<Tensor> {
                data.get(&name)
                    .map(|v| v.as_tensor().clone())
                    .ok_or_else(|| Error::Surrogate {
                        reason: format!("missing weight `{name}`"),
                    })
            };
            let mut layers = Vec::with_capacity(arch.num_species());
            for i in 0..arch.num_species() {
                let mk = |l: usize| -> Result<Linear> {
                    Ok(Linear::new(
                        get(format!("s{i}.l{l}.weight"))?,
                        Some(get(format!("s{i}.l{l}.bias"))?),
                    ))
                };
                layers.push([mk(0)?, mk(1)?, mk(2)?]);
            }
            layers
        };
        Ok(Model {
            arch,
            varmap,
            layers,
            device,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> &Architecture {
        &self.arch
    }

    /// The weights.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The candle device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Write the weights as safetensors to `path` (written to a temporary file next to it
    /// and renamed into place).
    pub fn save_weights(&self, path: &std::path::Path) -> Result<()> {
        let tmp = tmp_path(path);
        self.varmap.save(&tmp).map_err(|e| Error::Surrogate {
            reason: format!("cannot write {}: {e}", tmp.display()),
        })?;
        std::fs::rename(&tmp, path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Replace the weights by those in the safetensors file `path`; every weight must be
    /// there with the right shape and type.
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let loaded = candle_core::safetensors::load_buffer(&bytes, &self.device).map_err(|e| {
            Error::Surrogate {
                reason: format!("{}: not a valid safetensors file: {e}", path.display()),
            }
        })?;
        let data = self.varmap.data().lock().map_err(|_| Error::Surrogate {
            reason: "weight map lock poisoned".into(),
        })?;
        if loaded.len() != data.len() {
            return Err(Error::Surrogate {
                reason: format!(
                    "{}: {} tensors, the architecture has {}",
                    path.display(),
                    loaded.len(),
                    data.len()
                ),
            });
        }
        for (name, var) in data.iter() {
            let t = loaded.get(name).ok_or_else(|| Error::Surrogate {
                reason: format!("{}: weight `{name}` is missing", path.display()),
            })?;
            if t.dims() != var.dims() || t.dtype() != var.dtype() {
                return Err(Error::Surrogate {
                    reason: format!(
                        "{}: weight `{name}` is {:?} {:?}, expected {:?} {:?}",
                        path.display(),
                        t.dtype(),
                        t.dims(),
                        var.dtype(),
                        var.dims()
                    ),
                });
            }
            let finite = t
                .flatten_all()
                .and_then(|f| f.to_dtype(DType::F64))
                .and_then(|f| f.to_vec1::<f64>())
                .map_err(ce)?
                .iter()
                .all(|v| v.is_finite());
            if !finite {
                return Err(Error::Surrogate {
                    reason: format!("{}: weight `{name}` is not finite", path.display()),
                });
            }
            var.set(t).map_err(ce)?;
        }
        Ok(())
    }

    /// A copy of every weight (for keeping the best epoch).
    pub(crate) fn snapshot(&self) -> Result<Vec<(String, Tensor)>> {
        let data = self.varmap.data().lock().map_err(|_| Error::Surrogate {
            reason: "weight map lock poisoned".into(),
        })?;
        data.iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy().map_err(ce)?)))
            .collect()
    }

    /// Restore weights from [`Model::snapshot`].
    pub(crate) fn restore(&mut self, snap: &[(String, Tensor)]) -> Result<()> {
        let data = self.varmap.data().lock().map_err(|_| Error::Surrogate {
            reason: "weight map lock poisoned".into(),
        })?;
        for (k, t) in snap {
            if let Some(v) = data.get(k) {
                v.set(t).map_err(ce)?;
            }
        }
        Ok(())
    }

    /// Log-probabilities (f64, [B, cap_i + 1]) of species i given prompts [B, d] and the
    /// scaled earlier counts [B, i] (f32).
    pub(crate) fn conditional_tensor(
        &self,
        i: usize,
        prompts: &Tensor,
        prefix: Option<&Tensor>,
    ) -> Result<Tensor> {
        let input = match prefix {
            Some(p) if i > 0 => Tensor::cat(&[prompts, p], 1).map_err(ce)?,
            _ => prompts.clone(),
        };
        let act = |t: Tensor| -> Result<Tensor> {
            match self.arch.activation {
                Activation::Silu => candle_nn::ops::silu(&t).map_err(ce),
                Activation::Tanh => t.tanh().map_err(ce),
            }
        };
        let [l0, l1, l2] = &self.layers[i];
        let h = act(l0.forward(&input).map_err(ce)?)?;
        let h = act(l1.forward(&h).map_err(ce)?)?;
        let logits = l2
            .forward(&h)
            .map_err(ce)?
            .to_dtype(DType::F64)
            .map_err(ce)?;
        candle_nn::ops::log_softmax(&logits, D::Minus1).map_err(ce)
    }

    /// ln q(x | c) as a tensor [B] (f64) for B states (flat, B × num_species, each within
    /// the caps) and B prompts (flat, B × prompt_dim); differentiable.
    pub(crate) fn log_prob_tensor(&self, states: &[u32], prompts: &[f32]) -> Result<Tensor> {
        let ns = self.arch.num_species();
        let d = self.arch.prompt_dim;
        let b = states.len() / ns;
        let pt = Tensor::from_slice(prompts, (b, d), &self.device).map_err(ce)?;
        let scaled: Vec<f32> = states
            .chunks_exact(ns)
            .flat_map(|s| {
                s.iter()
                    .zip(&self.arch.caps)
                    .map(|(&x, &c)| if c == 0 { 0.0 } else { x as f32 / c as f32 })
            })
            .collect();
        let xt = Tensor::from_vec(scaled, (b, ns), &self.device).map_err(ce)?;
        let idx = Tensor::from_slice(states, (b, ns), &self.device).map_err(ce)?;
        let mut total: Option<Tensor> = None;
        for i in 0..ns {
            let prefix = if i > 0 {
                Some(xt.narrow(1, 0, i).map_err(ce)?)
            } else {
                None
            };
            let lp = self.conditional_tensor(i, &pt, prefix.as_ref())?;
            let col = idx.narrow(1, i, 1).map_err(ce)?.contiguous().map_err(ce)?;
            let g = lp.gather(&col, 1).map_err(ce)?.squeeze(1).map_err(ce)?;
            total = Some(match total {
                None => g,
                Some(t) => (t + g).map_err(ce)?,
            });
        }
        total.ok_or_else(|| Error::Surrogate {
            reason: "no species".into(),
        })
    }

    /// Species `i` exists in the model; returns the number of species.
    fn check_species(&self, i: usize) -> Result<usize> {
        let ns = self.arch.num_species();
        if i >= ns {
            return Err(Error::IndexOutOfRange {
                kind: "species",
                index: i,
                len: ns,
            });
        }
        Ok(ns)
    }

    fn check_prompt(&self, prompt: &[f64]) -> Result<()> {
        if prompt.len() != self.arch.prompt_dim || prompt.iter().any(|v| !v.is_finite()) {
            return Err(Error::Surrogate {
                reason: format!(
                    "a prompt needs {} finite values, found {}",
                    self.arch.prompt_dim,
                    prompt.len()
                ),
            });
        }
        Ok(())
    }

    /// ln q(x | c) for B states (flat, B × num_species) and B prompts (flat, B ×
    /// prompt_dim). States beyond a cap get −∞.
    pub fn log_prob(&self, states: &[u32], prompts: &[f64]) -> Result<Vec<f64>> {
        let ns = self.arch.num_species();
        let d = self.arch.prompt_dim;
        if !states.len().is_multiple_of(ns) || prompts.len() != states.len() / ns * d {
            return Err(Error::Surrogate {
                reason: format!(
                    "log_prob needs B × {ns} counts and B × {d} prompt values, found {} and {}",
                    states.len(),
                    prompts.len()
                ),
            });
        }
        for p in prompts.chunks_exact(d) {
            self.check_prompt(p)?;
        }
        let b = states.len() / ns;
        let mut out = Vec::with_capacity(b);
        for start in (0..b).step_by(CHUNK_ROWS) {
            let end = (start + CHUNK_ROWS).min(b);
            let mut st = states[start * ns..end * ns].to_vec();
            let mut outside = vec![false; end - start];
            for (r, s) in st.chunks_exact_mut(ns).enumerate() {
                for (x, &c) in s.iter_mut().zip(&self.arch.caps) {
                    if *x > c {
                        outside[r] = true;
                        *x = 0;
                    }
                }
            }
            let pr: Vec<f32> = prompts[start * d..end * d]
                .iter()
                .map(|&v| v as f32)
                .collect();
            let lp = self
                .log_prob_tensor(&st, &pr)?
                .to_vec1::<f64>()
                .map_err(ce)?;
            out.extend(
                lp.into_iter()
                    .zip(outside)
                    .map(|(v, o)| if o { f64::NEG_INFINITY } else { v }),
            );
        }
        Ok(out)
    }

    /// q(x_i = · | x_<i, c) for K prefixes (flat, K × i) under one prompt: K rows of
    /// cap_i + 1 probabilities.
    pub fn conditional(&self, i: usize, prefixes: &[u32], prompt: &[f64]) -> Result<Vec<Vec<f64>>> {
        self.check_prompt(prompt)?;
        self.check_species(i)?;
        let k = prefixes.len().checked_div(i).unwrap_or(1);
        if i > 0 && prefixes.len() != k * i {
            return Err(Error::Surrogate {
                reason: format!("prefixes must be K × {i} counts, found {}", prefixes.len()),
            });
        }
        let d = self.arch.prompt_dim;
        let pr: Vec<f32> = prompt.iter().map(|&v| v as f32).collect();
        let mut out = Vec::with_capacity(k);
        for start in (0..k).step_by(CHUNK_ROWS) {
            let end = (start + CHUNK_ROWS).min(k);
            let rows = end - start;
            let prompts: Vec<f32> = (0..rows).flat_map(|_| pr.iter().copied()).collect();
            let pt = Tensor::from_vec(prompts, (rows, d), &self.device).map_err(ce)?;
            let prefix = if i > 0 {
                let scaled: Vec<f32> = prefixes[start * i..end * i]
                    .chunks_exact(i)
                    .flat_map(|s| {
                        s.iter().zip(&self.arch.caps).map(|(&x, &c)| {
                            if c == 0 {
                                0.0
                            } else {
                                x.min(c) as f32 / c as f32
                            }
                        })
                    })
                    .collect();
                Some(Tensor::from_vec(scaled, (rows, i), &self.device).map_err(ce)?)
            } else {
                None
            };
            let lp = self
                .conditional_tensor(i, &pt, prefix.as_ref())?
                .exp()
                .map_err(ce)?
                .to_vec2::<f64>()
                .map_err(ce)?;
            out.extend(lp);
        }
        Ok(out)
    }

    /// Every state of the first `upto` species (flat) with its probability, enumerated
    /// species by species.
    fn prefix_joint(&self, upto: usize, prompt: &[f64]) -> Result<(Vec<u32>, Vec<f64>)> {
        let size = self.arch.caps[..upto]
            .iter()
            .fold(1usize, |a, &c| a.saturating_mul(c as usize + 1));
        if size > MAX_ENUMERATED_STATES {
            return Err(Error::Surrogate {
                reason: format!(
                    "enumerating {size} states exceeds the limit of {MAX_ENUMERATED_STATES}; sample instead"
                ),
            });
        }
        let mut states: Vec<u32> = Vec::new();
        let mut probs = vec![1.0f64];
        for i in 0..upto {
            let cond = self.conditional(i, &states, prompt)?;
            let mut ns =
                Vec::with_capacity(probs.len() * cond.first().map_or(0, Vec::len) * (i + 1));
            let mut np = Vec::new();
            for (k, row) in cond.iter().enumerate() {
                for (x, &q) in row.iter().enumerate() {
                    ns.extend_from_slice(&states[k * i..(k + 1) * i]);
                    ns.push(x as u32);
                    np.push(probs[k] * q);
                }
            }
            states = ns;
            probs = np;
        }
        Ok((states, probs))
    }

    /// The joint q(x | c) on the whole box (states flat, in lexicographic order, with
    /// their probabilities); at most [`MAX_ENUMERATED_STATES`] states.
    pub fn joint(&self, prompt: &[f64]) -> Result<(Vec<u32>, Vec<f64>)> {
        self.check_prompt(prompt)?;
        self.prefix_joint(self.arch.num_species(), prompt)
    }

    /// The marginal q(x_i = · | c): an exact sum over the earlier species, which must span
    /// at most [`MAX_ENUMERATED_STATES`] states.
    pub fn marginal(&self, i: usize, prompt: &[f64]) -> Result<Vec<f64>> {
        self.check_prompt(prompt)?;
        self.check_species(i)?;
        let (states, probs) = self.prefix_joint(i, prompt)?;
        let cond = self.conditional(i, &states, prompt)?;
        let mut m = vec![0.0; self.arch.caps[i] as usize + 1];
        for (row, &p) in cond.iter().zip(&probs) {
            for (mx, &q) in m.iter_mut().zip(row) {
                *mx += p * q;
            }
        }
        Ok(m)
    }

    /// `n` exact ancestral samples (flat, n × num_species) from q(· | c), drawn from
    /// crnkit's generator seeded with `seed`.
    pub fn sample(&self, n: usize, prompt: &[f64], seed: u64) -> Result<Vec<u32>> {
        self.check_prompt(prompt)?;
        let ns = self.arch.num_species();
        let mut rng = crate::rng::stream(seed, 0x5341_4d50);
        let mut out = vec![0u32; n * ns];
        let mut prefix: Vec<u32> = Vec::new();
        for i in 0..ns {
            let cond = if i == 0 {
                let row = self.conditional(0, &[], prompt)?.remove(0);
                vec![row; n]
            } else {
                self.conditional(i, &prefix, prompt)?
            };
            let mut next = Vec::with_capacity(n * (i + 1));
            for (k, row) in cond.iter().enumerate() {
                let u = rng.random::<f64>() * row.iter().sum::<f64>();
                let mut acc = 0.0;
                let mut x = row.len() - 1;
                for (j, &q) in row.iter().enumerate() {
                    acc += q;
                    if u < acc {
                        x = j;
                        break;
                    }
                }
                out[k * ns + i] = x as u32;
                next.extend_from_slice(&out[k * ns..k * ns + i + 1]);
            }
            prefix = next;
        }
        Ok(out)
    }
}

/// `path` with `.tmp` appended to its file name.
pub(crate) fn tmp_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}
