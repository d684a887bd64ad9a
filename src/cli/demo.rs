//! `crnkit demo`: the main job on the bundled models: analyse each, simulate the Vilar
//! oscillator, solve the toggle switch's CME, account the Schlögl model's thermodynamics.

use crnkit::cme::{self, FspOptions};
use crnkit::network::CheckReport;
use crnkit::ssa::{EnsembleConfig, Method};

/// Run `crnkit demo`.
pub fn run() -> crnkit::Result<()> {
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
