//! `crnkit demo`: the mission end to end on the bundled models: analyse each, simulate the
//! Vilar oscillator, solve the toggle switch's CME, account the Schlögl model's
//! thermodynamics, let a chemical Boltzmann machine with a hidden unit learn a law and pay
//! its entropy, and ask a shipped neural surrogate for a distribution beside the exact CME.
//! Figures (PNG and SVG) go to `out/demo/`.

use std::path::Path;
use std::time::Instant;

use crnkit::cme::{self, FspOptions};
use crnkit::network::CheckReport;
use crnkit::plot::{Band, Line, PALETTE, Panel, save};
use crnkit::ssa::{EnsembleConfig, Method, TimeGrid};

/// Where the demo writes its figures.
const FIGURES: &str = "out/demo";

/// Run `crnkit demo`.
pub fn run() -> crnkit::Result<()> {
    let start = Instant::now();
    let dir = Path::new(FIGURES);
    std::fs::create_dir_all(dir).map_err(|source| crnkit::error::ModelError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    analyse()?;
    simulate(dir)?;
    solve()?;
    thermodynamics()?;
    learning(dir)?;
    surrogate(dir)?;
    println!(
        "\ndemo done in {:.1} s; figures in {}/: vilar, learning, target, surrogate (.png, .svg)",
        start.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

/// Every bundled model read from its `.crn` text and analysed.
fn analyse() -> crnkit::Result<()> {
    println!("crnkit demo: every bundled model, read from its .crn text and analysed.\n");
    for (name, _) in crnkit::models::BUNDLED {
        let net = crnkit::models::bundled(name)?;
        let report = CheckReport::new(&net)?;
        println!("== {name} ==");
        print!("{report}");
        println!();
    }
    Ok(())
}

/// 400 exact trajectories of the Vilar oscillator; `vilar.{png,svg}`.
fn simulate(dir: &Path) -> crnkit::Result<()> {
    println!("== exact simulation: Vilar oscillator, 400 runs to t = 100 ==");
    let net = crnkit::models::bundled("vilar")?;
    let cfg = EnsembleConfig {
        until: 100.0,
        every: 1.0,
        runs: 400,
        seed: 2024,
        method: Method::Auto,
        keep_trajectories: 0,
        histograms: false,
        progress: crnkit::bars::on_terminal(),
    };
    let start = Instant::now();
    let r = cfg.run(&net)?;
    let secs = start.elapsed().as_secs_f64();
    let (a, rep) = (r.column("A").unwrap_or(6), r.column("R").unwrap_or(7));
    println!(
        "{:>6}  {:>16}  {:>16}",
        "time", "A mean ± sd", "R mean ± sd"
    );
    for (k, t) in r.grid.times().iter().enumerate().step_by(10) {
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
    let band = |name: &str, c: usize, color| Band {
        name: format!("{name} mean ± sd"),
        color,
        points: (r.grid.times().iter().enumerate())
            .map(|(k, &t)| (t, r.mean(k, c), r.sd(k, c)))
            .collect(),
    };
    let panel = Panel {
        title: "Vilar oscillator, 400 exact trajectories".into(),
        x_label: "time".into(),
        y_label: "molecules".into(),
        lines: vec![],
        bands: vec![band("A", a, PALETTE[0]), band("R", rep, PALETTE[1])],
    };
    Ok(save(&dir.join("vilar"), &[panel], (900, 450))?)
}

/// The toggle switch's transient CME with a certified error, and a stationary CME
/// against its product form.
fn solve() -> crnkit::Result<()> {
    println!("\n== chemical master equation: toggle switch to t = 10, L1 error ≤ 1e-8 ==");
    let toggle = crnkit::models::bundled("toggle_switch")?.compile();
    let grid = TimeGrid::new(10.0, 2.0)?;
    let opts = FspOptions {
        progress: crnkit::bars::on_terminal(),
        ..FspOptions::default()
    };
    let start = Instant::now();
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
    Ok(())
}

/// The Schlögl model's heat, chemical work and ODE dissipation at stationarity.
fn thermodynamics() -> crnkit::Result<()> {
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

/// A chemical Boltzmann machine (visible units X1, X2, hidden unit H) learns an XOR-like law
/// by reactions, in the large-ensemble limit, with its entropy cost by account;
/// `learning.{png,svg}` and `target.{png,svg}`.
fn learning(dir: &Path) -> crnkit::Result<()> {
    use crnkit::learn::{Environment, GenerativeModel, LearnMethod, LearnSettings, boltzmann};
    println!("\n== chemical learning: a Boltzmann machine with a hidden unit learns an XOR law ==");
    let net = boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], -3.0)?;
    let visible = ["X1_0", "X1_1", "X2_0", "X2_1"];
    let model = GenerativeModel::new(&net, &visible, 1000)?;
    let csv = "X1_1,X1_0,X2_1,X2_0,probability\n1,0,0,1,.45\n0,1,1,0,.45\n1,0,1,0,.05\n0,1,0,1,.05";
    let target = model.target_from_csv(csv, "xor.csv")?;
    let mut s = LearnSettings::default();
    (s.method, s.until, s.every, s.jitter, s.seed) =
        (LearnMethod::ChemicalLimit, 500.0, 5.0, 0.25, 1);
    let start = Instant::now();
    let out = crnkit::learn::learn(&model, Environment::Table(target), &s)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} free energies learned by reactions among free and clamped copies \
         (large-ensemble limit; `crnkit learn examples/jobs/xor.toml` simulates them exactly)",
        out.learned.len()
    );
    println!("{:>6}  {:>10}  {:>16}", "time", "D(Q||P)", "entropy (k_B)");
    for p in out.curve.points.iter().step_by(20) {
        println!("{:>6}  {:>10.4}  {:>16.4e}", p.time, p.kl, p.sigma.total());
    }
    let last = &out.curve.points[out.curve.points.len() - 1];
    let accounts: Vec<String> = (last.sigma.by_kind())
        .map(|(kind, v)| format!("{} {v:.3e}", kind.name()))
        .collect();
    println!(
        "D(Q||P) {:.4} -> {:.4} nats in {secs:.2} s; entropy produced per copy by account: {}",
        out.initial_divergence(),
        out.final_divergence(),
        accounts.join(", ")
    );
    Ok(crnkit::learn::job::write_figures(
        &out.learner,
        &out.curve,
        &out.learned,
        dir,
    )?)
}

/// The shipped autoregulated-gene surrogate answers the distribution of P in microseconds,
/// beside the exact CME; `surrogate.{png,svg}`.
fn surrogate(dir: &Path) -> crnkit::Result<()> {
    use crnkit::surrogate::{Surrogate, hellinger};
    println!("\n== neural surrogate (builtin:autoregulated) against the exact CME ==");
    let s = Surrogate::open("builtin:autoregulated")?;
    let names = s.card.prompt.params.names.clone();
    let rates = [1.0, 0.05, 5.0, 50.0];
    let values: Vec<(&str, f64)> = names.iter().map(|n| n.as_str()).zip(rates).collect();
    let net = s.network()?.with_parameters(&values)?;
    let grid = TimeGrid::new(10.0, 2.5)?;
    let start = Instant::now();
    let exact = cme::solve_transient(&net, &grid, &FspOptions::default())?;
    let cme_ms = start.elapsed().as_secs_f64() * 1e3;
    let p = s.species_index("P")?;
    let rates_text: Vec<String> = values.iter().map(|(n, v)| format!("{n} = {v}")).collect();
    println!("rates {}; from Gb = 0, P = 0", rates_text.join(", "));
    println!(
        "{:>6}  {:>14}  {:>14}  {:>10}",
        "time", "E[P] exact", "E[P] surrogate", "Hellinger"
    );
    let mut lines = Vec::new();
    let mut query_us = Vec::new();
    for (k, &t) in grid.times().iter().enumerate().skip(1) {
        let e = exact.marginal_of("P", k)?;
        let q = s.marginal(p, &rates, t)?;
        let reps = 50;
        let start = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(s.marginal(p, &rates, t)?);
        }
        query_us.push(start.elapsed().as_secs_f64() * 1e6 / reps as f64);
        let n = e.len().max(q.len());
        let pad = |v: &[f64]| (0..n).map(|i| v.get(i).copied().unwrap_or(0.0)).collect();
        let (e, q): (Vec<f64>, Vec<f64>) = (pad(e), pad(&q));
        let mean = |v: &[f64]| v.iter().enumerate().map(|(i, x)| i as f64 * x).sum::<f64>();
        println!(
            "{t:>6}  {:>14.3}  {:>14.3}  {:>10.4}",
            mean(&e),
            mean(&q),
            hellinger(&e, &q)
        );
        if k % 2 == 0 {
            let c = lines.len();
            // Up to where both laws have left 1e-5 (the box of caps is wider).
            let end = (0..n)
                .rfind(|&i| e[i].max(q[i]) > 1e-5)
                .map_or(n, |i| i + 2);
            let pts = |v: &[f64]| {
                let v = &v[..end.min(n)];
                v.iter().enumerate().map(|(i, &x)| (i as f64, x)).collect()
            };
            lines.push(Line {
                name: format!("exact CME, t = {t}"),
                color: PALETTE[c],
                points: pts(&e),
            });
            lines.push(Line {
                name: format!("surrogate, t = {t}"),
                color: PALETTE[c + 1],
                points: pts(&q),
            });
        }
    }
    query_us.sort_by(f64::total_cmp);
    println!(
        "one marginal from the surrogate: {:.0} µs (median); the exact CME solve: {cme_ms:.1} ms",
        query_us[query_us.len() / 2]
    );
    let panel = Panel {
        title: "P(P = n): surrogate vs exact CME".into(),
        x_label: "P (molecules)".into(),
        y_label: "probability".into(),
        lines,
        bands: vec![],
    };
    Ok(save(&dir.join("surrogate"), &[panel], (900, 450))?)
}
