//! `crnkit.Network`: a validated reaction network.

use std::path::PathBuf;
use std::sync::OnceLock;

use crnkit_core::network::{CheckReport, CompiledNetwork, NetworkSpec, Rate};
use crnkit_core::{Error, Network as CoreNetwork};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::errors::IntoPy;

/// A chemical reaction network, validated once when it is read. Immutable: methods that
/// change values (`with_parameters`, `with_initial`) return a new network.
#[pyclass(module = "crnkit", frozen)]
pub struct Network {
    pub(crate) inner: CoreNetwork,
    /// The simulators' form, built on first use and kept: a network is immutable.
    compiled: OnceLock<CompiledNetwork>,
}

impl From<CoreNetwork> for Network {
    fn from(inner: CoreNetwork) -> Self {
        Network {
            inner,
            compiled: OnceLock::new(),
        }
    }
}

impl Network {
    /// The compiled network (built once per Python object).
    pub(crate) fn compiled(&self) -> &CompiledNetwork {
        self.compiled.get_or_init(|| self.inner.compile())
    }
}

/// Parse `text` in `format` (`crn`, `json`, `toml`, `net` for BioNetGen, `sbml`/`xml`);
/// `name` is the file name shown in errors.
fn parse(text: &str, format: &str, name: &str) -> crnkit_core::Result<CoreNetwork> {
    match format.trim_start_matches('.').to_ascii_lowercase().as_str() {
        "crn" => CoreNetwork::from_crn_str(text, name),
        "json" => NetworkSpec::from_json_str(text, name)?.build(),
        "toml" => NetworkSpec::from_toml_str(text, name)?.build(),
        "net" | "bngl" | "bionetgen" => crnkit_io::bionetgen::parse_net(text, name),
        "sbml" | "xml" => crnkit_io::sbml::from_sbml_str(text, name),
        _ => Err(Error::InvalidSetting {
            name: "format",
            value: format.to_string(),
            reason: "expected crn, json, toml, net (BioNetGen) or sbml",
        }),
    }
}

/// `{"name": value}` pairs from an optional dict and keyword arguments (keywords win).
fn assignments<T: for<'a> FromPyObject<'a, 'a>>(
    values: Option<&Bound<'_, PyDict>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<(String, T)>> {
    let mut out: Vec<(String, T)> = Vec::new();
    for d in [values, kwargs].into_iter().flatten() {
        for (k, v) in d.iter() {
            let name: String = k.extract()?;
            let value: T = v.extract().map_err(Into::into)?;
            out.retain(|(n, _)| *n != name);
            out.push((name, value));
        }
    }
    Ok(out)
}

fn rate_text(rate: &Rate) -> String {
    rate.expr.to_string()
}

impl Network {
    /// Species name → coefficient.
    fn side<'py>(&self, py: Python<'py>, terms: &[(usize, u32)]) -> PyResult<Bound<'py, PyDict>> {
        let names = self.inner.species_names();
        let d = PyDict::new(py);
        for &(i, c) in terms {
            d.set_item(names[i], c)?;
        }
        Ok(d)
    }

    /// Reaction `r` as a dictionary.
    fn reaction_dict<'py>(&self, py: Python<'py>, r: usize) -> PyResult<Bound<'py, PyDict>> {
        let net = &self.inner;
        let rx = net.reaction(r).py_err(py)?;
        let d = PyDict::new(py);
        d.set_item("name", net.reaction_name(r))?;
        d.set_item("label", rx.label.clone())?;
        d.set_item("equation", net.equation(r))?;
        d.set_item("reactants", self.side(py, &net.reactants(r))?)?;
        d.set_item("products", self.side(py, &net.products(r))?)?;
        d.set_item("rate", rate_text(&rx.forward))?;
        d.set_item("rate_value", rx.forward.value)?;
        d.set_item("reverse_rate", rx.reverse.as_ref().map(rate_text))?;
        d.set_item("reverse_rate_value", rx.reverse.as_ref().map(|r| r.value))?;
        d.set_item("law", rx.propensity.as_ref().map(|e| e.to_string()))?;
        Ok(d)
    }
}

#[pymethods]
impl Network {
    /// Read a model file: `.crn`, `.json`, `.toml`, BioNetGen `.net` or SBML `.xml`/`.sbml`.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Network> {
        let inner = py.detach(|| crnkit_io::read_network(&path)).py_err(py)?;
        Ok(Network::from(inner))
    }

    /// Parse a model from text in `format` (`crn`, `json`, `toml`, `net`, `sbml`).
    #[staticmethod]
    #[pyo3(signature = (text, format = "crn", name = "<string>"))]
    fn from_string(py: Python<'_>, text: &str, format: &str, name: &str) -> PyResult<Network> {
        let inner = py.detach(|| parse(text, format, name)).py_err(py)?;
        Ok(Network::from(inner))
    }

    /// Species names, in order.
    #[getter]
    fn species(&self) -> Vec<String> {
        self.inner
            .species_names()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// Initial counts by species name.
    #[getter]
    fn initial<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for s in self.inner.species() {
            d.set_item(&s.name, s.initial)?;
        }
        Ok(d)
    }

    /// Constant (chemostatted) species names.
    #[getter]
    fn constant(&self) -> Vec<String> {
        self.inner
            .species()
            .filter(|s| s.constant)
            .map(|s| s.name.clone())
            .collect()
    }

    /// Parameter values by name, in declaration order.
    #[getter]
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for p in self.inner.parameters() {
            d.set_item(&p.name, p.value)?;
        }
        Ok(d)
    }

    /// The system volume Ω.
    #[getter]
    fn volume(&self) -> f64 {
        self.inner.volume()
    }

    /// The reactions, as dictionaries: `name`, `label`, `equation`, `reactants` and
    /// `products` (species → coefficient), `rate` (the expression as written) and
    /// `rate_value`, `reverse_rate`/`reverse_rate_value` (None when irreversible), `law`
    /// (a general propensity law, or None).
    #[getter]
    fn reactions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = (0..self.inner.num_reactions())
            .map(|r| self.reaction_dict(py, r))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Observables: name → {species: weight}.
    #[getter]
    fn observables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for o in self.inner.observables() {
            d.set_item(&o.name, self.side(py, &o.terms)?)?;
        }
        Ok(d)
    }

    /// The structural and thermodynamic analysis (what `crnkit check --json` prints), as
    /// Python data.
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report = py
            .detach(|| CheckReport::new(&self.inner).map(|r| r.to_json()))
            .py_err(py)?;
        py.import("json")?.call_method1("loads", (report,))
    }

    /// The network in the `.crn` model language.
    fn to_crn(&self) -> String {
        self.inner.to_crn_string()
    }

    /// The network as a JSON model (the format of `.json` files).
    fn to_json(&self) -> String {
        self.inner.to_spec().to_json_string()
    }

    /// The network as an SBML Level 3 Version 2 document (kinetic laws are propensities;
    /// see docs/sbml.md).
    fn to_sbml(&self, py: Python<'_>) -> PyResult<String> {
        crnkit_io::sbml::to_sbml_string(&self.inner).py_err(py)
    }

    /// A copy with new parameter values, from a dict and/or keywords; nothing is
    /// re-parsed (dependent parameters, rates and laws are re-evaluated).
    #[pyo3(signature = (values = None, /, **kwargs))]
    fn with_parameters(
        &self,
        py: Python<'_>,
        values: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Network> {
        let pairs: Vec<(String, f64)> = assignments(values, kwargs)?;
        let refs: Vec<(&str, f64)> = pairs.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let inner = self.inner.with_parameters(&refs).py_err(py)?;
        Ok(Network::from(inner))
    }

    /// A copy with new initial counts by species name, from a dict and/or keywords.
    #[pyo3(signature = (values = None, /, **kwargs))]
    fn with_initial(
        &self,
        py: Python<'_>,
        values: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Network> {
        let pairs: Vec<(String, u64)> = assignments(values, kwargs)?;
        let mut inner = self.inner.clone();
        for (name, count) in pairs {
            let i = inner
                .species_index(&name)
                .ok_or(Error::UnknownSpecies { name })
                .py_err(py)?;
            inner.set_initial(i, count).py_err(py)?;
        }
        Ok(Network::from(inner))
    }

    fn __repr__(&self) -> String {
        format!(
            "<crnkit.Network: {} species, {} reactions, {} parameters>",
            self.inner.num_species(),
            self.inner.num_reactions(),
            self.inner.parameters().len()
        )
    }

    fn __str__(&self) -> String {
        self.to_crn()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Network>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    /// Pickled as its JSON model.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let from_string = slf.get_type().getattr("from_string")?;
        let args = (slf.get().to_json(), "json", "<pickle>");
        PyTuple::new(py, [from_string, args.into_pyobject(py)?.into_any()])
    }
}
