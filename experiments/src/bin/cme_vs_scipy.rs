//! The CME benchmark side by side with SciPy: build and solve a 1,026,000-state CME (the
//! three-stage gene cascade in `benches/models/cascade.crn`, fixed box A ≤ 44, B ≤ 119,
//! C ≤ 189) from all-zero counts to time t, then export the same generator and time
//! `scipy.sparse.linalg.expm_multiply` on it (`benches/peers/scipy_expm.py`). Accuracy of
//! both is measured in L1 against a reference solve at tolerance 1e-14. Peak memory is the
//! process's high-water mark (VmHWM) right after the timed solve.
//!
//! `cargo run --release -p crnkit-experiments --bin cme_vs_scipy -- [--t 1] [--no-scipy]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use crnkit::cme::{self, FspOptions};
use crnkit::ssa::TimeGrid;

#[derive(Parser)]
struct Args {
    /// End time.
    #[arg(long, default_value_t = 1.0)]
    t: f64,
    /// Skip the SciPy run.
    #[arg(long)]
    no_scipy: bool,
    /// Output folder.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

fn vm_hwm() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// The same solve by SciPy's `expm_multiply` (benches/peers/scipy_expm.py) on the generator
/// `g` of `space`, written under `dir/matrix` (removed afterwards): its report, with the L1
/// distance to `tightest`, and its distribution.
fn scipy_run(
    root: &Path,
    dir: &Path,
    g: &cme::Generator,
    space: &cme::StateSpace,
    t: f64,
    tightest: &cme::Distribution,
) -> anyhow::Result<(serde_json::Value, cme::Distribution)> {
    let mdir = dir.join("matrix");
    crnkit::io::results::write_generator_raw(g, &mdir)?;
    let mut p0 = vec![0.0f64; space.len()];
    let x0: Vec<u32> = vec![0, 0, 0];
    p0[space
        .index_of(&x0)
        .ok_or_else(|| anyhow::anyhow!("x0 missing"))?] = 1.0;
    let bytes: Vec<u8> = p0.iter().flat_map(|x| x.to_le_bytes()).collect();
    crnkit::io::write_atomic(&mdir.join("p0.f64"), &bytes)?;
    let out = Command::new("python3")
        .arg(root.join("benches/peers/scipy_expm.py"))
        .arg(&mdir)
        .arg(t.to_string())
        .output()?;
    if !out.status.success() {
        anyhow::bail!("SciPy run failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let raw = std::fs::read(mdir.join("scipy_p.f64"))?;
    let p: Vec<f64> = raw
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let d = cme::Distribution::new(space.clone(), p);
    let e = d.l1_distance(tightest);
    v["l1_vs_crnkit_tol_1e-14"] = e.into();
    eprintln!(
        "SciPy expm_multiply: {:.2} s, L1 to crnkit (tol 1e-14) {e:.3e}, peak RSS {:.1} MB",
        v["seconds"].as_f64().unwrap_or(f64::NAN),
        v["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN) / 1e6
    );
    std::fs::remove_dir_all(&mdir).ok();
    Ok((v, d))
}

/// One JSON row per solve (tolerance, threads, solution, seconds), reported as it goes.
fn rows_json(
    runs: &[(f64, usize, cme::TransientSolution, f64)],
    scipy_dist: Option<&cme::Distribution>,
    tightest: &cme::Distribution,
) -> Vec<serde_json::Value> {
    runs.iter()
        .map(|(tol, threads, s, secs)| {
            let l1_scipy = scipy_dist.map(|d| d.l1_distance(&s.last));
            eprintln!(
                "  tol {tol:e}: {secs:.2} s, certified solver error ≤ {:.2e}, L1 to SciPy {}",
                s.stats.poisson_omitted,
                l1_scipy.map_or("-".into(), |v| format!("{v:.2e}"))
            );
            serde_json::json!({
                "tol": tol,
                "threads": if *threads == 0 { rayon::current_num_threads() } else { *threads },
                "seconds_build_and_solve": secs,
                "matvecs": s.stats.matvecs,
                "certified_solver_error": s.stats.poisson_omitted,
                "fsp_error_bound": s.error_bound[1],
                "l1_vs_scipy": l1_scipy,
                "l1_vs_tol_1e-14": s.last.l1_distance(tightest),
            })
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = args.out.join("cme_vs_scipy");
    std::fs::create_dir_all(&dir)?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let net = crnkit::io::read_network(root.join("benches/models/cascade.crn"))?.compile();
    let bounds = vec![Some(44), Some(119), Some(189)];
    let grid = TimeGrid::from_times(vec![0.0, args.t])?;
    let solve = |tol: f64| -> anyhow::Result<(cme::TransientSolution, f64)> {
        let opts = FspOptions {
            tol,
            adaptive: false,
            bounds: bounds.clone(),
            ..FspOptions::default()
        };
        let start = Instant::now();
        let sol = cme::solve_transient(&net, &grid, &opts)?;
        Ok((sol, start.elapsed().as_secs_f64()))
    };
    let base_rss = vm_hwm();
    let (s8, t8) = solve(1e-8)?;
    let hwm = vm_hwm();
    let space = s8.last.space().clone();
    let g = cme::Generator::build(&net, &space)?;
    let csr_bytes = g.bytes();
    let vectors = 4 * space.len() * 8;
    eprintln!(
        "crnkit tol 1e-8: {} states, {} nnz, {} products, {t8:.2} s (build + solve); \
         peak RSS {:.1} MB (CSR {:.1} MB)",
        space.len(),
        g.nnz(),
        s8.stats.matvecs,
        hwm as f64 / 1e6,
        csr_bytes as f64 / 1e6
    );
    // The same solve at tighter tolerances, and on one thread (SciPy's products are
    // single-threaded).
    let mut runs = vec![(1e-8, 0usize, s8, t8)];
    for (tol, threads) in [(1e-12, 0usize), (1e-14, 0), (1e-8, 1), (1e-14, 1)] {
        let (s, secs) = if threads == 0 {
            solve(tol)?
        } else {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?
                .install(|| solve(tol))?
        };
        eprintln!(
            "crnkit tol {tol:e} ({} threads): {} products, {secs:.2} s",
            if threads == 0 {
                rayon::current_num_threads()
            } else {
                threads
            },
            s.stats.matvecs
        );
        runs.push((tol, threads, s, secs));
    }
    let tightest = runs[2].2.last.clone();

    let (scipy, scipy_dist) = if args.no_scipy {
        (serde_json::Value::Null, None)
    } else {
        let (v, d) = scipy_run(&root, &dir, &g, &space, args.t, &tightest)?;
        (v, Some(d))
    };
    let rows = rows_json(&runs, scipy_dist.as_ref(), &tightest);
    let report = serde_json::json!({
        "model": "benches/models/cascade.crn",
        "bounds": {"A": 44, "B": 119, "C": 189},
        "t": args.t,
        "states": space.len(),
        "nnz": g.nnz(),
        "csr_bytes": csr_bytes,
        "vector_bytes_4": vectors,
        "crnkit_peak_rss_bytes": hwm,
        "crnkit_rss_before_bytes": base_rss,
        "crnkit": rows,
        "scipy": scipy,
    });
    crnkit::io::write_atomic(
        &dir.join("report.json"),
        (serde_json::to_string_pretty(&report)? + "\n").as_bytes(),
    )?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
