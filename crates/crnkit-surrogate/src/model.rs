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

use crate::error::{Error, Result, candle};
use crnkit_core::Error as ModelError;

/// Largest number of states [`Model::joint`] and [`Model::marginal`] enumerate.
pub const MAX_ENUMERATED_STATES: usize = 100_000;

/// Rows per forward pass when evaluating many states.
const CHUNK_ROWS: usize = 1 << 16;

/// Most distinct rows evaluated by the direct forward pass (more go through candle's gemm).
const SMALL_ROWS: usize = 32;

/// Hidden-layer nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// x · sigmoid(x).
    Silu,
    /// tanh(x).
    Tanh,
}

/// The most weights an [`Architecture`] may have (4 bytes each: 400 MB); a larger one, from a
/// card or a configuration, is refused before anything is allocated.
pub const MAX_WEIGHTS: u64 = 100_000_000;

/// The most memory one call of [`Model::sample`] may use (bytes).
pub const MAX_SAMPLE_BYTES: u64 = 1 << 30;

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
            return Err(Error::InvalidModel {
                reason: format!(
                    "invalid architecture: {} species, hidden width {}, prompt length {} (all must be > 0)",
                    self.caps.len(),
                    self.hidden,
                    self.prompt_dim
                ),
            });
        }
        let weights = self.weight_count();
        if weights > MAX_WEIGHTS as u128 {
            return Err(Error::InvalidModel {
                reason: format!(
                    "the architecture has {weights} weights ({:.1} GB), more than the limit of \
                     {MAX_WEIGHTS}: lower the hidden width ({}) or the caps ({:?})",
                    weights as f64 * 4.0 / 1e9,
                    self.hidden,
                    self.caps
                ),
            });
        }
        Ok(())
    }

    /// The number of weights, counted without overflow and without building them.
    pub fn weight_count(&self) -> u128 {
        let h = self.hidden as u128;
        (0..self.caps.len())
            .map(|i| {
                let (inp, out) = ((self.prompt_dim + i) as u128, u128::from(self.caps[i]) + 1);
                inp * h + h + h * h + h + h * out + out
            })
            .sum()
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
        let mut rng = crnkit_core::rng::stream(seed, 0x004d_4f44_454c);
        {
            let mut data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
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
                let t = Tensor::from_vec(v, shape.as_slice(), &device)
                    .map_err(candle("initial weights"))?;
                data.insert(
                    name,
                    Var::from_tensor(&t).map_err(candle("initial weights"))?,
                );
            }
        }
        Model::assemble(arch, varmap, device)
    }

    fn assemble(arch: Architecture, varmap: VarMap, device: Device) -> Result<Model> {
        let layers = {
            let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
            let get = |name: String| -> Result<Tensor> {
                data.get(&name)
                    .map(|v| v.as_tensor().clone())
                    .ok_or_else(|| Error::MissingWeight { name: name.clone() })
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
        let tmp = crnkit_core::fs::temp_path(path);
        self.varmap.save(&tmp).map_err(|e| Error::Weights {
            path: tmp.display().to_string(),
            reason: format!("cannot write: {e}"),
            source: Some(e),
        })?;
        Ok(crnkit_core::fs::commit_atomic(&tmp, path)?)
    }

    /// Replace the weights by those in the safetensors file `path`; every weight must be
    /// there with the right shape and type.
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.load_weights_bytes(&bytes, &path.display().to_string())
    }

    /// Replace the weights by those in safetensors `bytes` (read from `origin`, named in
    /// errors); every weight must be there with the right shape and type.
    pub fn load_weights_bytes(&mut self, bytes: &[u8], origin: &str) -> Result<()> {
        let weights = |reason: String| Error::Weights {
            path: origin.to_string(),
            reason,
            source: None,
        };
        let loaded = candle_core::safetensors::load_buffer(bytes, &self.device).map_err(|e| {
            Error::Weights {
                path: origin.to_string(),
                reason: format!("not a valid safetensors file: {e}"),
                source: Some(e),
            }
        })?;
        let data = self.varmap.data().lock().map_err(|_| Error::Poisoned)?;
        if loaded.len() != data.len() {
            return Err(weights(format!(
                "{} tensors, the architecture has {}",
                loaded.len(),
                data.len()
            )));
        }
        for (name, var) in data.iter() {
            let t = loaded
                .get(name)
                .ok_or_else(|| weights(format!("weight `{name}` is missing")))?;
            if t.dims() != var.dims() || t.dtype() != var.dtype() {
                return Err(weights(format!(
                    "weight `{name}` is {:?} {:?}, expected {:?} {:?}",
                    t.dtype(),
                    t.dims(),
                    var.dtype(),
                    var.dims()
                )));
            }
            let finite = t
                .flatten_all()
                .and_then(|f| f.to_dtype(DType::F64))
                .and_then(|f| f.to_vec1::<f64>())
                .map_err(candle("loading weights"))?
                .iter()
                .all(|v| v.is_finite());
            if !finite {
                return Err(weights(format!("weight `{name}` is not finite")));
            }
            var.set(t).map_err(candle("loading weights"))?;
        }
        Ok(())
    }

    /// A copy of every weight (for keeping the best epoch).
    pub(crate) fn snapshot(&self) -> Result<Vec<(String, Tensor)>> {
        let data = self.varmap.data().lock().map_err(|_| Error::Poisoned)?;
        data.iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    v.as_tensor().copy().map_err(candle("copying weights"))?,
                ))
            })
            .collect()
    }

    /// Restore weights from [`Model::snapshot`].
    pub(crate) fn restore(&mut self, snap: &[(String, Tensor)]) -> Result<()> {
        let data = self.varmap.data().lock().map_err(|_| Error::Poisoned)?;
        for (k, t) in snap {
            if let Some(v) = data.get(k) {
                v.set(t).map_err(candle("restoring weights"))?;
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
            Some(p) if i > 0 => {
                Tensor::cat(&[prompts, p], 1).map_err(candle("conditional probabilities"))?
            }
            _ => prompts.clone(),
        };
        let act = |t: Tensor| -> Result<Tensor> {
            match self.arch.activation {
                Activation::Silu => {
                    candle_nn::ops::silu(&t).map_err(candle("conditional probabilities"))
                }
                Activation::Tanh => t.tanh().map_err(candle("conditional probabilities")),
            }
        };
        let [l0, l1, l2] = &self.layers[i];
        let h = act(l0
            .forward(&input)
            .map_err(candle("conditional probabilities"))?)?;
        let h = act(l1
            .forward(&h)
            .map_err(candle("conditional probabilities"))?)?;
        let logits = l2
            .forward(&h)
            .map_err(candle("conditional probabilities"))?
            .to_dtype(DType::F64)
            .map_err(candle("conditional probabilities"))?;
        candle_nn::ops::log_softmax(&logits, D::Minus1).map_err(candle("conditional probabilities"))
    }

    /// ln q(x | c) as a tensor [B] (f64) for B states (flat, B × num_species, each within
    /// the caps) and B prompts (flat, B × prompt_dim); differentiable.
    pub(crate) fn log_prob_tensor(&self, states: &[u32], prompts: &[f32]) -> Result<Tensor> {
        let b = states.len() / self.arch.num_species();
        let pt = Tensor::from_slice(prompts, (b, self.arch.prompt_dim), &self.device)
            .map_err(candle("log-probabilities"))?;
        self.log_prob_with_prompt_tensor(states, &pt)
    }

    /// [`Model::log_prob_tensor`] with the prompts given as an f32 tensor [B, prompt_dim]
    /// on the model's device, so that gradients flow into them (parameter inference).
    pub(crate) fn log_prob_with_prompt_tensor(
        &self,
        states: &[u32],
        pt: &Tensor,
    ) -> Result<Tensor> {
        let ns = self.arch.num_species();
        let b = states.len() / ns;
        if pt.dims() != [b, self.arch.prompt_dim] {
            return Err(Error::Shape {
                what: "prompt tensor".into(),
                expected: format!("[{b}, {}]", self.arch.prompt_dim),
                found: format!("{:?}", pt.dims()),
            });
        }
        let pt = pt
            .to_dtype(DType::F32)
            .map_err(candle("log-probabilities"))?;
        let scaled: Vec<f32> = states
            .chunks_exact(ns)
            .flat_map(|s| {
                s.iter()
                    .zip(&self.arch.caps)
                    .map(|(&x, &c)| if c == 0 { 0.0 } else { x as f32 / c as f32 })
            })
            .collect();
        let xt =
            Tensor::from_vec(scaled, (b, ns), &self.device).map_err(candle("log-probabilities"))?;
        let idx = Tensor::from_slice(states, (b, ns), &self.device)
            .map_err(candle("log-probabilities"))?;
        let mut total: Option<Tensor> = None;
        for i in 0..ns {
            let prefix = if i > 0 {
                Some(xt.narrow(1, 0, i).map_err(candle("log-probabilities"))?)
            } else {
                None
            };
            let lp = self.conditional_tensor(i, &pt, prefix.as_ref())?;
            let col = idx
                .narrow(1, i, 1)
                .map_err(candle("log-probabilities"))?
                .contiguous()
                .map_err(candle("log-probabilities"))?;
            let g = lp
                .gather(&col, 1)
                .map_err(candle("log-probabilities"))?
                .squeeze(1)
                .map_err(candle("log-probabilities"))?;
            total = Some(match total {
                None => g,
                Some(t) => (t + g).map_err(candle("log-probabilities"))?,
            });
        }
        total.ok_or_else(|| Error::InvalidModel {
            reason: "no species".into(),
        })
    }

    /// Species `i` exists in the model; returns the number of species.
    fn check_species(&self, i: usize) -> Result<usize> {
        let ns = self.arch.num_species();
        if i >= ns {
            return Err(ModelError::IndexOutOfRange {
                kind: "species",
                index: i,
                len: ns,
            }
            .into());
        }
        Ok(ns)
    }

    fn check_prompt(&self, prompt: &[f64]) -> Result<()> {
        if prompt.len() != self.arch.prompt_dim || prompt.iter().any(|v| !v.is_finite()) {
            return Err(Error::Shape {
                what: "prompt".into(),
                expected: format!("{} finite values", self.arch.prompt_dim),
                found: if prompt.iter().all(|v| v.is_finite()) {
                    prompt.len().to_string()
                } else {
                    format!("{} values, not all finite", prompt.len())
                },
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
            return Err(Error::Shape {
                what: "log_prob".into(),
                expected: format!("B × {ns} counts and B × {d} prompt values"),
                found: format!("{} and {}", states.len(), prompts.len()),
            });
        }
        for p in prompts.chunks_exact(d) {
            self.check_prompt(p)?;
        }
        let b = states.len() / ns;
        // States beyond a cap are evaluated at 0 (any in-range value would do) and get −∞.
        let mut st = states.to_vec();
        let mut outside = vec![false; b];
        for (r, s) in st.chunks_exact_mut(ns).enumerate() {
            for (x, &c) in s.iter_mut().zip(&self.arch.caps) {
                if *x > c {
                    outside[r] = true;
                    *x = 0;
                }
            }
        }
        let (pid, distinct) = distinct_prompts(prompts, d);
        let mut out = vec![0.0f64; b];
        if distinct.len() / d == b && b > SMALL_ROWS {
            // Every row has its own prompt: nothing to share, one graph per chunk.
            for start in (0..b).step_by(CHUNK_ROWS) {
                let end = (start + CHUNK_ROWS).min(b);
                let pr: Vec<f32> = prompts[start * d..end * d]
                    .iter()
                    .map(|&v| v as f32)
                    .collect();
                let lp = self
                    .log_prob_tensor(&st[start * ns..end * ns], &pr)?
                    .to_vec1::<f64>()
                    .map_err(candle("log-probabilities"))?;
                out[start..end].copy_from_slice(&lp);
            }
        } else {
            // Each distinct (prompt, x_<i) is evaluated once per species.
            for i in 0..ns {
                let w = self.arch.caps[i] as usize + 1;
                let (row_of, lp) = self.conditional_unique(i, &distinct, &pid, &st, ns)?;
                for (r, o) in out.iter_mut().enumerate() {
                    *o += lp[row_of[r] * w + st[r * ns + i] as usize];
                }
            }
        }
        for (o, &x) in out.iter_mut().zip(&outside) {
            if x {
                *o = f64::NEG_INFINITY;
            }
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
            return Err(Error::Shape {
                what: "prefixes".into(),
                expected: format!("K × {i} counts"),
                found: prefixes.len().to_string(),
            });
        }
        // Each distinct prefix is evaluated once; rows are copies of its probabilities.
        let pid = vec![0usize; k];
        let (row_of, lp) = self.conditional_unique(i, prompt, &pid, prefixes, i)?;
        let w = self.arch.caps[i] as usize + 1;
        let probs: Vec<f64> = lp.iter().map(|l| l.exp()).collect();
        Ok(row_of
            .iter()
            .map(|&u| probs[u * w..(u + 1) * w].to_vec())
            .collect())
    }

    /// Every state of the first `upto` species (flat) with its probability, enumerated
    /// species by species.
    fn prefix_joint(&self, upto: usize, prompt: &[f64]) -> Result<(Vec<u32>, Vec<f64>)> {
        let size = self.arch.caps[..upto]
            .iter()
            .fold(1usize, |a, &c| a.saturating_mul(c as usize + 1));
        if size > MAX_ENUMERATED_STATES {
            return Err(Error::TooManyStates {
                size,
                limit: MAX_ENUMERATED_STATES,
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
        // One row of conditional probabilities per sample and species is held at once.
        let widest = self
            .arch
            .caps
            .iter()
            .map(|&c| c as u128 + 1)
            .max()
            .unwrap_or(1);
        let bytes = (n as u128) * (widest * 8 + ns as u128 * 8);
        if bytes > u128::from(MAX_SAMPLE_BYTES) {
            return Err(Error::InvalidSetting {
                name: "samples",
                value: n.to_string(),
                reason: format!(
                    "{n} samples need {:.1} GB at once, more than the 1 GiB limit: draw them \
                     in batches with different seeds",
                    bytes as f64 / 1e9
                ),
            });
        }
        let mut rng = crnkit_core::rng::stream(seed, 0x5341_4d50);
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

impl Model {
    /// One exact ancestral sample per prompt row, with its log-probability.
    ///
    /// For B prompts c_1, …, c_B (flat, B × prompt_dim) draws x_b ~ q(· | c_b) species by
    /// species, x_{b,i} ~ q(x_i | x_{b,<i}, c_b) by inversion of the conditional's CDF,
    /// with one batched forward pass per species for all rows (each distinct
    /// (c_b, x_{b,<i}) evaluated once), and returns the states (flat, B × num_species) and
    /// ln q(x_b | c_b) = Σ_i ln q(x_{b,i} | x_{b,<i}, c_b), read off the same log-softmax.
    /// The uniforms come from crnkit's generator [`crnkit_core::rng::stream`]`(seed, stream)`,
    /// one per row and species, species by species and row by row, so the result is a
    /// pure function of (weights, prompts, seed, stream). This is the batched form of
    /// [`Model::sample`] where every row has its own prompt, as chained trajectories need
    /// (Liu & Wang, PNAS 121:e2317422121, 2024).
    pub fn sample_rows(
        &self,
        prompts: &[f64],
        seed: u64,
        stream: u64,
    ) -> Result<(Vec<u32>, Vec<f64>)> {
        let d = self.arch.prompt_dim;
        let ns = self.arch.num_species();
        if !prompts.len().is_multiple_of(d) {
            return Err(Error::Shape {
                what: "sample_rows".into(),
                expected: format!("B × {d} prompt values"),
                found: prompts.len().to_string(),
            });
        }
        for p in prompts.chunks_exact(d) {
            self.check_prompt(p)?;
        }
        let b = prompts.len() / d;
        let (pid, distinct) = distinct_prompts(prompts, d);
        let mut rng = crnkit_core::rng::stream(seed, stream);
        let mut out = vec![0u32; b * ns];
        let mut logp = vec![0.0f64; b];
        for i in 0..ns {
            let w = self.arch.caps[i] as usize + 1;
            let (row_of, lp) = self.conditional_unique(i, &distinct, &pid, &out, ns)?;
            let probs: Vec<f64> = lp.iter().map(|l| l.exp()).collect();
            let totals: Vec<f64> = probs.chunks_exact(w).map(|r| r.iter().sum()).collect();
            for (r, &u_row) in row_of.iter().enumerate() {
                let row = &probs[u_row * w..(u_row + 1) * w];
                let u = rng.random::<f64>() * totals[u_row];
                let mut acc = 0.0;
                let mut x = w - 1;
                for (j, &q) in row.iter().enumerate() {
                    acc += q;
                    if u < acc {
                        x = j;
                        break;
                    }
                }
                out[r * ns + i] = x as u32;
                logp[r] += lp[u_row * w + x];
            }
        }
        Ok((out, logp))
    }

    /// ln q(x_i = · | x_<i, c) for the distinct (prompt, prefix) pairs among the rows:
    /// row r has prompt `prompts[pid[r]]` (flat, distinct prompts × prompt_dim) and prefix
    /// `prefixes[r · stride..r · stride + i]` (counts, clipped to the caps). Returns the
    /// distinct-pair index of every row and the log-probabilities of the distinct pairs
    /// (flat, pairs × (cap_i + 1)).
    fn conditional_unique(
        &self,
        i: usize,
        prompts: &[f64],
        pid: &[usize],
        prefixes: &[u32],
        stride: usize,
    ) -> Result<(Vec<usize>, Vec<f64>)> {
        let d = self.arch.prompt_dim;
        let mut index: std::collections::HashMap<(usize, &[u32]), usize> = Default::default();
        let mut row_of = Vec::with_capacity(pid.len());
        let mut firsts: Vec<usize> = Vec::new();
        let mut last: Option<((usize, &[u32]), usize)> = None;
        for (r, &p) in pid.iter().enumerate() {
            let key = (p, &prefixes[r * stride..r * stride + i]);
            let u = match last {
                Some((k, u)) if k == key => u,
                _ => *index.entry(key).or_insert_with(|| {
                    firsts.push(r);
                    firsts.len() - 1
                }),
            };
            last = Some((key, u));
            row_of.push(u);
        }
        let width = d + i;
        let mut inputs = Vec::with_capacity(firsts.len() * width);
        for &r in &firsts {
            inputs.extend(
                prompts[pid[r] * d..(pid[r] + 1) * d]
                    .iter()
                    .map(|&v| v as f32),
            );
            inputs.extend(
                prefixes[r * stride..r * stride + i]
                    .iter()
                    .zip(&self.arch.caps)
                    .map(|(&x, &c)| {
                        if c == 0 {
                            0.0
                        } else {
                            x.min(c) as f32 / c as f32
                        }
                    }),
            );
        }
        Ok((row_of, self.conditional_rows(i, &inputs, firsts.len())?))
    }

    /// ln q(x_i = · | input) (f64, flat, rows × (cap_i + 1)) for `rows` network inputs
    /// [c, x_<i / cap] (f32, flat): small batches on the CPU by a direct forward pass (no
    /// per-operation tensors), larger ones by [`Model::conditional_tensor`] in chunks.
    fn conditional_rows(&self, i: usize, inputs: &[f32], rows: usize) -> Result<Vec<f64>> {
        if rows <= SMALL_ROWS
            && let Some(v) = self.direct_forward(i, inputs, rows)?
        {
            return Ok(v);
        }
        let width = self.arch.prompt_dim + i;
        let mut out = Vec::with_capacity(rows * (self.arch.caps[i] as usize + 1));
        for start in (0..rows).step_by(CHUNK_ROWS) {
            let end = (start + CHUNK_ROWS).min(rows);
            let t = Tensor::from_slice(
                &inputs[start * width..end * width],
                (end - start, width),
                &self.device,
            )
            .map_err(candle("conditional probabilities"))?;
            let lp = self
                .conditional_tensor(i, &t, None)?
                .flatten_all()
                .and_then(|t| t.to_vec1::<f64>())
                .map_err(candle("conditional probabilities"))?;
            out.extend(lp);
        }
        Ok(out)
    }

    /// The forward pass of species `i`'s MLP on the CPU weights, computed directly: the
    /// same f32 arithmetic as [`Model::conditional_tensor`] (Linear y = W x + b, the
    /// activation, logits to f64, log-softmax x − max − ln Σ exp(x − max)) up to the order
    /// of the sums. `None` when the weights are not contiguous f32 on the CPU.
    fn direct_forward(&self, i: usize, inputs: &[f32], rows: usize) -> Result<Option<Vec<f64>>> {
        let mut h: std::borrow::Cow<'_, [f32]> = std::borrow::Cow::Borrowed(inputs);
        let mut width = self.arch.prompt_dim + i;
        for (k, layer) in self.layers[i].iter().enumerate() {
            let (ws, wl) = layer.weight().storage_and_layout();
            let Some(bias) = layer.bias() else {
                return Ok(None);
            };
            let (bs, bl) = bias.storage_and_layout();
            let (candle_core::Storage::Cpu(wc), candle_core::Storage::Cpu(bc)) = (&*ws, &*bs)
            else {
                return Ok(None);
            };
            let (out_dim, in_dim) = wl.shape().dims2().map_err(candle("weight shape"))?;
            if in_dim != width
                || !wl.is_contiguous()
                || !bl.is_contiguous()
                || bl.shape().elem_count() != out_dim
            {
                return Ok(None);
            }
            let (Ok(w), Ok(b)) = (wc.as_slice::<f32>(), bc.as_slice::<f32>()) else {
                return Ok(None);
            };
            let w = &w[wl.start_offset()..wl.start_offset() + out_dim * in_dim];
            let b = &b[bl.start_offset()..bl.start_offset() + out_dim];
            let mut y = vec![0f32; rows * out_dim];
            linear_rows(&h, w, b, &mut y, in_dim);
            if k < 2 {
                match self.arch.activation {
                    Activation::Silu => y.iter_mut().for_each(|v| *v = *v / (1.0 + (-*v).exp())),
                    Activation::Tanh => y.iter_mut().for_each(|v| *v = v.tanh()),
                }
            }
            h = std::borrow::Cow::Owned(y);
            width = out_dim;
        }
        let mut out = Vec::with_capacity(rows * width);
        for row in h.chunks_exact(width) {
            let max = row
                .iter()
                .map(|&v| v as f64)
                .fold(f64::NEG_INFINITY, f64::max);
            let ln_sum = row
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln();
            out.extend(row.iter().map(|&v| (v as f64 - max) - ln_sum));
        }
        Ok(Some(out))
    }
}

/// Distinct prompts (by bit pattern) of B prompt rows: the index of each row's prompt and
/// the distinct prompts (flat), in order of first appearance.
fn distinct_prompts(prompts: &[f64], d: usize) -> (Vec<usize>, Vec<f64>) {
    let mut index: std::collections::HashMap<Vec<u64>, usize> = Default::default();
    let mut pid = Vec::with_capacity(prompts.len() / d.max(1));
    let mut distinct: Vec<f64> = Vec::new();
    let mut prev: Option<(&[f64], usize)> = None;
    for p in prompts.chunks_exact(d.max(1)) {
        let id = match prev {
            Some((q, id)) if q.iter().zip(p).all(|(a, b)| a.to_bits() == b.to_bits()) => id,
            _ => *index
                .entry(p.iter().map(|v| v.to_bits()).collect())
                .or_insert_with(|| {
                    distinct.extend_from_slice(p);
                    distinct.len() / d.max(1) - 1
                }),
        };
        prev = Some((p, id));
        pid.push(id);
    }
    (pid, distinct)
}

/// y_r = W x_r + b for rows x_r (flat, rows × n_in) and W row-major [n_out, n_in]: with
/// AVX2 where the CPU has it (detected at run time), else with the baseline instructions;
/// both give the same bits (the sums are in the same order).
fn linear_rows(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32], n_in: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { linear_rows_avx2(x, w, b, y, n_in) };
        return;
    }
    linear_rows_any(x, w, b, y, n_in);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn linear_rows_avx2(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32], n_in: usize) {
    linear_rows_any(x, w, b, y, n_in);
}

#[inline(always)]
fn linear_rows_any(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32], n_in: usize) {
    let n_out = b.len();
    for (xr, yr) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        for ((yj, wj), &bj) in yr.iter_mut().zip(w.chunks_exact(n_in)).zip(b) {
            *yj = dot(xr, wj) + bj;
        }
    }
}

/// Σ a_k b_k in eight interleaved partial sums (so that it vectorises), added in order.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = 0.0;
    for v in acc {
        s += v;
    }
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}
