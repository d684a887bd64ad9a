//! Exact simulation of the Vilar oscillator: three sample trajectories of the activator A
//! and the repressor R, and the ensemble mean ± sd of 1,000 runs. Writes
//! `<out>/ssa_figure/vilar.{png,svg}`, `stats.csv` and `trajectories.csv`.

use crnkit::io::results::{ToCsv, trajectories_csv};
use crnkit::ssa::{EnsembleConfig, Method};
use crnkit_experiments::Study;
use crnkit_experiments::plot::{Band, Line, PALETTE, Panel, save};

fn main() -> anyhow::Result<()> {
    let study = Study::start("ssa_figure")?;
    let net = crnkit::models::bundled("vilar")?;
    let cfg = EnsembleConfig {
        until: 200.0,
        every: 0.5,
        runs: 1000,
        seed: study.seed(),
        method: Method::Auto,
        keep_trajectories: 3,
        histograms: false,
        progress: crnkit::bars::bars(true),
    };
    let r = cfg.run(&net)?;
    study.write("stats.csv", r.to_csv())?;
    study.write("trajectories.csv", trajectories_csv(&r))?;
    let times = r.grid.times();
    let (a, rr) = (
        r.column("A")
            .ok_or_else(|| anyhow::anyhow!("no species A"))?,
        r.column("R")
            .ok_or_else(|| anyhow::anyhow!("no species R"))?,
    );
    let ns = r.num_species;
    let mut lines = Vec::new();
    for (k, traj) in r.trajectories.iter().enumerate().take(2) {
        let colors = [(PALETTE[0], PALETTE[1]), (PALETTE[2], PALETTE[3])][k];
        for (col, name, color) in [(a, "A", colors.0), (rr, "R", colors.1)] {
            lines.push(Line {
                name: format!("{name}, run {}", k + 1),
                color,
                points: times
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (t, traj[i * ns + col] as f64))
                    .collect(),
            });
        }
    }
    let band = |col: usize, name: &str, color| Band {
        name: format!("{name}: mean ± sd"),
        color,
        points: times
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, r.mean(i, col), r.sd(i, col)))
            .collect(),
    };
    let panels = [
        Panel {
            title: "Vilar oscillator: sample trajectories".into(),
            x_label: "time".into(),
            y_label: "molecules".into(),
            lines,
            bands: vec![],
        },
        Panel {
            title: format!("ensemble of {} runs ({})", r.runs(), r.method),
            x_label: "time".into(),
            y_label: "molecules".into(),
            lines: vec![],
            bands: vec![band(a, "A", PALETTE[0]), band(rr, "R", PALETTE[1])],
        },
    ];
    save(&study.dir().join("vilar"), &panels, (1400, 520))?;
    eprintln!("{} events over {} runs", r.events, r.runs());
    study.finish(serde_json::json!({
        "model": "vilar",
        "runs": r.runs(),
        "events": r.events,
        "method": r.method.to_string(),
        "figure": ["vilar.png", "vilar.svg"],
    }))
}
