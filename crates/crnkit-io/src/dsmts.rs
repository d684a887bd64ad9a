//! The SBML Test Suite's stochastic cases (DSMTS; Evans, Gillespie & Wilkinson 2008):
//! run a case folder `NNNNN/` (`NNNNN-sbml-l3v2.xml` or `-l2v4.xml`, `NNNNN-settings.txt`,
//! `NNNNN-results.csv`) and apply the suite's tests at every output time t > 0:
//!
//! * mean: Z_t = √n (X̄_t − μ_t)/σ_t ∈ (−3, 3);
//! * sd: Y_t = √(n/2) (S_t²/σ_t² − 1) ∈ (−5, 5), with S_t² = (1/n) Σ (X_t − μ_t)² about the
//!   known mean, i.e. S² = ((n − 1)/n) s² + (X̄ − μ)² from the ensemble's Welford moments;
//!
//! and exact equality at t = 0. These are z-scores, calibrated for any n ≥ 1,000 (and
//! close to calibrated well below); a correct simulator fails about 0.27 % of the mean tests
//! and a few sd tests per 4,000 by chance.

use std::path::Path;

use crnkit_core::{Error, Result};
use crnkit_sim::ssa::{EnsembleConfig, Method};

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseOutcome {
    /// Simulated and tested.
    Tested {
        /// Checks made (per variable and time, each of mean and sd).
        checks: usize,
        /// Mean tests failed.
        mean_failures: usize,
        /// Sd tests failed.
        sd_failures: usize,
        /// Largest |Z| and |Y| seen.
        worst: (f64, f64),
    },
    /// The model uses something crnkit refuses (the error says what).
    Unsupported(String),
}

/// One case's report.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseReport {
    /// Case number (folder name).
    pub case: String,
    /// `l3v2` or `l2v4`.
    pub level: String,
    /// Runs simulated.
    pub runs: u64,
    /// What happened.
    pub outcome: CaseOutcome,
    /// Wall time (s).
    pub seconds: f64,
}

struct Settings {
    start: f64,
    duration: f64,
    steps: usize,
    variables: Vec<String>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn settings(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let get = |key: &str| -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .map(|v| v.trim().to_string())
    };
    let bad = |key: &'static str| Error::InvalidSetting {
        name: key,
        value: path.display().to_string(),
        reason: "missing or malformed in the settings file",
    };
    let num = |key: &'static str| -> Result<f64> {
        get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(key))
    };
    Ok(Settings {
        start: num("start")?,
        duration: num("duration")?,
        steps: num("steps")? as usize,
        variables: get("variables")
            .ok_or_else(|| bad("variables"))?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

/// Reference table: per variable, (mean, sd) per output time.
fn reference(path: &Path, vars: &[String]) -> Result<Vec<Vec<(f64, f64)>>> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: String| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(Error::InvalidSetting {
                name: "results column",
                value: name,
                reason: "not in the reference results",
            })
    };
    let cols: Vec<(usize, usize)> = vars
        .iter()
        .map(|v| Ok((col(format!("{v}-mean"))?, col(format!("{v}-sd"))?)))
        .collect::<Result<_>>()?;
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|c| c.trim().parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    Ok(cols
        .iter()
        .map(|&(m, s)| {
            rows.iter()
                .map(|r| {
                    (
                        r.get(m).copied().unwrap_or(f64::NAN),
                        r.get(s).copied().unwrap_or(f64::NAN),
                    )
                })
                .collect()
        })
        .collect())
}

/// Run case folder `dir` (named `NNNNN`) at `level` (`l3v2` or `l2v4`) with `runs`
/// trajectories from `seed`. Unsupported models are reported, not failed; a reference file
/// that cannot be read is an error.
pub fn run_case(dir: &Path, level: &str, runs: u64, seed: u64) -> Result<CaseReport> {
    let start = std::time::Instant::now();
    let case = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let s = settings(&dir.join(format!("{case}-settings.txt")))?;
    let reference = reference(&dir.join(format!("{case}-results.csv")), &s.variables)?;
    let report = |outcome| CaseReport {
        case: case.clone(),
        level: level.to_string(),
        runs,
        outcome,
        seconds: start.elapsed().as_secs_f64(),
    };
    let net = match crate::read_network(dir.join(format!("{case}-sbml-{level}.xml"))) {
        Ok(n) => n,
        Err(e @ Error::Unsupported { .. }) => {
            return Ok(report(CaseOutcome::Unsupported(e.to_string())));
        }
        Err(e) => match &e {
            Error::Parse { source, .. } if matches!(**source, Error::Unsupported { .. }) => {
                return Ok(report(CaseOutcome::Unsupported(source.to_string())));
            }
            _ => return Err(e),
        },
    };
    if s.start != 0.0 {
        return Ok(report(CaseOutcome::Unsupported(format!(
            "a time course starting at {}",
            s.start
        ))));
    }
    let cfg = EnsembleConfig {
        until: s.duration,
        every: s.duration / s.steps as f64,
        runs,
        seed,
        method: Method::Auto,
        ..EnsembleConfig::default()
    };
    let res = cfg.run(&net)?;
    let n = runs as f64;
    let (mut checks, mut mf, mut sf) = (0, 0, 0);
    let (mut wz, mut wy): (f64, f64) = (0.0, 0.0);
    for (v, refs) in s.variables.iter().zip(&reference) {
        let c = res.column(v).ok_or_else(|| Error::UnknownSpecies {
            name: format!("output `{v}` of case {case}"),
        })?;
        for (k, &(mu, sigma)) in refs.iter().enumerate().take(s.steps + 1) {
            let mean = res.mean(k, c);
            let var = res.variance(k, c);
            checks += 2;
            if k == 0 || sigma == 0.0 {
                if (mean - mu).abs() > 1e-9 * mu.abs().max(1.0) {
                    mf += 1;
                }
                if var.sqrt() > 1e-9 * sigma.max(1.0) && sigma == 0.0 {
                    sf += 1;
                }
                continue;
            }
            let z = n.sqrt() * (mean - mu) / sigma;
            let s2 = (n - 1.0) / n * var + (mean - mu).powi(2);
            let y = (n / 2.0).sqrt() * (s2 / (sigma * sigma) - 1.0);
            wz = wz.max(z.abs());
            wy = wy.max(y.abs());
            if z.is_nan() || z.abs() >= 3.0 {
                mf += 1;
            }
            if y.is_nan() || y.abs() >= 5.0 {
                sf += 1;
            }
        }
    }
    Ok(report(CaseOutcome::Tested {
        checks,
        mean_failures: mf,
        sd_failures: sf,
        worst: (wz, wy),
    }))
}

/// Run every case folder under `root` (sorted) at each of `levels`; case i at level j uses
/// seed `seed + i·levels + j` (independent runs for the two encodings of a case).
pub fn run_suite(root: &Path, levels: &[&str], runs: u64, seed: u64) -> Result<Vec<CaseReport>> {
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .map_err(io_err(root))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        for (j, level) in levels.iter().enumerate() {
            let s = seed.wrapping_add((i * levels.len() + j) as u64);
            out.push(run_case(d, level, runs, s)?);
        }
    }
    Ok(out)
}

/// The table `crnkit sbml-suite` prints: one line per case and the totals.
pub fn table(reports: &[CaseReport]) -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "case   level  runs    checks  mean-fail  sd-fail  max|Z|  max|Y|  seconds  note\n",
    );
    let (mut c, mut m, mut d, mut u) = (0, 0, 0, 0);
    for r in reports {
        match &r.outcome {
            CaseOutcome::Tested {
                checks,
                mean_failures,
                sd_failures,
                worst,
            } => {
                c += checks;
                m += mean_failures;
                d += sd_failures;
                let _ = writeln!(
                    s,
                    "{:<6} {:<6} {:<7} {:>6}  {:>9}  {:>7}  {:>6.2}  {:>6.2}  {:>7.2}",
                    r.case,
                    r.level,
                    r.runs,
                    checks,
                    mean_failures,
                    sd_failures,
                    worst.0,
                    worst.1,
                    r.seconds
                );
            }
            CaseOutcome::Unsupported(why) => {
                u += 1;
                let first = why.lines().next().unwrap_or("");
                let _ = writeln!(
                    s,
                    "{:<6} {:<6} {:<7} {:>6}  {:>9}  {:>7}  {:>6}  {:>6}  {:>7.2}  {first}",
                    r.case, r.level, r.runs, "-", "-", "-", "-", "-", r.seconds
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "total: {} cases tested, {u} unsupported; {c} checks, {m} mean failures, {d} sd failures",
        reports.len() - u
    );
    s
}
