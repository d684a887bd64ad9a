//! `crnkit solve`: solve the chemical master equation (finite state projection with a certified error

use std::path::PathBuf;

use clap::Args;
use crnkit::cme::{self, FspOptions};
use crnkit::io::results::{self, ToCsv, ToJson};

use super::common::{apply_overrides, emit, parse_bounds, thread_pool};

/// Solve the chemical master equation (finite state projection with a certified error
/// bound): transient on a time grid, or the stationary distribution.
#[derive(Args)]
pub struct SolveArgs {
    /// Model file (.crn, .json, .toml or BioNetGen .net).
    pub model: PathBuf,
    /// End time (transient solve).
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "stationary"
    )]
    pub until: Option<f64>,
    /// Output interval of the time grid (transient solve).
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "stationary"
    )]
    pub every: Option<f64>,
    /// Solve for the stationary distribution instead (sparse LU).
    #[arg(long, conflicts_with_all = ["until", "every"])]
    pub stationary: bool,
    /// With --stationary: use the exact product form (complex-balanced networks).
    #[arg(long, requires = "stationary")]
    pub product_form: bool,
    /// L1 error tolerance.
    #[arg(long, default_value_t = 1e-8, allow_hyphen_values = true)]
    pub tol: f64,
    /// Largest projection allowed.
    #[arg(long, default_value_t = 10_000_000)]
    pub max_states: usize,
    /// Largest work of a transient solve, in generator entries touched (non-zeros times
    /// matrix-vector products); the solve stops early, by name, when it would need more.
    #[arg(long, default_value_t = crnkit::cme::DEFAULT_MAX_WORK)]
    pub max_work: f64,
    /// Upper bound of a species' count, e.g. --bound X=200 (repeatable).
    #[arg(long = "bound", value_name = "S=N")]
    pub bounds: Vec<String>,
    /// Keep the projection fixed (all states reachable within the bounds).
    #[arg(long)]
    pub fixed: bool,
    /// Initial count override, e.g. --init X=10 (repeatable).
    #[arg(long = "init", value_name = "S=N")]
    pub inits: Vec<String>,
    /// Parameter override, e.g. --set k1=0.5 (repeatable).
    #[arg(long = "set", value_name = "P=V")]
    pub sets: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Statistics: time,<S>-mean,<S>-sd,...,fsp_error,states.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Marginals: time,species,count,probability.
    #[arg(long)]
    pub marginals: Option<PathBuf>,
    /// Everything as one JSON document (means, sds, marginals, covariances, errors).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the generator on the initial projection as raw CSR arrays to this folder.
    #[arg(long)]
    pub export_matrix: Option<PathBuf>,
}

/// Run `crnkit solve`.
pub fn run(a: SolveArgs) -> crnkit::Result<()> {
    let SolveArgs {
        model,
        until,
        every,
        stationary,
        product_form,
        tol,
        max_states,
        max_work,
        bounds,
        fixed,
        inits,
        sets,
        threads,
        out,
        marginals,
        json,
        export_matrix,
    } = a;
    let mut net = crnkit::io::read_network(&model)?;
    for path in [&out, &marginals, &json].into_iter().flatten() {
        crnkit::fs::check_writable(path)?;
    }
    apply_overrides(&mut net, &inits, &sets)?;
    let compiled = net.compile();
    let opts = FspOptions {
        tol,
        max_states,
        max_work,
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
            results::write_json(path, json)?;
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
        "CME of {} to t = {until}: up to {} states, {} matrix-vector products ({:.2e} \
         entries), {} steps \
         ({} redone), {} expansions, {} shrinks, in {secs:.3} s; L1 error ≤ {:.3e}",
        job.model.display(),
        s.max_states,
        s.matvecs,
        s.work,
        s.steps,
        s.rejected_steps,
        s.expansions,
        s.shrinks,
        sol.error_bound.last().copied().unwrap_or(0.0)
    );
    job.write(&sol.to_csv(), &results::marginals_csv(&sol), &sol.to_json())
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
            &results::product_form_stats_csv(job.compiled, &pf),
            &results::distribution_marginals_csv(job.compiled, &pf.distribution),
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
        &results::stationary_stats_csv(job.compiled, &st),
        &results::distribution_marginals_csv(job.compiled, &st.distribution),
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
    results::write_generator_raw(&g, dir)?;
    let mut p0 = vec![0.0; space.len()];
    p0[0] = 1.0;
    crnkit::io::write_atomic(&dir.join("p0.f64"), &results::f64_le_bytes(&p0))?;
    eprintln!(
        "wrote the {}-state generator ({} entries) to {}",
        g.dim(),
        g.nnz(),
        dir.display()
    );
    Ok(())
}
