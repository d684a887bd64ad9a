//! Result files: the CSV and JSON that `crnkit` writes for the results of `crnkit-sim`.
//!
//! The result types of the solvers hold data and checked accessors only; their text forms
//! live here. [`ToCsv`] gives a result's main table (and [`ToCsv::write_csv`] writes it
//! atomically), [`ToJson`] its JSON document; the other tables of a result (kept
//! trajectories, histograms, marginals, stationary statistics, a generator for peer tools)
//! are functions of their own. Every file goes through the one
//! [`write_atomic`].
//!
//! ```
//! use crnkit_core::Network;
//! use crnkit_io::results::ToCsv;
//! use crnkit_sim::ssa::EnsembleConfig;
//!
//! let net = Network::from_crn_str("species: X = 0\n0 -> X @ 5\nX -> 0 @ 1", "imm.crn")?;
//! let cfg = EnsembleConfig { until: 2.0, every: 1.0, runs: 10, ..Default::default() };
//! let csv = cfg.run(&net)?.to_csv();
//! assert!(csv.starts_with("time,X-mean,X-sd\n0,0,0\n1,"));
//! # Ok::<(), crnkit_core::Error>(())
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crnkit_core::Result;
use crnkit_core::fs::write_atomic;
use crnkit_core::grid::Series;
use crnkit_core::network::CompiledNetwork;
use crnkit_sim::cme::{
    Distribution, Generator, ProductForm, SolveStats, StationarySolution, TransientSolution,
};
use crnkit_sim::ssa::EnsembleResult;
use crnkit_sim::thermo::cme_entropy::ThermoSeries;
use crnkit_sim::thermo::path::{PATH_COLUMNS, PathResult};
use crnkit_sim::thermo::{OdeThermo, SsaThermo, Thermo};

/// A result's main table as CSV text (one header line, then one row per time).
pub trait ToCsv {
    /// The table.
    fn to_csv(&self) -> String;

    /// Write [`ToCsv::to_csv`] to `path` atomically.
    fn write_csv(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_csv().as_bytes())
    }
}

/// A result as a JSON document.
pub trait ToJson {
    /// The document.
    fn to_json(&self) -> serde_json::Value;

    /// Write [`ToJson::to_json`] to `path` atomically (pretty-printed).
    fn write_json(&self, path: &Path) -> Result<()> {
        write_json(path, &self.to_json())
    }
}

/// Write a JSON value to `path` atomically, pretty-printed.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| crnkit_core::Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(path, text.as_bytes())
}

/// A CSV field as RFC 4180 writes it: unchanged unless it holds a comma, a double quote,
/// a line break or leading/trailing space, then in double quotes with inner quotes
/// doubled. Species of BioNetGen models (`Grb2(SH2,SH3)`) need it.
///
/// ```
/// use crnkit_io::results::csv_field;
/// assert_eq!(csv_field("X-mean"), "X-mean");
/// assert_eq!(csv_field("Grb2(SH2,SH3)-mean"), "\"Grb2(SH2,SH3)-mean\"");
/// assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
/// ```
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| matches!(c, ',' | '"' | '\n' | '\r');
    if s.contains(special) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// `,<name>-mean,<name>-sd` with each field quoted as CSV needs.
fn mean_sd_fields(out: &mut String, name: &str) {
    let _ = write!(
        out,
        ",{},{}",
        csv_field(&format!("{name}-mean")),
        csv_field(&format!("{name}-sd"))
    );
}

/// `,<name>` for each name, quoted as CSV needs.
fn name_fields<'a>(out: &mut String, names: impl IntoIterator<Item = &'a String>) {
    for n in names {
        let _ = write!(out, ",{}", csv_field(n));
    }
}

/// `time,<C1>-mean,<C1>-sd,...` of a [`Series`], then `header_tail` (which ends the header
/// line) and one row per time, each finished by `row_tail(row, k)`.
fn series_csv(
    s: &(impl Series + ?Sized),
    header_tail: &str,
    mut row_tail: impl FnMut(&mut String, usize),
) -> String {
    let mut out = String::from("time");
    for c in s.columns() {
        mean_sd_fields(&mut out, c);
    }
    out.push_str(header_tail);
    for (k, t) in s.times().iter().enumerate() {
        let _ = write!(out, "{t}");
        for c in 0..s.columns().len() {
            let (m, sd) = s.mean_sd(k, c);
            let _ = write!(out, ",{m},{sd}");
        }
        row_tail(&mut out, k);
    }
    out
}

impl ToCsv for EnsembleResult {
    /// `time,<S1>-mean,<S1>-sd,...` (species, then observables), one row per grid time.
    fn to_csv(&self) -> String {
        series_csv(self, "\n", |out, _| out.push('\n'))
    }
}

/// `run,time,<S1>,<S2>,...` for the kept trajectories of an ensemble.
pub fn trajectories_csv(r: &EnsembleResult) -> String {
    let ns = r.num_species;
    let mut out = String::from("run,time");
    name_fields(&mut out, &r.columns[..ns]);
    out.push('\n');
    for (run, states) in r.trajectories.iter().enumerate() {
        for (k, t) in r.grid.times().iter().enumerate() {
            let _ = write!(out, "{run},{t}");
            for v in &states[k * ns..(k + 1) * ns] {
                let _ = write!(out, ",{v}");
            }
            out.push('\n');
        }
    }
    out
}

/// `time,species,count,runs` rows of an ensemble's histograms (the header alone without
/// histograms).
pub fn histograms_csv(r: &EnsembleResult) -> String {
    let mut out = String::from("time,species,count,runs\n");
    if let Some(h) = &r.histograms {
        let ns = r.num_species;
        for (k, t) in r.grid.times().iter().enumerate() {
            for i in 0..ns {
                for (v, c) in &h[k * ns + i] {
                    let _ = writeln!(out, "{t},{},{v},{c}", csv_field(&r.columns[i]));
                }
            }
        }
    }
    out
}

/// Write [`trajectories_csv`] to `path` atomically.
pub fn write_trajectories_csv(r: &EnsembleResult, path: &Path) -> Result<()> {
    write_atomic(path, trajectories_csv(r).as_bytes())
}

/// Write [`histograms_csv`] to `path` atomically.
pub fn write_histograms_csv(r: &EnsembleResult, path: &Path) -> Result<()> {
    write_atomic(path, histograms_csv(r).as_bytes())
}

impl ToCsv for TransientSolution {
    /// `time,<S1>-mean,<S1>-sd,...,fsp_error,states`: the columns of an ensemble's
    /// statistics (species, then observables) followed by the certified error and the
    /// projection size.
    fn to_csv(&self) -> String {
        series_csv(self, ",fsp_error,states\n", |out, k| {
            let _ = writeln!(out, ",{:e},{}", self.error_bound[k], self.states[k]);
        })
    }
}

/// `time,species,count,probability` rows of every marginal of a transient solution at
/// every time.
pub fn marginals_csv(s: &TransientSolution) -> String {
    let mut out = String::from("time,species,count,probability\n");
    for (k, t) in s.times.iter().enumerate() {
        for (i, m) in s.marginals[k].iter().enumerate() {
            for (n, p) in m.iter().enumerate() {
                let _ = writeln!(out, "{t},{},{n},{p:e}", csv_field(&s.columns[i]));
            }
        }
    }
    out
}

impl ToJson for SolveStats {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "matvecs": self.matvecs,
            "steps": self.steps,
            "rejected_steps": self.rejected_steps,
            "expansions": self.expansions,
            "shrinks": self.shrinks,
            "builds": self.builds,
            "max_states": self.max_states,
            "poisson_omitted": self.poisson_omitted,
        })
    }
}

impl ToJson for TransientSolution {
    /// Everything but the final distribution.
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "columns": self.columns,
            "times": self.times,
            "mean": self.mean,
            "sd": self.sd,
            "error_bound": self.error_bound,
            "states": self.states,
            "marginals": self.marginals,
            "covariance": self.covariance,
            "stats": self.stats.to_json(),
        })
    }
}

/// Stationary statistics of `d` (a distribution of `net`) as one row in the layout of a
/// transient solution's table with time `inf`: `time,<S>-mean,<S>-sd,...,fsp_error,states`.
pub fn distribution_stats_csv(net: &CompiledNetwork, d: &Distribution, error: f64) -> String {
    let ns = net.num_species();
    let mut out = String::from("time");
    for c in net.species_names().iter().chain(net.observable_names()) {
        mean_sd_fields(&mut out, c);
    }
    out.push_str(",fsp_error,states\ninf");
    let mean = d.means();
    let cov = d.covariance();
    for i in 0..ns {
        let _ = write!(out, ",{},{}", mean[i], cov[i * ns + i].max(0.0).sqrt());
    }
    for k in 0..net.observable_names().len() {
        let (m, v) = d.observable_moments(net, k);
        let _ = write!(out, ",{m},{}", v.sqrt());
    }
    let _ = writeln!(out, ",{error:e},{}", d.space().len());
    out
}

/// Marginals of `d` (a distribution of `net`) as `time,species,count,probability` rows
/// with time `inf`.
pub fn distribution_marginals_csv(net: &CompiledNetwork, d: &Distribution) -> String {
    let mut out = String::from("time,species,count,probability\n");
    for (i, name) in net.species_names().iter().enumerate() {
        for (n, p) in d.marginal(i).iter().enumerate() {
            let _ = writeln!(out, "inf,{},{n},{p:e}", csv_field(name));
        }
    }
    out
}

/// [`distribution_stats_csv`] of a stationary solution; `fsp_error` is its boundary mass.
pub fn stationary_stats_csv(net: &CompiledNetwork, st: &StationarySolution) -> String {
    distribution_stats_csv(net, &st.distribution, st.boundary_mass)
}

/// [`distribution_stats_csv`] of the product form; `fsp_error` is 0.
pub fn product_form_stats_csv(net: &CompiledNetwork, pf: &ProductForm) -> String {
    distribution_stats_csv(net, &pf.distribution, 0.0)
}

/// Write a generator as raw little-endian arrays a NumPy/SciPy script can load:
/// `indptr.i64`, `indices.i32`, `data.f64` and `shape.json`, into folder `dir`.
pub fn write_generator_raw(g: &Generator, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| crnkit_core::Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let (ptr, cols, vals) = g.to_csr();
    let ptr: Vec<u8> = ptr.iter().flat_map(|&p| (p as i64).to_le_bytes()).collect();
    write_atomic(&dir.join("indptr.i64"), &ptr)?;
    let cols: Vec<u8> = cols
        .iter()
        .flat_map(|&c| (c as i32).to_le_bytes())
        .collect();
    write_atomic(&dir.join("indices.i32"), &cols)?;
    write_atomic(&dir.join("data.f64"), &f64_le_bytes(&vals))?;
    let shape = format!(
        "{{\"rows\": {}, \"cols\": {}, \"nnz\": {}}}\n",
        g.dim(),
        g.dim(),
        vals.len()
    );
    write_atomic(&dir.join("shape.json"), shape.as_bytes())
}

/// Little-endian bytes of `f64` values (the `.f64` arrays of [`write_generator_raw`]).
pub fn f64_le_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl ToCsv for Thermo {
    /// The table `crnkit thermo` writes: `time,entropy_production_rate,
    /// total_entropy_produced,free_energy,...` (units: k_B, k_B per time, k_B T), one row
    /// per grid time, then the method's own columns (see [`ThermoSeries`], [`SsaThermo`]
    /// and [`OdeThermo`]).
    fn to_csv(&self) -> String {
        match self {
            Thermo::Cme(s) => s.to_csv(),
            Thermo::Ssa(s) => s.to_csv(),
            Thermo::Ode(s) => s.to_csv(),
        }
    }
}

impl ToCsv for ThermoSeries {
    /// `time,entropy_production_rate,total_entropy_produced,free_energy,system_entropy,
    /// medium_entropy_flow,total_medium_entropy,fsp_error,sigma_<reaction>...`, then
    /// `work_rate,internal_free_energy` when the heat/work split applies (heat rate =
    /// medium_entropy_flow = work_rate − d(internal_free_energy)/dt). F is `nan` where it
    /// cannot be computed.
    fn to_csv(&self) -> String {
        let mut out = String::from(
            "time,entropy_production_rate,total_entropy_produced,free_energy,system_entropy,medium_entropy_flow,total_medium_entropy,fsp_error",
        );
        for n in &self.pair_names {
            let _ = write!(out, ",{}", csv_field(&format!("sigma_{n}")));
        }
        if self.work.is_some() {
            out.push_str(",work_rate,internal_free_energy");
        }
        out.push('\n');
        for (k, t) in self.times.iter().enumerate() {
            let v = &self.values[k];
            let f = v.free_energy.map_or(String::from("nan"), |f| f.to_string());
            let _ = write!(
                out,
                "{t},{},{},{f},{},{},{},{:e}",
                v.entropy_production,
                self.total_entropy_produced[k],
                v.system_entropy,
                v.medium_entropy_flow,
                self.total_medium_entropy[k],
                self.error_bound[k]
            );
            for (_, s) in &v.per_pair {
                let _ = write!(out, ",{s}");
            }
            if let Some(w) = &self.work {
                let _ = write!(out, ",{},{}", w[k].0, w[k].1);
            }
            out.push('\n');
        }
        out
    }
}

impl ToCsv for SsaThermo {
    /// `time,entropy_production_rate,total_entropy_produced,free_energy,total_entropy-sd,
    /// medium_entropy-mean,medium_entropy-sd,exp_minus_total_entropy-mean,
    /// exp_minus_total_entropy-sd`.
    fn to_csv(&self) -> String {
        let mut out = String::from(
            "time,entropy_production_rate,total_entropy_produced,free_energy,total_entropy-sd,medium_entropy-mean,medium_entropy-sd,exp_minus_total_entropy-mean,exp_minus_total_entropy-sd\n",
        );
        for (k, t) in self.times.iter().enumerate() {
            let (rate, f) = (self.entropy_production_rate[k], self.free_energy[k]);
            let (tot, med, exp) = (
                self.total_entropy[k],
                self.medium_entropy[k],
                self.exp_minus_total_entropy[k],
            );
            let _ = writeln!(
                out,
                "{t},{rate},{},{f},{},{},{},{},{}",
                tot.0, tot.1, med.0, med.1, exp.0, exp.1
            );
        }
        out
    }
}

impl ToCsv for OdeThermo {
    /// `time,entropy_production_rate,total_entropy_produced,free_energy,<S1>,<S2>,...`.
    fn to_csv(&self) -> String {
        let mut out =
            String::from("time,entropy_production_rate,total_entropy_produced,free_energy");
        name_fields(&mut out, &self.species);
        out.push('\n');
        for (k, t) in self.times.iter().enumerate() {
            let _ = write!(
                out,
                "{t},{},{},{}",
                self.entropy_production_rate[k],
                self.total_entropy_produced[k],
                self.free_energy[k]
            );
            for v in &self.amounts[k] {
                let _ = write!(out, ",{v}");
            }
            out.push('\n');
        }
        out
    }
}

impl ToCsv for PathResult {
    /// `time,<col>-mean,<col>-sd,...` for the four path-entropy columns
    /// ([`PATH_COLUMNS`]).
    fn to_csv(&self) -> String {
        let mut out = String::from("time");
        for c in PATH_COLUMNS {
            let _ = write!(out, ",{c}-mean,{c}-sd");
        }
        out.push('\n');
        for (k, t) in self.times.iter().enumerate() {
            let _ = write!(out, "{t}");
            for c in 0..PATH_COLUMNS.len() {
                let _ = write!(out, ",{},{}", self.mean(k, c), self.variance(k, c).sqrt());
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(feature = "ode")]
impl ToCsv for crnkit_sim::thermo::ode::OdeSolution {
    /// `time,<S1>,<S2>,...,<O1>,...` (count-scale amounts, then observables).
    fn to_csv(&self) -> String {
        let mut out = String::from("time");
        name_fields(&mut out, &self.species);
        name_fields(&mut out, &self.observables);
        out.push('\n');
        for (k, (t, x)) in self.times.iter().zip(&self.states).enumerate() {
            let _ = write!(out, "{t}");
            let obs = self.observable_values.get(k).map_or(&[][..], |v| &v[..]);
            for v in x.iter().chain(obs) {
                let _ = write!(out, ",{v}");
            }
            out.push('\n');
        }
        out
    }
}
