//! Marginal distributions over time from the CME (finite state projection, certified L1
//! error): the toggle switch's U marginal, and the Schlögl model turning bimodal, with its
//! stationary marginal from the sparse LU solve. Writes `<out>/cme_figure/marginals.{png,svg}`
//! and the marginals as CSV.

use crnkit::cme::{self, FspOptions};
use crnkit::io::results::{ToCsv, marginals_csv};
use crnkit::ssa::TimeGrid;
use crnkit_experiments::Study;
use crnkit_experiments::plot::{Line, PALETTE, Panel, save};

fn main() -> anyhow::Result<()> {
    let study = Study::start("cme_figure")?;
    let opts = FspOptions {
        tol: 1e-8,
        progress: crnkit::bars::bars(true),
        ..FspOptions::default()
    };
    let mut panels = Vec::new();
    let mut summary = Vec::new();
    for (model, species, times) in [
        (
            "toggle_switch",
            "U",
            vec![0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
        ),
        ("schlogl", "X", vec![0.0, 1.0, 2.0, 4.0, 8.0, 16.0]),
    ] {
        let net = crnkit::models::bundled(model)?.compile();
        let i = net
            .species_names()
            .iter()
            .position(|s| s == species)
            .ok_or_else(|| anyhow::anyhow!("no species {species}"))?;
        let grid = TimeGrid::from_times(times)?;
        let start = std::time::Instant::now();
        let sol = cme::solve_transient(&net, &grid, &opts)?;
        let secs = start.elapsed().as_secs_f64();
        study.write(&format!("{model}_marginals.csv"), marginals_csv(&sol))?;
        study.write(&format!("{model}_stats.csv"), sol.to_csv())?;
        let mut lines: Vec<Line> = sol
            .times
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, t)| Line {
                name: format!("t = {t}"),
                color: PALETTE[(k - 1) % PALETTE.len()],
                points: sol.marginals[k][i]
                    .iter()
                    .enumerate()
                    .map(|(n, &p)| (n as f64, p))
                    .collect(),
            })
            .collect();
        let mut stationary = None;
        if model == "schlogl" {
            let st = cme::stationary(&net, &opts)?;
            let m = st.distribution.marginal(i);
            stationary = Some(st.residual);
            lines.push(Line {
                name: "stationary".into(),
                color: plotters::style::RGBColor(0, 0, 0),
                points: m.iter().enumerate().map(|(n, &p)| (n as f64, p)).collect(),
            });
        }
        eprintln!(
            "{model}: up to {} states, {} products, {secs:.2} s, L1 error ≤ {:.2e}",
            sol.stats.max_states,
            sol.stats.matvecs,
            sol.error_bound.last().copied().unwrap_or(0.0)
        );
        summary.push(serde_json::json!({
            "model": model,
            "species": species,
            "times": sol.times,
            "max_states": sol.stats.max_states,
            "matvecs": sol.stats.matvecs,
            "seconds": secs,
            "error_bound": sol.error_bound,
            "stationary_residual": stationary,
        }));
        panels.push(Panel {
            title: format!("{model}: marginal of {species} (CME, L1 error ≤ 1e-8)"),
            x_label: format!("{species} (molecules)"),
            y_label: "probability".into(),
            lines,
            bands: vec![],
        });
    }
    save(&study.dir().join("marginals"), &panels, (1400, 520))?;
    study.finish(
        serde_json::json!({ "models": summary, "figure": ["marginals.png", "marginals.svg"] }),
    )
}
