//! `crnkit.Surrogate`, `crnkit.distill` and `crnkit.infer`: the neural surrogate
//! (`crnkit-surrogate`).
//!
//! The native layer takes conditions already broadcast by the Python layer
//! (`python/crnkit/surrogate.py`): parameters (B × parameters, box order), initial counts
//! (B × species) and times (B), as contiguous numpy arrays. Batched queries run with the GIL
//! released, in parallel over the rows ([`crnkit_surrogate::batch`]); `distill` and `infer`
//! run on a worker thread that Ctrl-C cancels ([`crate::run::detached`]).

// The surrogate's error keeps candle's error unboxed (see `crnkit_surrogate`).
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use crnkit_surrogate::batch::Conditions;
use crnkit_surrogate::config;
use crnkit_surrogate::inference::{
    InferenceSpec, Likelihood, McmcConfig, McmcResult, MleConfig, MleResult, Snapshots,
};
use crnkit_surrogate::{Error as SurrogateError, Surrogate as Inner};
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays::{array, dict};
use crate::errors::{SurrogateIntoPy, surrogate_to_py};
use crate::run::detached;

/// A distilled surrogate (`card.json` and `model.safetensors`), loaded once.
#[pyclass(module = "crnkit._lib", frozen)]
pub struct Surrogate {
    inner: Inner,
    dir: PathBuf,
}

/// A contiguous numpy array's data.
fn slice<'a, T: numpy::Element>(
    a: &'a numpy::PyReadonlyArray<'_, T, impl numpy::ndarray::Dimension>,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Conditions as the Python layer passes them, one tuple: parameters (B × parameters),
/// initial counts (B × species), times (B).
type Rows<'py> = (
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, u64>,
    PyReadonlyArray1<'py, f64>,
);

impl Surrogate {
    /// `f` on the conditions `rows` with the GIL released, and B.
    fn batched<T: Send>(
        &self,
        py: Python<'_>,
        rows: &Rows<'_>,
        f: impl FnOnce(&Inner, &Conditions<'_>) -> crnkit_surrogate::Result<T> + Send,
    ) -> PyResult<(T, usize)> {
        let (p, x, t) = (slice(&rows.0)?, slice(&rows.1)?, slice(&rows.2)?);
        let s = &self.inner;
        let out = py
            .detach(|| f(s, &Conditions::new(s, p, x, t)?))
            .py_err(py)?;
        Ok((out, t.len()))
    }
}

#[pymethods]
impl Surrogate {
    /// Read the folder written by `crnkit distill`, or `builtin:NAME` (shipped with crnkit).
    #[staticmethod]
    fn load(py: Python<'_>, dir: PathBuf) -> PyResult<Surrogate> {
        let inner = py.detach(|| Inner::open(&dir)).py_err(py)?;
        Ok(Surrogate { inner, dir })
    }

    /// The folder it was loaded from.
    #[getter]
    fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    /// The model card as JSON text.
    #[getter]
    fn card_json(&self, py: Python<'_>) -> PyResult<String> {
        serde_json::to_string(&self.inner.card)
            .map_err(|source| SurrogateError::CardFile {
                path: "<memory>".into(),
                source,
            })
            .py_err(py)
    }

    /// Species names, in model order.
    #[getter]
    fn species(&self) -> Vec<String> {
        self.inner.card.species.clone()
    }

    /// Per-species caps (largest count the model represents).
    #[getter]
    fn caps(&self) -> Vec<u32> {
        self.inner.card.prompt.caps.clone()
    }

    /// The default initial counts.
    #[getter]
    fn initial(&self) -> Vec<u64> {
        self.inner.initial().to_vec()
    }

    /// The trained initial counts, `(lo, hi)` per species.
    #[getter]
    fn initial_range(&self) -> (Vec<u64>, Vec<u64>) {
        let p = &self.inner.card.prompt;
        match &p.initial_box {
            Some(b) => (b.lo.clone(), b.hi.clone()),
            None => (p.initial.clone(), p.initial.clone()),
        }
    }

    /// The parameter box: names, lower ends, upper ends, log-scale flags (box order).
    #[getter]
    fn parameter_box(&self) -> (Vec<String>, Vec<f64>, Vec<f64>, Vec<bool>) {
        let b = &self.inner.card.prompt.params;
        (
            b.names.clone(),
            b.lo.clone(),
            b.hi.clone(),
            b.log_scale.clone(),
        )
    }

    /// The trained time range `(t_min, t_max)`.
    #[getter]
    fn times(&self) -> (f64, f64) {
        (self.inner.card.prompt.t_min, self.inner.card.prompt.t_max)
    }

    /// The lines on what lies outside the trained domain (each once); with `strict`, a
    /// `DomainError` when there is any.
    fn outside(&self, py: Python<'_>, rows: Rows<'_>, strict: bool) -> PyResult<Vec<String>> {
        let (lines, _) = self.batched(py, &rows, |s, c| {
            let lines = s.outside_batch(c);
            if strict && !lines.is_empty() {
                return Err(SurrogateError::OutsideDomain {
                    reason: format!("outside the trained domain: {}", lines.join("; ")),
                });
            }
            Ok(lines)
        })?;
        Ok(lines)
    }

    /// The marginal of species `species` at every condition: (B, cap + 1).
    fn marginal<'py>(
        &self,
        py: Python<'py>,
        species: &str,
        rows: Rows<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let i = self.inner.species_index(species).py_err(py)?;
        let (m, b) = self.batched(py, &rows, |s, c| s.marginal_batch(i, c))?;
        let w = self.inner.card.prompt.caps[i] as usize + 1;
        array(py, m, &[b, w])
    }

    /// Means and standard deviations of every species at every condition: two (B, S).
    fn moments<'py>(&self, py: Python<'py>, rows: Rows<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let (m, b) = self.batched(py, &rows, |s, c| s.moments_batch(c))?;
        let shape = [b, self.inner.card.species.len()];
        let mean = array(py, m.iter().map(|v| v.0).collect(), &shape)?;
        let sd = array(py, m.iter().map(|v| v.1).collect(), &shape)?;
        PyTuple::new(py, [mean, sd])
    }

    /// ln q(state_b | condition b): (B,) for states (B, S).
    fn log_prob<'py>(
        &self,
        py: Python<'py>,
        states: PyReadonlyArray2<'py, u32>,
        rows: Rows<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let st = slice(&states)?;
        let (lp, b) = self.batched(py, &rows, |s, c| s.log_prob_batch(st, c))?;
        array(py, lp, &[b])
    }

    /// `n` samples at every condition, each drawn with `seed`: (B, n, S) counts.
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        rows: Rows<'py>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (xs, b) = self.batched(py, &rows, |s, c| s.sample_batch(n, c, seed))?;
        array(py, xs, &[b, n, self.inner.card.species.len()])
    }

    /// The joint on the box of caps at every condition: states (K, S) and
    /// probabilities (B, K).
    fn joint<'py>(&self, py: Python<'py>, rows: Rows<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let ((states, probs), b) = self.batched(py, &rows, |s, c| s.joint_batch(c))?;
        let ns = self.inner.card.species.len();
        let k = states.len() / ns.max(1);
        let states = array(py, states, &[k, ns])?;
        let probs = array(py, probs, &[b, k])?;
        PyTuple::new(py, [states, probs])
    }
}

/// Run `f` on a worker thread (Ctrl-C cancels it through the reporter); a surrogate error
/// becomes its Python exception.
fn detached_surrogate<T: Send>(
    py: Python<'_>,
    progress: Option<&Py<PyAny>>,
    f: impl FnOnce(&crnkit_core::progress::Reporter) -> crnkit_surrogate::Result<T> + Send,
) -> PyResult<T> {
    detached(py, progress, |reporter| Ok(f(reporter)))?.map_err(|e| surrogate_to_py(py, &e))
}

/// Distil from a configuration file (`path`, TOML) or its structure as JSON text (`json`,
/// model files relative to the working directory); `out` overrides the output folder.
/// Returns the output folder, the card's metrics (JSON text), why training stopped and
/// the epoch a resumed run continued after.
/// The surrogates shipped with crnkit: (name, one line on what it answers).
#[pyfunction]
pub fn builtin_surrogates() -> Vec<(&'static str, &'static str)> {
    crnkit_surrogate::builtin::BUILTIN
        .iter()
        .map(|b| (b.name, b.about))
        .collect()
}

#[pyfunction]
#[pyo3(signature = (path = None, json = None, out = None, fresh = false, progress = None))]
pub fn distill<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    json: Option<String>,
    out: Option<PathBuf>,
    fresh: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let read = |p: &Path| crnkit_io::read_network(p);
    let summary = detached_surrogate(py, progress.as_ref(), |reporter| {
        let r = match (&path, &json) {
            (Some(p), _) => config::prepare(p, out.as_deref(), &read, reporter.clone())?,
            (None, Some(text)) => {
                let file = config::parse_json(text, "<config>")?;
                let mut r = file.resolve(Path::new("."), &read, reporter.clone())?;
                if let Some(o) = &out {
                    r.set_out(o);
                }
                r
            }
            (None, None) => {
                return Err(SurrogateError::InvalidSetting {
                    name: "config",
                    value: "None".into(),
                    reason: "a configuration file or its contents are needed".into(),
                });
            }
        };
        r.run(fresh)
    })?;
    let d = dict(py);
    d.set_item("dir", summary.dir)?;
    let metrics = serde_json::to_string(&summary.metrics).map_err(|source| {
        surrogate_to_py(
            py,
            &SurrogateError::CardFile {
                path: "<memory>".into(),
                source,
            },
        )
    })?;
    d.set_item("metrics", metrics)?;
    let stop = match summary.stop {
        crnkit_surrogate::TrainStop::Epochs => "epochs",
        crnkit_surrogate::TrainStop::EarlyStopping => "early-stopping",
        crnkit_surrogate::TrainStop::Budget => "budget",
    };
    d.set_item("stop", stop)?;
    d.set_item("resumed_from", summary.resumed_from)?;
    Ok(d)
}

/// Snapshot data: a CSV file (`path`) or cells (`times`, `counts` flat in the order of
/// `species`).
fn snapshots(
    s: &Inner,
    path: Option<&Path>,
    species: &[String],
    times: &[f64],
    counts: &[u64],
) -> crnkit_surrogate::Result<Snapshots> {
    match path {
        Some(p) => crnkit_surrogate::read_snapshots(p, &s.card.species),
        None => Snapshots::new(species, times, counts),
    }
}

/// Maximum likelihood (and, with `mcmc`, Metropolis–Hastings) from snapshot data: the
/// data as a CSV file (`path`) or as cells (`times`, `counts` in the order of `species`).
/// Ctrl-C raises `KeyboardInterrupt` once the running fit or chain returns.
#[pyfunction]
#[pyo3(signature = (surrogate, path, species, times, counts, free, fixed, x0, mcmc,
    samples, burn_in, chains, seed))]
#[allow(clippy::too_many_arguments)]
pub fn infer<'py>(
    py: Python<'py>,
    surrogate: &Surrogate,
    path: Option<PathBuf>,
    species: Vec<String>,
    times: PyReadonlyArray1<'py, f64>,
    counts: PyReadonlyArray1<'py, u64>,
    free: Vec<String>,
    fixed: Vec<(String, f64)>,
    x0: Option<Vec<u64>>,
    mcmc: bool,
    samples: usize,
    burn_in: usize,
    chains: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let (times, counts) = (slice(&times)?, slice(&counts)?);
    let s = &surrogate.inner;
    let (cells, fit, post) = detached_surrogate(py, None, |_| {
        let data = snapshots(s, path.as_deref(), &species, times, counts)?;
        let spec = InferenceSpec {
            free,
            fixed,
            initial: x0,
        };
        let lik = Likelihood::new(s, &data, &spec)?;
        let fit = lik.mle(&MleConfig {
            seed,
            ..MleConfig::default()
        })?;
        let post = if mcmc {
            Some(lik.mcmc(&McmcConfig {
                chains,
                burn_in,
                samples,
                seed,
                ..McmcConfig::default()
            })?)
        } else {
            None
        };
        Ok((lik.num_cells(), fit, post))
    })?;
    let d = dict(py);
    d.set_item("cells", cells)?;
    mle_items(py, &d, &fit)?;
    if let Some(p) = post {
        mcmc_items(py, &d, &p)?;
    }
    Ok(d)
}

/// The maximum-likelihood fit's entries.
fn mle_items(py: Python<'_>, d: &Bound<'_, PyDict>, fit: &MleResult) -> PyResult<()> {
    let n = fit.names.len();
    d.set_item("names", fit.names.clone())?;
    d.set_item("estimate", array(py, fit.estimate.clone(), &[n])?)?;
    d.set_item("std_error", array(py, fit.std_error.clone(), &[n])?)?;
    d.set_item("on_boundary", array(py, fit.on_boundary.clone(), &[n])?)?;
    d.set_item("log_likelihood", fit.log_likelihood)?;
    d.set_item("iterations", fit.iterations)?;
    Ok(())
}

/// The posterior's entries: draws (chain, draw, parameter), their log-likelihoods and the
/// summary per parameter.
fn mcmc_items(py: Python<'_>, d: &Bound<'_, PyDict>, post: &McmcResult) -> PyResult<()> {
    let np = post.names.len();
    let nc = post.chains.len();
    let nd = post.chains.first().map_or(0, |c| c.samples.len());
    let draws: Vec<f64> = post
        .chains
        .iter()
        .flat_map(|c| c.samples.iter().flat_map(|x| x.iter().copied()))
        .collect();
    let ll: Vec<f64> = post
        .chains
        .iter()
        .flat_map(|c| c.log_likelihood.iter().copied())
        .collect();
    d.set_item("posterior_names", post.names.clone())?;
    d.set_item("posterior", array(py, draws, &[nc, nd, np])?)?;
    d.set_item("posterior_log_likelihood", array(py, ll, &[nc, nd])?)?;
    d.set_item("acceptance", post.acceptance)?;
    let col = |f: fn(&crnkit_surrogate::ParamSummary) -> f64| {
        array(
            py,
            post.summary.iter().map(f).collect(),
            &[post.summary.len()],
        )
    };
    d.set_item(
        "summary_names",
        post.summary
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>(),
    )?;
    d.set_item("mean", col(|p| p.mean)?)?;
    d.set_item("sd", col(|p| p.sd)?)?;
    d.set_item("q025", col(|p| p.q025)?)?;
    d.set_item("q50", col(|p| p.q50)?)?;
    d.set_item("q975", col(|p| p.q975)?)?;
    d.set_item("rhat", col(|p| p.rhat)?)?;
    Ok(())
}
