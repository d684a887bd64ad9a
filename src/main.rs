//! The `crnkit` command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crnkit::Network;
use crnkit::cme::{self, FspOptions};
use crnkit::network::CheckReport;
use crnkit::ssa::{EnsembleConfig, Method};
use std::io::IsTerminal;

/// Stochastic chemical reaction networks that learn.
#[derive(Parser)]
#[command(name = "crnkit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a model and report its structure: conservation laws, deficiency, weak
    /// reversibility, detailed balance and free energies.
    Check {
        /// Model file (.crn, .json, .toml or BioNetGen .net).
        model: PathBuf,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Simulate an ensemble of exact stochastic trajectories and write their statistics.
    Simulate {
        /// Model file (.crn, .json, .toml or BioNetGen .net).
        model: PathBuf,
        /// End time.
        #[arg(long, allow_hyphen_values = true)]
        until: f64,
        /// Sampling interval of the recorded grid.
        #[arg(long, allow_hyphen_values = true)]
        every: f64,
        /// Number of trajectories.
        #[arg(long, default_value_t = 1000)]
        runs: u64,
        /// Master seed (the same seed gives identical files, whatever the thread count).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// auto, direct, next-reaction or rejection.
        #[arg(long, default_value = "auto")]
        method: String,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Statistics: time,<S>-mean,<S>-sd,... (species, then observables).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Grid states of the first runs: run,time,<S1>,<S2>,...
        #[arg(long)]
        trajectories: Option<PathBuf>,
        /// How many runs --trajectories keeps.
        #[arg(long, default_value_t = 10)]
        keep: usize,
        /// Per-species histograms at every grid time: time,species,count,runs.
        #[arg(long)]
        histograms: Option<PathBuf>,
    },
    /// Solve the chemical master equation (finite state projection with a certified error
    /// bound): transient on a time grid, or the stationary distribution.
    Solve {
        /// Model file (.crn, .json, .toml or BioNetGen .net).
        model: PathBuf,
        /// End time (transient solve).
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present = "stationary"
        )]
        until: Option<f64>,
        /// Output interval of the time grid (transient solve).
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present = "stationary"
        )]
        every: Option<f64>,
        /// Solve for the stationary distribution instead (sparse LU).
        #[arg(long, conflicts_with_all = ["until", "every"])]
        stationary: bool,
        /// With --stationary: use the exact product form (complex-balanced networks).
        #[arg(long, requires = "stationary")]
        product_form: bool,
        /// L1 error tolerance.
        #[arg(long, default_value_t = 1e-8, allow_hyphen_values = true)]
        tol: f64,
        /// Largest projection allowed.
        #[arg(long, default_value_t = 10_000_000)]
        max_states: usize,
        /// Upper bound of a species' count, e.g. --bound X=200 (repeatable).
        #[arg(long = "bound", value_name = "S=N")]
        bounds: Vec<String>,
        /// Keep the projection fixed (all states reachable within the bounds).
        #[arg(long)]
        fixed: bool,
        /// Initial count override, e.g. --init X=10 (repeatable).
        #[arg(long = "init", value_name = "S=N")]
        inits: Vec<String>,
        /// Parameter override, e.g. --set k1=0.5 (repeatable).
        #[arg(long = "set", value_name = "P=V")]
        sets: Vec<String>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Statistics: time,<S>-mean,<S>-sd,...,fsp_error,states.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Marginals: time,species,count,probability.
        #[arg(long)]
        marginals: Option<PathBuf>,
        /// Everything as one JSON document (means, sds, marginals, covariances, errors).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the generator on the initial projection as raw CSR arrays to this folder.
        #[arg(long)]
        export_matrix: Option<PathBuf>,
    },
    /// Integrate the deterministic (mass-action ODE) limit: amounts on a time grid.
    Ode {
        /// Model file.
        model: PathBuf,
        /// End time.
        #[arg(long, allow_hyphen_values = true)]
        until: f64,
        /// Output interval.
        #[arg(long, allow_hyphen_values = true)]
        every: f64,
        /// Relative tolerance of the BDF integrator.
        #[arg(long, default_value_t = 1e-8)]
        rtol: f64,
        /// Absolute tolerance (molecules).
        #[arg(long, default_value_t = 1e-8)]
        atol: f64,
        /// Output CSV `time,<S1>,...` (standard output without it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Entropy production and free energy over time, from the CME, SSA paths or the ODE.
    Thermo {
        /// Model file (every reaction needs a reverse).
        model: PathBuf,
        /// End time.
        #[arg(long, allow_hyphen_values = true)]
        until: f64,
        /// Output interval.
        #[arg(long, allow_hyphen_values = true)]
        every: f64,
        /// cme, ssa or ode.
        #[arg(long, default_value = "cme")]
        method: String,
        /// SSA runs.
        #[arg(long, default_value_t = 10_000)]
        runs: u64,
        /// SSA seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// CME tolerance.
        #[arg(long, default_value_t = 1e-10, allow_hyphen_values = true)]
        tol: f64,
        /// Largest CME projection.
        #[arg(long, default_value_t = 10_000_000)]
        max_states: usize,
        /// Pair one-way reactions whose reverse has other catalysts (learning networks:
        /// `S + P -> P` with `0 -> S`).
        #[arg(long)]
        pair_catalysed: bool,
        /// Output CSV (standard output without it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Convert a model between formats (.crn, .json, .toml; chosen by the extensions).
    Convert {
        /// Input model.
        input: PathBuf,
        /// Output model (written atomically).
        output: PathBuf,
    },
    /// Learn a target distribution with a detailed-balanced network (exact L-BFGS, sampled
    /// gradients, or the fully chemical learner), as described by a TOML job file. Writes
    /// curve.csv, learned.crn, summary.json and figures to the job's output folder; an
    /// interrupted chemical run resumes from its checkpoint.
    Learn {
        /// Job file (TOML).
        config: PathBuf,
        /// Override the job's output folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the SBML Test Suite's stochastic cases (DSMTS) in DIR (one folder per case):
    /// simulate each, apply the suite's mean and sd tests at every output time, and print
    /// a table per case with the totals.
    SbmlSuite {
        /// Folder holding the case folders (00001, 00002, ...).
        dir: PathBuf,
        /// Runs per case.
        #[arg(long, default_value_t = 10_000)]
        runs: u64,
        /// Seed (case i uses seed + i).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// SBML versions to run: l3v2, l2v4 or both.
        #[arg(long, default_value = "both")]
        level: String,
        /// Only these cases (comma-separated folder names).
        #[arg(long)]
        cases: Option<String>,
    },
    /// Distil a neural surrogate of a network's CME as configured in CONFIG (TOML): design,
    /// teacher, training with checkpoints (an interrupted run resumes), held-out accuracy.
    Distill {
        /// Configuration file (TOML; see docs/surrogate.md).
        config: PathBuf,
        /// Override the output folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Ignore an existing checkpoint and start again.
        #[arg(long)]
        fresh: bool,
    },
    /// Query a distilled surrogate: moments, log-probabilities of states, a marginal, the
    /// joint, or samples of P(x | rates, x0, t).
    Query(QueryArgs),
    /// Infer rates from snapshot data (CSV `time,<S1>,<S2>,...`, one row per cell) with a
    /// distilled surrogate: maximum likelihood (L-BFGS, standard errors), and with --mcmc
    /// Metropolis–Hastings posterior intervals.
    Infer(InferArgs),
    /// List the bundled example models, or print one as .crn text.
    Models {
        /// Print this model.
        name: Option<String>,
    },
    /// Run the main job on the bundled models: analyse each, simulate the Vilar oscillator,
    /// solve the toggle switch's CME.
    Demo,
}

fn run(cli: Cli) -> crnkit::Result<()> {
    match cli.command {
        Command::Check { model, json } => {
            let net = crnkit::io::read_network(&model)?;
            let report = CheckReport::new(&net)?;
            if json {
                println!("{}", report.to_json());
            } else {
                println!("model: {}", model.display());
                print!("{report}");
            }
        }
        Command::Simulate {
            model,
            until,
            every,
            runs,
            seed,
            method,
            threads,
            out,
            trajectories,
            keep,
            histograms,
        } => {
            let net = crnkit::io::read_network(&model)?;
            let cfg = EnsembleConfig {
                until,
                every,
                runs,
                seed,
                method: method.parse::<Method>()?,
                keep_trajectories: if trajectories.is_some() { keep } else { 0 },
                histograms: histograms.is_some(),
                progress: crnkit::bars::on_terminal(),
            };
            let start = std::time::Instant::now();
            let result = cfg.run_with_threads(&net, threads)?;
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "{} runs of {} with {} to t = {}: {} events in {:.3} s ({:.1} ns/event)",
                runs,
                model.display(),
                result.method,
                until,
                result.events,
                secs,
                secs * 1e9 / result.events.max(1) as f64
            );
            match &out {
                Some(path) => {
                    result.write_stats_csv(path)?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{}", result.stats_csv()),
            }
            if let Some(path) = &trajectories {
                result.write_trajectories_csv(path)?;
                eprintln!("wrote {}", path.display());
            }
            if let Some(path) = &histograms {
                result.write_histograms_csv(path)?;
                eprintln!("wrote {}", path.display());
            }
        }
        Command::Solve {
            model,
            until,
            every,
            stationary,
            product_form,
            tol,
            max_states,
            bounds,
            fixed,
            inits,
            sets,
            threads,
            out,
            marginals,
            json,
            export_matrix,
        } => {
            let mut net = crnkit::io::read_network(&model)?;
            apply_overrides(&mut net, &inits, &sets)?;
            let compiled = net.compile();
            let opts = FspOptions {
                tol,
                max_states,
                bounds: parse_bounds(&net, &bounds)?,
                adaptive: !fixed,
                progress: crnkit::bars::on_terminal(),
            };
            let pool = thread_pool(threads)?;
            let job = SolveJob {
                model: &model,
                compiled: &compiled,
                opts: &opts,
                out: out.as_deref(),
                marginals: marginals.as_deref(),
                json: json.as_deref(),
            };
            pool.install(|| {
                if let Some(dir) = &export_matrix {
                    export(&compiled, &opts, dir)?;
                }
                if stationary {
                    solve_stationary(&job, product_form)
                } else {
                    solve_transient(&job, until.unwrap_or(0.0), every.unwrap_or(0.0))
                }
            })?;
        }
        Command::Ode {
            model,
            until,
            every,
            rtol,
            atol,
            out,
        } => {
            let net = crnkit::io::read_network(&model)?.compile();
            let grid = crnkit::ssa::TimeGrid::new(until, every)?;
            let x0: Vec<f64> = net.initial_state().iter().map(|&v| v as f64).collect();
            let sol = crnkit::thermo::ode::integrate(&net, &x0, &grid, rtol, atol)?;
            emit(out.as_deref(), &sol.to_csv())?;
        }
        Command::Thermo {
            model,
            until,
            every,
            method,
            runs,
            seed,
            tol,
            max_states,
            pair_catalysed,
            out,
        } => {
            let net = crnkit::io::read_network(&model)?;
            let cfg = crnkit::thermo::ThermoConfig {
                until,
                every,
                method: method.parse()?,
                runs,
                seed,
                fsp: FspOptions {
                    tol,
                    max_states,
                    ..FspOptions::default()
                },
                progress: crnkit::bars::on_terminal(),
                pair_catalysed,
            };
            let table = crnkit::thermo::thermo_table(&net, &cfg)?;
            emit(out.as_deref(), &table)?;
        }
        Command::Convert { input, output } => {
            let net = crnkit::io::read_network(&input)?;
            net.to_file(&output)?;
            eprintln!("wrote {}", output.display());
        }
        Command::Models { name } => match name {
            None => {
                for (n, text) in crnkit::models::BUNDLED {
                    let summary = text.lines().next().unwrap_or("").trim_start_matches("# ");
                    println!("{n:<20} {summary}");
                }
            }
            Some(n) => print!("{}", crnkit::models::bundled(&n)?.to_crn_string()),
        },
        Command::Learn { config, out } => {
            let text = std::fs::read_to_string(&config).map_err(|source| crnkit::Error::Io {
                path: config.display().to_string(),
                source,
            })?;
            let mut job = crnkit::learn::job::parse(&text, &config.display().to_string())?;
            if let Some(o) = out {
                job.output.dir = o.display().to_string();
            }
            let base = config.parent().unwrap_or(std::path::Path::new("."));
            let s = crnkit::learn::job::run_config(&job, base, std::io::stderr().is_terminal())?;
            println!(
                "{}: D(Q||P) {:.6} -> {:.6} nats, entropy produced per copy {:.6e}, {:.2} s; outputs in {}",
                s.method,
                s.initial_kl,
                s.final_kl,
                s.entropy_produced,
                s.seconds,
                s.dir.display()
            );
        }
        Command::SbmlSuite {
            dir,
            runs,
            seed,
            level,
            cases,
        } => {
            let levels: Vec<&str> = match level.as_str() {
                "both" => vec!["l3v2", "l2v4"],
                "l3v2" => vec!["l3v2"],
                "l2v4" => vec!["l2v4"],
                other => {
                    return Err(crnkit::Error::InvalidSetting {
                        name: "level",
                        value: other.to_string(),
                        reason: "one of l3v2, l2v4, both",
                    });
                }
            };
            let reports = match cases {
                None => crnkit::io::dsmts::run_suite(&dir, &levels, runs, seed)?,
                Some(list) => {
                    let mut out = Vec::new();
                    for (i, c) in list.split(',').map(str::trim).enumerate() {
                        for (j, l) in levels.iter().enumerate() {
                            out.push(crnkit::io::dsmts::run_case(
                                &dir.join(c),
                                l,
                                runs,
                                seed.wrapping_add((i * levels.len() + j) as u64),
                            )?);
                        }
                    }
                    out
                }
            };
            print!("{}", crnkit::io::dsmts::table(&reports));
        }
        Command::Distill { config, out, fresh } => {
            let s = crnkit::surrogate::config::run(
                &config,
                out.as_deref(),
                fresh,
                std::io::stderr().is_terminal(),
            )?;
            let m = &s.metrics;
            println!(
                "distilled in {:.1} s teacher + {:.1} s training ({} epochs, best {}, stop: {:?}{}); held-out joint Hellinger median {:.4}, p90 {:.4}, max {:.4} over {} points × {} times; written to {}",
                m.teacher_seconds,
                m.train_seconds,
                m.epochs_run,
                m.best_epoch,
                s.stop,
                s.resumed_from
                    .map(|e| format!(", resumed after epoch {e}"))
                    .unwrap_or_default(),
                m.hellinger_median,
                m.hellinger_p90,
                m.hellinger_max,
                m.val_points,
                m.times.len(),
                s.dir.display()
            );
        }
        Command::Query(args) => query(args)?,
        Command::Infer(args) => infer(args)?,
        Command::Demo => demo()?,
    }
    Ok(())
}

/// What `crnkit solve` writes where.
struct SolveJob<'a> {
    model: &'a std::path::Path,
    compiled: &'a crnkit::CompiledNetwork,
    opts: &'a FspOptions,
    out: Option<&'a std::path::Path>,
    marginals: Option<&'a std::path::Path>,
    json: Option<&'a std::path::Path>,
}

impl SolveJob<'_> {
    fn write(&self, stats: &str, marginals: &str, json: &serde_json::Value) -> crnkit::Result<()> {
        emit(self.out, stats)?;
        if let Some(path) = self.marginals {
            emit(Some(path), marginals)?;
        }
        if let Some(path) = self.json {
            let text = serde_json::to_string_pretty(json).map_err(|e| crnkit::Error::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            })?;
            crnkit::io::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        Ok(())
    }
}

fn solve_transient(job: &SolveJob<'_>, until: f64, every: f64) -> crnkit::Result<()> {
    let grid = crnkit::ssa::TimeGrid::new(until, every)?;
    let start = std::time::Instant::now();
    let sol = cme::solve_transient(job.compiled, &grid, job.opts)?;
    let secs = start.elapsed().as_secs_f64();
    let s = &sol.stats;
    eprintln!(
        "CME of {} to t = {until}: up to {} states, {} matrix-vector products, {} steps \
         ({} redone), {} expansions, {} shrinks, in {secs:.3} s; L1 error ≤ {:.3e}",
        job.model.display(),
        s.max_states,
        s.matvecs,
        s.steps,
        s.rejected_steps,
        s.expansions,
        s.shrinks,
        sol.error_bound.last().copied().unwrap_or(0.0)
    );
    job.write(&sol.stats_csv(), &sol.marginals_csv(), &sol.to_json())
}

fn solve_stationary(job: &SolveJob<'_>, product: bool) -> crnkit::Result<()> {
    let start = std::time::Instant::now();
    if product {
        let space = cme::enumerate(
            job.compiled,
            job.compiled.initial_state(),
            &job.opts.bounds,
            job.opts.max_states,
        )?;
        let pf = cme::product_form(job.compiled, &space)?;
        eprintln!(
            "product form of {} on {} states in {:.3} s",
            job.model.display(),
            space.len(),
            start.elapsed().as_secs_f64()
        );
        let json = serde_json::json!({
            "method": "product form",
            "states": space.len(),
            "lambda": pf.lambda,
            "mean": pf.distribution.means(),
            "covariance": pf.distribution.covariance(),
        });
        return job.write(
            &pf.stats_csv(job.compiled),
            &pf.marginals_csv(job.compiled),
            &json,
        );
    }
    let st = cme::stationary(job.compiled, job.opts)?;
    let secs = start.elapsed().as_secs_f64();
    let space = st.distribution.space();
    let pf_diff = cme::product_form(job.compiled, space)
        .ok()
        .map(|pf| st.distribution.max_abs_difference(&pf.distribution));
    eprintln!(
        "stationary CME of {}: {} states, residual {:.2e}, boundary mass {:.2e}, in {secs:.3} s{}",
        job.model.display(),
        space.len(),
        st.residual,
        st.boundary_mass,
        pf_diff.map_or(String::new(), |d| format!(
            "; complex balanced: max |π − product form| = {d:.2e}"
        ))
    );
    let json = serde_json::json!({
        "method": "sparse LU",
        "states": space.len(),
        "residual": st.residual,
        "boundary_mass": st.boundary_mass,
        "outflow": st.outflow,
        "max_abs_difference_to_product_form": pf_diff,
        "mean": st.distribution.means(),
        "covariance": st.distribution.covariance(),
    });
    job.write(
        &st.stats_csv(job.compiled),
        &st.marginals_csv(job.compiled),
        &json,
    )
}

/// Write the generator on the fixed projection (within the bounds) for peer tools.
fn export(
    net: &crnkit::CompiledNetwork,
    opts: &FspOptions,
    dir: &std::path::Path,
) -> crnkit::Result<()> {
    let space = cme::enumerate(net, net.initial_state(), &opts.bounds, opts.max_states)?;
    let g = cme::Generator::build(net, &space)?;
    g.write_raw(dir)?;
    let mut p0 = vec![0.0; space.len()];
    p0[0] = 1.0;
    crnkit::io::write_atomic(&dir.join("p0.f64"), &f64_le(&p0))?;
    eprintln!(
        "wrote the {}-state generator ({} entries) to {}",
        g.dim(),
        g.nnz(),
        dir.display()
    );
    Ok(())
}

fn f64_le(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Write `text` to `path` atomically, or to standard output.
fn emit(path: Option<&std::path::Path>, text: &str) -> crnkit::Result<()> {
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
fn thread_pool(threads: Option<usize>) -> crnkit::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        if t == 0 {
            return Err(crnkit::Error::InvalidSetting {
                name: "--threads",
                value: "0".into(),
                reason: "at least one thread is needed",
            });
        }
        b = b.num_threads(t);
    }
    b.build().map_err(|e| crnkit::Error::Unsupported {
        feature: format!("thread pool: {e}"),
    })
}

/// Split `S=V`.
fn split_assignment<'a>(text: &'a str, what: &'static str) -> crnkit::Result<(&'a str, &'a str)> {
    text.split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .ok_or_else(|| crnkit::Error::InvalidSetting {
            name: what,
            value: text.to_string(),
            reason: "expected NAME=VALUE",
        })
}

/// `--init S=N` and `--set P=V` overrides.
fn apply_overrides(net: &mut Network, inits: &[String], sets: &[String]) -> crnkit::Result<()> {
    for s in sets {
        let (name, value) = split_assignment(s, "--set")?;
        let v: f64 = value.parse().map_err(|_| crnkit::Error::InvalidSetting {
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
            .ok_or_else(|| crnkit::Error::UnknownSpecies {
                name: name.to_string(),
            })?;
        let count: u64 = value.parse().map_err(|_| crnkit::Error::InvalidCount {
            species: name.to_string(),
            value: value.to_string(),
        })?;
        net.set_initial(i, count)?;
    }
    Ok(())
}

/// `--bound S=N` per species.
fn parse_bounds(net: &Network, bounds: &[String]) -> crnkit::Result<Vec<Option<u32>>> {
    let mut out = vec![None; net.num_species()];
    for b in bounds {
        let (name, value) = split_assignment(b, "--bound")?;
        let i = net
            .species_index(name)
            .ok_or_else(|| crnkit::Error::UnknownSpecies {
                name: name.to_string(),
            })?;
        let v: u32 = value
            .parse()
            .ok()
            .filter(|&v| v < u32::MAX - 1)
            .ok_or_else(|| crnkit::Error::InvalidSetting {
                name: "--bound",
                value: b.clone(),
                reason: "a bound is a count below 2^32 − 2",
            })?;
        out[i] = Some(v);
    }
    Ok(out)
}

fn demo() -> crnkit::Result<()> {
    println!("crnkit demo: every bundled model, read from its .crn text and analysed.\n");
    for (name, _) in crnkit::models::BUNDLED {
        let net = crnkit::models::bundled(name)?;
        let report = CheckReport::new(&net)?;
        println!("== {name} ==");
        print!("{report}");
        println!();
    }
    println!("== exact simulation: Vilar oscillator, 400 runs to t = 100 ==");
    let net = crnkit::models::bundled("vilar")?;
    let cfg = EnsembleConfig {
        until: 100.0,
        every: 10.0,
        runs: 400,
        seed: 2024,
        method: Method::Auto,
        keep_trajectories: 0,
        histograms: false,
        progress: crnkit::bars::on_terminal(),
    };
    let start = std::time::Instant::now();
    let r = cfg.run(&net)?;
    let secs = start.elapsed().as_secs_f64();
    let (a, rep) = (r.column("A").unwrap_or(6), r.column("R").unwrap_or(7));
    println!(
        "{:>6}  {:>16}  {:>16}",
        "time", "A mean ± sd", "R mean ± sd"
    );
    for (k, t) in r.grid.times().iter().enumerate() {
        println!(
            "{t:>6}  {:>8.1} ± {:<6.1}  {:>8.1} ± {:<6.1}",
            r.mean(k, a),
            r.sd(k, a),
            r.mean(k, rep),
            r.sd(k, rep)
        );
    }
    println!(
        "method {}: {} events in {secs:.2} s ({:.1} M events/s on all threads)",
        r.method,
        r.events,
        r.events as f64 / secs / 1e6
    );

    println!("\n== chemical master equation: toggle switch to t = 10, L1 error ≤ 1e-8 ==");
    let toggle = crnkit::models::bundled("toggle_switch")?.compile();
    let grid = crnkit::ssa::TimeGrid::new(10.0, 2.0)?;
    let opts = FspOptions {
        progress: crnkit::bars::on_terminal(),
        ..FspOptions::default()
    };
    let start = std::time::Instant::now();
    let sol = cme::solve_transient(&toggle, &grid, &opts)?;
    let secs = start.elapsed().as_secs_f64();
    let u = sol.columns.iter().position(|c| c == "U").unwrap_or(4);
    println!(
        "{:>6}  {:>16}  {:>10}  {:>12}",
        "time", "U mean ± sd", "states", "L1 error ≤"
    );
    for (k, t) in sol.times.iter().enumerate() {
        println!(
            "{t:>6}  {:>8.2} ± {:<6.2}  {:>10}  {:>12.2e}",
            sol.mean[k][u], sol.sd[k][u], sol.states[k], sol.error_bound[k]
        );
    }
    println!(
        "{} matrix-vector products in {secs:.2} s (projection grown {} times, shrunk {} times)",
        sol.stats.matvecs, sol.stats.expansions, sol.stats.shrinks
    );
    let dimer = crnkit::models::bundled("dimerisation")?.compile();
    let st = cme::stationary(&dimer, &FspOptions::default())?;
    let pf = cme::product_form(&dimer, st.distribution.space())?;
    let diff = st.distribution.max_abs_difference(&pf.distribution);
    println!(
        "dimerisation stationary: {} states, E[P] = {:.4}, LU vs product form max |Δπ| = {diff:.1e}",
        st.distribution.space().len(),
        st.distribution.means()[0]
    );

    println!("\n== thermodynamics: the Schlögl model, driven by its chemostats ==");
    let schlogl = crnkit::models::bundled("schlogl")?;
    let (c, pairs) = crnkit::thermo::reverse_pairs(&schlogl)?;
    let split = crnkit::thermo::work::WorkSplit::new(&schlogl, &c)?;
    let st = cme::stationary(&c, &FspOptions::default())?;
    let (sp, p) = (st.distribution.space(), st.distribution.probabilities());
    let th = crnkit::thermo::cme_entropy::cme_thermo(&c, &pairs, sp, p, None);
    let (work, _) = split.work_rate(&c, &pairs, sp, p);
    let x0: Vec<f64> = c.initial_state().iter().map(|&v| v as f64).collect();
    let xs = crnkit::thermo::ode::steady_state(&c, &x0)?;
    let ode_sigma = crnkit::thermo::ode::MassAction::new(&c)
        .entropy_production(&pairs, &xs)
        .0;
    println!(
        "stationary: heat released {:.1} kT/time = chemical work {work:.1} kT/time \
         (all work dissipated); ODE steady state X = {:.1} dissipates {ode_sigma:.1} kT/time",
        th.medium_entropy_flow, xs[0]
    );
    Ok(())
}

/// Fix the worker-thread count that candle's CPU kernels read from the environment.
///
/// Without `RAYON_NUM_THREADS`, candle asks the operating system for the core count before
/// every matrix product (reading cgroup and `/proc` files), which made training about 1.5×
/// slower on small batches. The value chosen is rayon's own default, so nothing else changes.
fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: called first thing in `main`, before any other thread exists, so no
        // thread can read the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
}

fn main() -> ExitCode {
    pin_thread_count();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Arguments of `crnkit query`.
#[derive(clap::Args)]
struct QueryArgs {
    /// Folder written by `crnkit distill` (card.json, model.safetensors).
    model_dir: PathBuf,
    /// Rates: NAME=VALUE,... (every parameter of the box) or values in box order.
    #[arg(long, allow_hyphen_values = true)]
    rates: String,
    /// Initial counts: SPECIES=COUNT,... or counts in model order (default: the card's).
    #[arg(long)]
    x0: Option<String>,
    /// Time.
    #[arg(long, allow_hyphen_values = true)]
    t: f64,
    /// Log-probabilities of these states (counts in model order, states separated by `;`).
    #[arg(long, conflicts_with_all = ["marginal", "sample", "joint"])]
    state: Option<String>,
    /// The marginal distribution of this species (CSV n,p).
    #[arg(long, conflicts_with_all = ["sample", "joint"])]
    marginal: Option<String>,
    /// Draw this many samples (CSV, one row per sample).
    #[arg(long, conflicts_with = "joint")]
    sample: Option<usize>,
    /// The joint distribution on the box of caps (CSV <S1>,...,p).
    #[arg(long)]
    joint: bool,
    /// Seed of --sample.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Refuse rates, initial counts or times outside the trained domain (default: warn).
    #[arg(long)]
    strict: bool,
    /// Write the CSV here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// CSV of states (flat, one row of counts per state) with a header of the species names
/// and `suffix`, each row followed by its entry of `extra`.
fn states_csv(species: &[String], suffix: &str, states: &[u32], extra: &[String]) -> String {
    let mut csv = format!("{}{suffix}\n", species.join(","));
    for (row, e) in states.chunks_exact(species.len().max(1)).zip(extra) {
        let r: Vec<String> = row.iter().map(u32::to_string).collect();
        csv.push_str(&format!("{}{e}\n", r.join(",")));
    }
    csv
}

fn query(a: QueryArgs) -> crnkit::Result<()> {
    use crnkit::surrogate::{Surrogate, query as q};
    let s = Surrogate::load(&a.model_dir)?;
    let species = s.card.species.clone();
    let params = q::parse_rates(&a.rates, &s.card.prompt.params.names)?;
    let x0 = match &a.x0 {
        Some(text) => q::parse_counts(text, &species, s.initial())?,
        None => s.initial().to_vec(),
    };
    let outside = s.outside(&params, &x0, a.t)?;
    if !outside.is_empty() {
        if a.strict {
            return Err(crnkit::Error::Surrogate {
                reason: format!(
                    "outside the trained domain (--strict): {}",
                    outside.join("; ")
                ),
            });
        }
        for line in &outside {
            eprintln!("warning: {line}; the surrogate extrapolates");
        }
    }
    let mut csv = String::new();
    if let Some(text) = &a.state {
        let states = q::parse_states(text, &species)?;
        let lp = s.log_prob_at(&states, &params, &x0, a.t)?;
        let extra: Vec<String> = lp.iter().map(|l| format!(",{l},{}", l.exp())).collect();
        csv = states_csv(&species, ",log_prob,prob", &states, &extra);
    } else if let Some(name) = &a.marginal {
        let i = species
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| crnkit::Error::Surrogate {
                reason: format!(
                    "--marginal: `{name}` is not a species of the surrogate (its species: {})",
                    species.join(", ")
                ),
            })?;
        let m = s.marginal_at(i, &params, &x0, a.t)?;
        csv.push_str(&format!("{name},p\n"));
        for (n, p) in m.iter().enumerate() {
            csv.push_str(&format!("{n},{p}\n"));
        }
    } else if let Some(n) = a.sample {
        let xs = s.sample_at(n, &params, &x0, a.t, a.seed)?;
        csv = states_csv(&species, "", &xs, &vec![String::new(); n]);
    } else if a.joint {
        let (states, p) = s.joint_at(&params, &x0, a.t)?;
        let extra: Vec<String> = p.iter().map(|pk| format!(",{pk}")).collect();
        csv = states_csv(&species, ",p", &states, &extra);
    } else {
        let m = q::moments(&s, &params, &x0, a.t)?;
        csv.push_str("species,mean,sd\n");
        for (name, (mean, sd)) in species.iter().zip(m) {
            csv.push_str(&format!("{name},{mean},{sd}\n"));
        }
    }
    match &a.out {
        Some(path) => std::fs::write(path, csv).map_err(|source| crnkit::Error::Io {
            path: path.display().to_string(),
            source,
        }),
        None => {
            print!("{csv}");
            Ok(())
        }
    }
}

/// Arguments of `crnkit infer`.
#[derive(clap::Args)]
struct InferArgs {
    /// Folder written by `crnkit distill`.
    model_dir: PathBuf,
    /// Snapshot data: header `time,<S1>,...` (every species once, any order).
    data: PathBuf,
    /// Parameters to infer (comma-separated; default: every parameter not fixed).
    #[arg(long)]
    free: Option<String>,
    /// Values of the other parameters: NAME=VALUE,...
    #[arg(long)]
    fix: Option<String>,
    /// Initial counts of every cell: SPECIES=COUNT,... or counts in model order.
    #[arg(long)]
    x0: Option<String>,
    /// Also sample the posterior (uniform prior on the box) by Metropolis–Hastings.
    #[arg(long)]
    mcmc: bool,
    /// Posterior samples per chain.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Burn-in steps per chain (proposal tuned during them only).
    #[arg(long, default_value_t = 1000)]
    burn_in: usize,
    /// Chains.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Seed (starts and chains).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write fit.json (and posterior.csv with --mcmc) into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn infer(a: InferArgs) -> crnkit::Result<()> {
    use crnkit::surrogate::inference::{
        InferenceSpec, Likelihood, McmcConfig, MleConfig, read_snapshots,
    };
    use crnkit::surrogate::{Surrogate, query as q};
    let s = Surrogate::load(&a.model_dir)?;
    let data = read_snapshots(&a.data, &s.card.species)?;
    let mut fixed = Vec::new();
    if let Some(text) = &a.fix {
        for item in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| crnkit::Error::Surrogate {
                    reason: format!("--fix: `{item}` is not NAME=VALUE"),
                })?;
            let v: f64 = v.trim().parse().map_err(|_| crnkit::Error::Surrogate {
                reason: format!("--fix: `{}` is not a number", v.trim()),
            })?;
            fixed.push((k.trim().to_string(), v));
        }
    }
    let spec = InferenceSpec {
        free: a
            .free
            .as_deref()
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        fixed,
        initial: match &a.x0 {
            Some(t) => Some(q::parse_counts(t, &s.card.species, s.initial())?),
            None => None,
        },
    };
    let lik = Likelihood::new(&s, &data, &spec)?;
    let fit = lik.mle(&MleConfig {
        seed: a.seed,
        ..MleConfig::default()
    })?;
    println!(
        "maximum likelihood from {} cells ({} distinct rows): log-likelihood {:.3}, {} iterations",
        lik.num_cells(),
        lik.num_rows(),
        fit.log_likelihood,
        fit.iterations
    );
    println!("parameter,estimate,std_error,on_boundary");
    for j in 0..fit.names.len() {
        println!(
            "{},{},{},{}",
            fit.names[j], fit.estimate[j], fit.std_error[j], fit.on_boundary[j]
        );
    }
    let mut json = serde_json::json!({
        "cells": lik.num_cells(),
        "mle": {
            "names": fit.names,
            "estimate": fit.estimate,
            "std_error": fit.std_error,
            "log_likelihood": fit.log_likelihood,
            "iterations": fit.iterations,
            "on_boundary": fit.on_boundary,
        },
    });
    let mut posterior_csv = None;
    if a.mcmc {
        let post = lik.mcmc(&McmcConfig {
            chains: a.chains,
            burn_in: a.burn_in,
            samples: a.samples,
            seed: a.seed,
            ..McmcConfig::default()
        })?;
        println!(
            "Metropolis–Hastings: {} chains × {} samples, acceptance {:.3}",
            post.chains.len(),
            a.samples,
            post.acceptance
        );
        println!("parameter,mean,sd,q2.5,q50,q97.5,rhat");
        for p in &post.summary {
            println!(
                "{},{},{},{},{},{},{}",
                p.name, p.mean, p.sd, p.q025, p.q50, p.q975, p.rhat
            );
        }
        json["mcmc"] = serde_json::json!({
            "acceptance": post.acceptance,
            "summary": post.summary.iter().map(|p| serde_json::json!({
                "name": p.name, "mean": p.mean, "sd": p.sd, "q025": p.q025,
                "q50": p.q50, "q975": p.q975, "rhat": p.rhat,
            })).collect::<Vec<_>>(),
        });
        let mut csv = format!("chain,step,{},log_likelihood\n", post.names.join(","));
        for (c, ch) in post.chains.iter().enumerate() {
            for (k, (x, l)) in ch.samples.iter().zip(&ch.log_likelihood).enumerate() {
                let v: Vec<String> = x.iter().map(f64::to_string).collect();
                csv.push_str(&format!("{c},{k},{},{l}\n", v.join(",")));
            }
        }
        posterior_csv = Some(csv);
    }
    if let Some(dir) = &a.out {
        let io = |source, p: &std::path::Path| crnkit::Error::Io {
            path: p.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        let text = serde_json::to_string_pretty(&json).map_err(|e| crnkit::Error::Surrogate {
            reason: format!("cannot serialise the fit: {e}"),
        })?;
        crnkit::io::write_atomic(&dir.join("fit.json"), text.as_bytes())?;
        if let Some(csv) = posterior_csv {
            crnkit::io::write_atomic(&dir.join("posterior.csv"), csv.as_bytes())?;
        }
    }
    Ok(())
}
