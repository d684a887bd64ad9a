//! A checked sweep: the description resolved against its network, ready to compute any
//! range of points.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::design::{Design, HALTON_MAX_DIMS, axis_values, from_unit, latin_hypercube};
use crate::error::{Error, Result};
use crate::spec::{Axis, PointsSpec, Scale, SweepSpec};
use crate::table::{ColumnKind, Layout};
use crnkit_core::checkpoint::Fnv1a;
use crnkit_core::grid::TimeGrid;
use crnkit_core::network::Network;
use crnkit_sim::ssa::Method;

/// What a point computes, resolved from the description.
#[derive(Debug, Clone)]
pub(crate) struct Outputs {
    pub(crate) ssa: Option<Method>,
    pub(crate) cme: Option<crnkit_sim::cme::FspOptions>,
    pub(crate) ode: Option<(f64, f64)>,
    pub(crate) thermo: Option<crnkit_sim::thermo::ThermoMethod>,
}

/// A sweep description checked against its network: the number of points, the columns of
/// its table, its hash, and the parameters and initial state of every point.
///
/// ```
/// use crnkit_sweep::Sweep;
///
/// let sweep = Sweep::from_toml_str(
///     r#"
///     network = "builtin:immigration_death"
///     seed = 3
///     replicates = 50
///     time = { until = 4, every = 1 }
///     points = { kind = "grid", parameters = [{ name = "alpha", lo = 1, hi = 4, n = 4 }] }
///     initial_states = [{ X = 0 }, { X = 10 }]
///     [ssa]
///     [ode]
///     "#,
///     std::path::Path::new("."),
///     "doc.toml",
/// )?;
/// assert_eq!(sweep.points(), 8); // 4 parameter values × 2 initial states
/// assert_eq!(sweep.layout().names()[..4], ["point", "alpha", "x0:X", "time"]);
/// let table = sweep.compute(0..sweep.points(), &Default::default())?;
/// assert_eq!(table.rows(), 8 * 5);
/// # Ok::<(), crnkit_sweep::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sweep {
    pub(crate) spec: SweepSpec,
    pub(crate) net: Network,
    pub(crate) names: Vec<String>,
    pub(crate) design: Design,
    /// Per entry of `initial_states`: (species index, count); one empty entry without a list.
    pub(crate) inits: Vec<InitialState>,
    /// The species of the `x0:` columns (named in `initial_states`).
    pub(crate) x0_species: Vec<usize>,
    pub(crate) grid: TimeGrid,
    pub(crate) outputs: Outputs,
    pub(crate) layout: Layout,
    pub(crate) canonical: String,
    pub(crate) hash: String,
}

/// One entry of `initial_states`: (species index, count) pairs.
pub(crate) type InitialState = Vec<(usize, u64)>;

/// The canonical form that the sweep hash is taken of: everything that changes a result.
#[derive(Serialize)]
struct Canonical<'a> {
    format: &'static str,
    spec: &'a SweepSpec,
    network: crnkit_core::network::NetworkSpec,
}

impl Sweep {
    /// Read and check a TOML sweep file; its `network` path is relative to the file's
    /// folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Sweep> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| crnkit_core::Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Sweep::from_toml_str(&text, dir, &path.display().to_string())
    }

    /// Parse and check TOML sweep text; a `network` path is relative to `base`.
    pub fn from_toml_str(text: &str, base: &Path, file: &str) -> Result<Sweep> {
        Sweep::new(SweepSpec::from_toml_str(text, file)?, base)
    }

    /// Check a description (from TOML, JSON or a Python dict); a `network` path is
    /// relative to `base`.
    pub fn new(spec: SweepSpec, base: &Path) -> Result<Sweep> {
        let mut net = load_network(&spec, base)?;
        let names = parameter_names(&spec.points);
        check_names(&net, &names)?;
        for (name, &count) in &spec.initial {
            let i = species(&net, name, "initial")?;
            net.set_initial(i, count)?;
        }
        let (inits, x0_species) = initial_states(&net, &spec)?;
        let grid = time_grid(&spec)?;
        let outputs = outputs(&spec, &net)?;
        let design = design(&spec)?;
        let layout = layout(&net, &names, &x0_species, &outputs);
        let canonical = canonical(&spec, &net)?;
        let mut h = Fnv1a::new();
        h.update(canonical.as_bytes());
        let sweep = Sweep {
            hash: format!("{:016x}", h.finish()),
            spec,
            net,
            names,
            design,
            inits,
            x0_species,
            grid,
            outputs,
            layout,
            canonical,
        };
        sweep.check_size()?;
        Ok(sweep)
    }

    /// The description as given.
    pub fn spec(&self) -> &SweepSpec {
        &self.spec
    }

    /// The network (with the description's `initial` counts).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Number of points: parameter points × initial states.
    pub fn points(&self) -> u64 {
        self.design.len() * self.inits.len() as u64
    }

    /// The output times.
    pub fn times(&self) -> &[f64] {
        self.grid.times()
    }

    /// The swept parameters, in the order of their columns.
    pub fn parameter_names(&self) -> &[String] {
        &self.names
    }

    /// The columns of the sweep's table.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The sweep hash: 16 hex digits of FNV-1a over the canonical description (every
    /// setting that changes a result, and the network's description; not the network's
    /// path, `shard_size` or `max_bytes`). Recorded in every shard file.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The canonical description (JSON) that [`Sweep::hash`] is taken of; recorded in
    /// every file as `crnkit.sweep`.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// How many shards the description's `shard_size` suggests (1 without it).
    pub fn suggested_shards(&self) -> u64 {
        match self.spec.shard_size {
            Some(s) if s > 0 => self.points().div_ceil(s).max(1),
            _ => 1,
        }
    }

    /// Parameter values (in the order of [`Sweep::parameter_names`]) and the index of the
    /// `initial_states` entry of point `p`; an error beyond the last point.
    pub fn point(&self, p: u64) -> Result<(Vec<f64>, usize)> {
        if p >= self.points() {
            return Err(crnkit_core::Error::IndexOutOfRange {
                kind: "sweep point",
                index: usize::try_from(p).unwrap_or(usize::MAX),
                len: usize::try_from(self.points()).unwrap_or(usize::MAX),
            }
            .into());
        }
        Ok(self.point_unchecked(p))
    }

    /// [`Sweep::point`] for `p` known to be in range.
    pub(crate) fn point_unchecked(&self, p: u64) -> (Vec<f64>, usize) {
        let n_init = self.inits.len() as u64;
        let mut values = vec![0.0; self.names.len()];
        self.design.point(p / n_init, &mut values);
        (values, (p % n_init) as usize)
    }

    /// Refuse a table larger than `max_bytes`.
    fn check_size(&self) -> Result<()> {
        let (points, times, cols) = (
            self.points() as u128,
            self.grid.len() as u128,
            self.layout.len() as u128,
        );
        let bytes = points * times * cols * 8;
        if bytes > u128::from(self.spec.max_bytes) {
            return Err(Error::TooLarge {
                what: format!("the table ({points} points × {times} times × {cols} columns)"),
                bytes,
                limit: self.spec.max_bytes,
            });
        }
        Ok(())
    }
}

/// The network named by the description.
fn load_network(spec: &SweepSpec, base: &Path) -> Result<Network> {
    match (&spec.network, &spec.crn) {
        (Some(name), None) => match name.strip_prefix("builtin:") {
            Some(model) => Ok(crnkit_core::models::bundled(model)?),
            None => Ok(crnkit_io::read_network(base.join(name))?),
        },
        (None, Some(text)) => Ok(Network::from_crn_str(text, "<sweep crn>")?),
        (Some(_), Some(_)) => Err(Error::setting(
            "network",
            "both `network` and `crn`",
            "give the network once: a file, `builtin:NAME`, or `crn` text",
        )),
        (None, None) => Err(Error::setting(
            "network",
            "nothing",
            "a network is needed: a file, `builtin:NAME`, or `crn` text",
        )),
    }
}

/// The swept parameters' names, in order.
fn parameter_names(points: &PointsSpec) -> Vec<String> {
    match points {
        PointsSpec::Grid { parameters }
        | PointsSpec::Lhs { parameters, .. }
        | PointsSpec::Halton { parameters, .. } => {
            parameters.iter().map(|a| a.name.clone()).collect()
        }
        PointsSpec::List { names, .. } => names.clone(),
    }
}

/// Every swept name is a parameter of the network, once, and can be a column.
fn check_names(net: &Network, names: &[String]) -> Result<()> {
    for (i, name) in names.iter().enumerate() {
        if net.parameter(name).is_none() {
            return Err(crnkit_core::Error::UnknownParameter {
                name: name.clone(),
                hint: " (swept in the sweep description's `points`)".into(),
            }
            .into());
        }
        if names[..i].contains(name) {
            return Err(Error::setting("points", name, "a parameter is swept twice"));
        }
        if name == "point" || name == "time" || name.contains(':') {
            return Err(Error::setting(
                "points",
                name,
                "`point`, `time` and names with `:` are column names of the table",
            ));
        }
    }
    Ok(())
}

/// The index of species `name`, or an error naming `setting`.
fn species(net: &Network, name: &str, setting: &str) -> Result<usize> {
    net.species_index(name)
        .ok_or_else(|| Error::setting(setting, name, "no species of this name in the network"))
}

/// The entries of `initial_states` (one empty entry without a list) and the species they
/// name, in species order.
fn initial_states(net: &Network, spec: &SweepSpec) -> Result<(Vec<InitialState>, Vec<usize>)> {
    if spec.initial_states.is_empty() {
        return Ok((vec![Vec::new()], Vec::new()));
    }
    let mut named = BTreeMap::new();
    let mut inits = Vec::with_capacity(spec.initial_states.len());
    for (k, state) in spec.initial_states.iter().enumerate() {
        let mut entry = Vec::with_capacity(state.len());
        for (name, &count) in state {
            let i = species(net, name, &format!("initial_states[{k}]"))?;
            if count > crnkit_core::network::MAX_COUNT {
                return Err(crnkit_core::Error::InvalidCount {
                    species: name.clone(),
                    value: count.to_string(),
                }
                .into());
            }
            named.insert(i, ());
            entry.push((i, count));
        }
        inits.push(entry);
    }
    Ok((inits, named.into_keys().collect()))
}

/// The time grid, checked with the description's names.
fn time_grid(spec: &SweepSpec) -> Result<TimeGrid> {
    let t = &spec.time;
    if !(t.until.is_finite() && t.until >= 0.0) {
        return Err(Error::setting("time.until", t.until, "finite and >= 0"));
    }
    if !(t.every.is_finite() && t.every > 0.0) {
        return Err(Error::setting("time.every", t.every, "finite and > 0"));
    }
    Ok(TimeGrid::new(t.until, t.every)?)
}

/// What each point computes, checked.
fn outputs(spec: &SweepSpec, net: &Network) -> Result<Outputs> {
    let ssa = match &spec.ssa {
        Some(s) => {
            if spec.replicates == 0 {
                return Err(Error::setting(
                    "replicates",
                    0,
                    "at least one SSA run per point",
                ));
            }
            Some(s.method.parse::<Method>().map_err(|_| {
                Error::setting(
                    "ssa.method",
                    &s.method,
                    "expected auto, direct, next-reaction or rejection",
                )
            })?)
        }
        None => None,
    };
    let cme = match &spec.cme {
        Some(c) => {
            let fsp = crnkit_sim::cme::FspOptions {
                tol: c.tol,
                max_states: c.max_states,
                ..Default::default()
            };
            fsp.validate().map_err(|_| {
                Error::setting(
                    "cme",
                    format!("tol {}, max_states {}", c.tol, c.max_states),
                    "tol in (0, 1) and max_states >= 1",
                )
            })?;
            Some(fsp)
        }
        None => None,
    };
    let ode = match &spec.ode {
        Some(o) if !(o.rtol > 0.0 && o.atol > 0.0) => {
            return Err(Error::setting(
                "ode",
                format!("rtol {}, atol {}", o.rtol, o.atol),
                "tolerances must be > 0",
            ));
        }
        Some(o) => {
            net.require_mass_action("the ODE of a sweep")?;
            Some((o.rtol, o.atol))
        }
        None => None,
    };
    let thermo = thermo_method(spec, net)?;
    if ssa.is_none() && cme.is_none() && ode.is_none() && thermo.is_none() {
        return Err(Error::setting(
            "outputs",
            "none",
            "nothing to compute: add [ssa], [cme], [ode] or [thermo]",
        ));
    }
    Ok(Outputs {
        ssa,
        cme,
        ode,
        thermo,
    })
}

/// The `[thermo]` method, checked: every reaction needs a reverse.
fn thermo_method(
    spec: &SweepSpec,
    net: &Network,
) -> Result<Option<crnkit_sim::thermo::ThermoMethod>> {
    use crnkit_sim::thermo::ThermoMethod;
    let Some(t) = &spec.thermo else {
        return Ok(None);
    };
    let method = match t.method.as_str() {
        "cme" => ThermoMethod::Cme,
        "ode" => ThermoMethod::Ode,
        other => {
            return Err(Error::setting(
                "thermo.method",
                other,
                "expected cme or ode",
            ));
        }
    };
    crnkit_sim::thermo::reverse_pairs(net)?;
    Ok(Some(method))
}

/// One axis of a grid: its values.
fn grid_axis(k: usize, a: &Axis) -> Result<Vec<f64>> {
    let at = |field: &str| format!("points.parameters[{k}].{field}");
    match (&a.values, a.lo, a.hi, a.n) {
        (Some(values), None, None, None) => {
            if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
                return Err(Error::setting(
                    at("values"),
                    format!("{values:?}"),
                    "finite numbers, at least one",
                ));
            }
            Ok(values.clone())
        }
        (None, Some(lo), Some(hi), Some(n)) => {
            check_range(k, lo, hi, a.scale)?;
            if n == 0 {
                return Err(Error::setting(at("n"), n, "at least one value"));
            }
            Ok(axis_values(lo, hi, n, a.scale))
        }
        _ => Err(Error::setting(
            at("values"),
            &a.name,
            "a grid axis has either `values`, or `lo`, `hi` and `n`",
        )),
    }
}

/// `lo`..`hi` is a range on `scale`.
fn check_range(k: usize, lo: f64, hi: f64, scale: Scale) -> Result<()> {
    let at = |field: &str| format!("points.parameters[{k}].{field}");
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(Error::setting(
            at("lo"),
            format!("{lo}..{hi}"),
            "finite ends",
        ));
    }
    if hi < lo {
        return Err(Error::setting(at("hi"), hi, "hi >= lo"));
    }
    if scale == Scale::Log && lo <= 0.0 {
        return Err(Error::setting(at("lo"), lo, "a log scale needs lo > 0"));
    }
    Ok(())
}

/// The ranges of a design (no `values` or `n`).
fn design_ranges(parameters: &[Axis]) -> Result<Vec<(f64, f64, Scale)>> {
    parameters
        .iter()
        .enumerate()
        .map(|(k, a)| match (&a.values, a.lo, a.hi, a.n) {
            (None, Some(lo), Some(hi), None) => {
                check_range(k, lo, hi, a.scale)?;
                Ok((lo, hi, a.scale))
            }
            _ => Err(Error::setting(
                format!("points.parameters[{k}]"),
                &a.name,
                "a design's parameter has `lo` and `hi` (and `scale`), no `values` or `n`",
            )),
        })
        .collect()
}

/// The points of the description, sized before anything is allocated.
fn design(spec: &SweepSpec) -> Result<Design> {
    let limit = spec.max_bytes;
    let too_large = |what: String, bytes: u128| Error::TooLarge { what, bytes, limit };
    match &spec.points {
        PointsSpec::Grid { parameters } => {
            let axes = parameters
                .iter()
                .enumerate()
                .map(|(k, a)| grid_axis(k, a))
                .collect::<Result<Vec<_>>>()?;
            let count = axes
                .iter()
                .try_fold(1u64, |acc, a| acc.checked_mul(a.len() as u64));
            match count {
                Some(_) => Ok(Design::Grid(axes)),
                None => Err(too_large("the grid's points".into(), u128::MAX)),
            }
        }
        PointsSpec::List { names, values } => {
            for (p, row) in values.iter().enumerate() {
                if row.len() != names.len() || row.iter().any(|v| !v.is_finite()) {
                    return Err(Error::setting(
                        format!("points.values[{p}]"),
                        format!("{row:?}"),
                        format!("{} finite numbers, one per name", names.len()),
                    ));
                }
            }
            Ok(Design::Table {
                values: values.concat(),
                dims: names.len(),
                n: values.len() as u64,
            })
        }
        PointsSpec::Lhs {
            n,
            seed,
            parameters,
        } => {
            let ranges = design_ranges(parameters)?;
            check_design_n(*n)?;
            let bytes = u128::from(*n) * ranges.len() as u128 * 16;
            if bytes > u128::from(limit) {
                return Err(too_large(
                    format!("the Latin hypercube of {n} points"),
                    bytes,
                ));
            }
            let unit = latin_hypercube(*n, ranges.len(), seed.unwrap_or(spec.seed));
            let dims = ranges.len();
            let values = unit
                .iter()
                .enumerate()
                .map(|(i, &u)| {
                    let (lo, hi, scale) = ranges[i % dims.max(1)];
                    from_unit(u, lo, hi, scale)
                })
                .collect();
            Ok(Design::Table {
                values,
                dims,
                n: *n,
            })
        }
        PointsSpec::Halton { n, parameters } => {
            let ranges = design_ranges(parameters)?;
            check_design_n(*n)?;
            if ranges.len() > HALTON_MAX_DIMS {
                return Err(Error::setting(
                    "points.parameters",
                    ranges.len(),
                    format!("a Halton design takes at most {HALTON_MAX_DIMS} parameters"),
                ));
            }
            Ok(Design::Halton { ranges, n: *n })
        }
    }
}

/// A design has at least one point.
fn check_design_n(n: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::setting("points.n", 0, "at least one point"));
    }
    Ok(())
}

/// The columns: point, parameters, `x0:` counts, time, then the outputs' statistics.
fn layout(net: &Network, names: &[String], x0: &[usize], out: &Outputs) -> Layout {
    let species = net.species_names();
    let mut columns: Vec<String> = species.iter().map(|s| s.to_string()).collect();
    columns.extend(net.compile().observable_names().iter().cloned());
    let mut l = Layout::default();
    l.push("point", ColumnKind::U64);
    for n in names {
        l.push(n, ColumnKind::F64);
    }
    for &i in x0 {
        l.push(&format!("x0:{}", species[i]), ColumnKind::U64);
    }
    l.push("time", ColumnKind::F64);
    if out.ssa.is_some() {
        for stat in ["ssa_mean", "ssa_sd"] {
            for c in &columns {
                l.push(&format!("{stat}:{c}"), ColumnKind::F64);
            }
        }
    }
    if out.cme.is_some() {
        for stat in ["cme_mean", "cme_sd"] {
            for c in &columns {
                l.push(&format!("{stat}:{c}"), ColumnKind::F64);
            }
        }
        l.push("cme_error", ColumnKind::F64);
    }
    if out.ode.is_some() {
        for s in &species {
            l.push(&format!("ode:{s}"), ColumnKind::F64);
        }
    }
    if out.thermo.is_some() {
        for c in [
            "thermo_sigma",
            "thermo_entropy_produced",
            "thermo_free_energy",
        ] {
            l.push(c, ColumnKind::F64);
        }
    }
    l
}

/// The canonical JSON of what changes a result.
fn canonical(spec: &SweepSpec, net: &Network) -> Result<String> {
    let mut spec = spec.clone();
    spec.network = None;
    spec.crn = None;
    spec.shard_size = None;
    spec.max_bytes = crate::spec::DEFAULT_MAX_BYTES;
    let c = Canonical {
        format: "crnkit-sweep 1",
        spec: &spec,
        network: net.to_spec(),
    };
    serde_json::to_string(&c)
        .map_err(|e| Error::setting("description", "canonical form", e.to_string()))
}
