//! Helpers shared by several commands.

use crnkit::Network;
use crnkit::error::{ModelError, ModelResult};

/// Write `text` to `path` atomically, or to standard output.
pub fn emit(path: Option<&std::path::Path>, text: &str) -> crnkit::Result<()> {
    match path {
        Some(p) => {
            crnkit::io::write_atomic(p, text.as_bytes())?;
            eprintln!("wrote {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// A rayon pool with `threads` workers (all cores by default).
pub fn thread_pool(threads: Option<usize>) -> ModelResult<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        if t == 0 {
            return Err(ModelError::InvalidSetting {
                name: "--threads",
                value: "0".into(),
                reason: "at least one thread is needed",
            });
        }
        b = b.num_threads(t);
    }
    b.build().map_err(|e| ModelError::Unsupported {
        feature: format!("thread pool: {e}"),
    })
}

/// Split `S=V`.
pub fn split_assignment<'a>(text: &'a str, what: &'static str) -> ModelResult<(&'a str, &'a str)> {
    text.split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .ok_or_else(|| ModelError::InvalidSetting {
            name: what,
            value: text.to_string(),
            reason: "expected NAME=VALUE",
        })
}

/// `--init S=N` and `--set P=V` overrides.
pub fn apply_overrides(net: &mut Network, inits: &[String], sets: &[String]) -> ModelResult<()> {
    for s in sets {
        let (name, value) = split_assignment(s, "--set")?;
        let v: f64 = value.parse().map_err(|_| ModelError::InvalidSetting {
            name: "--set",
            value: s.clone(),
            reason: "the value must be a number",
        })?;
        net.set_parameter(name, v)?;
    }
    for s in inits {
        let (name, value) = split_assignment(s, "--init")?;
        let i = net
            .species_index(name)
            .ok_or_else(|| ModelError::UnknownSpecies {
                name: name.to_string(),
            })?;
        let count: u64 = value.parse().map_err(|_| ModelError::InvalidCount {
            species: name.to_string(),
            value: value.to_string(),
        })?;
        net.set_initial(i, count)?;
    }
    Ok(())
}

/// `--bound S=N` per species.
pub fn parse_bounds(net: &Network, bounds: &[String]) -> ModelResult<Vec<Option<u32>>> {
    let mut out = vec![None; net.num_species()];
    for b in bounds {
        let (name, value) = split_assignment(b, "--bound")?;
        let i = net
            .species_index(name)
            .ok_or_else(|| ModelError::UnknownSpecies {
                name: name.to_string(),
            })?;
        let v: u32 = value
            .parse()
            .ok()
            .filter(|&v| v < u32::MAX - 1)
            .ok_or_else(|| ModelError::InvalidSetting {
                name: "--bound",
                value: b.clone(),
                reason: "a bound is a count below 2^32 − 2",
            })?;
        out[i] = Some(v);
    }
    Ok(out)
}

/// `--method` of `crnkit simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Choose by network size.
    Auto,
    /// The direct method.
    Direct,
    /// The next reaction method (Gibson–Bruck).
    #[value(alias = "nrm")]
    NextReaction,
    /// Rejection with composition-rejection (RSSA-CR).
    #[value(alias = "rssa", alias = "rssa-cr")]
    Rejection,
}

impl From<MethodArg> for crnkit::ssa::Method {
    fn from(m: MethodArg) -> Self {
        use crnkit::ssa::Method;
        match m {
            MethodArg::Auto => Method::Auto,
            MethodArg::Direct => Method::Direct,
            MethodArg::NextReaction => Method::NextReaction,
            MethodArg::Rejection => Method::Rejection,
        }
    }
}

/// `--method` of `crnkit thermo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ThermoMethodArg {
    /// The chemical master equation.
    Cme,
    /// SSA paths (with p from the CME).
    Ssa,
    /// The deterministic limit.
    Ode,
}

impl From<ThermoMethodArg> for crnkit::thermo::ThermoMethod {
    fn from(m: ThermoMethodArg) -> Self {
        use crnkit::thermo::ThermoMethod;
        match m {
            ThermoMethodArg::Cme => ThermoMethod::Cme,
            ThermoMethodArg::Ssa => ThermoMethod::Ssa,
            ThermoMethodArg::Ode => ThermoMethod::Ode,
        }
    }
}

/// The library's error with the command-line option that controls it, where one does.
pub fn with_hint(e: &crnkit::Error) -> String {
    use crnkit::error::SurrogateError;
    let hint = match (e.kind(), e.surrogate()) {
        (Some(ModelError::TooManyStates { .. }), _) => {
            Some("raise the limit with --max-states N or bound a species with --bound S=N".into())
        }
        (Some(ModelError::WorkLimit { .. }), _) => Some(
            "raise the limit with --max-work W, loosen --tol, bound a species with --bound \
             S=N, or estimate the distribution with `crnkit simulate`"
                .into(),
        ),
        (
            Some(ModelError::InvalidSetting {
                name: "checkpoint",
                value,
                ..
            }),
            _,
        ) => Some(format!(
            "remove {value} to start again (`crnkit distill` also takes --fresh)"
        )),
        (Some(ModelError::InvalidSetting { name, .. }), _)
        | (_, Some(SurrogateError::InvalidSetting { name, .. })) => {
            flag(name).map(|f| format!("set by {f}"))
        }
        (Some(ModelError::Unsupported { feature }), _)
            if feature.starts_with("the rejection method") =>
        {
            Some("choose another with --method direct or --method next-reaction".into())
        }
        _ => None,
    };
    match hint {
        Some(h) => format!("{e}\nhint: {h}"),
        None => e.to_string(),
    }
}

/// The option of a library setting, for the settings that commands expose.
fn flag(setting: &str) -> Option<&'static str> {
    Some(match setting {
        "tol" => "--tol",
        "max_states" => "--max-states",
        "max_work" => "--max-work",
        "method" => "--method",
        "until" => "--until",
        "every" => "--every",
        "runs" => "--runs",
        _ => return None,
    })
}
