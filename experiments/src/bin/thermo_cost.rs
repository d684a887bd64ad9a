//! What driving costs, and what it buys: two driven networks swept over their driving
//! affinity. For each point, the stationary CME (sparse LU) gives the entropy production
//! rate σ, and full counting statistics give the mean j and variance rate D₂ of a reaction
//! current; the thermodynamic uncertainty relation Q = D₂ σ / j² ≥ 2 is checked at every
//! point (a violation would be a bug: the study exits with an error).
//!
//! * a ring: 6 molecules on a 3-state cycle A → B → C → A, force a per step (k⁺ = e^(a/2),
//!   k⁻ = e^(−a/2)), cycle affinity 3a; exact Q = a coth(a/2) for comparison;
//! * the Schlögl model with the chemostat B lowered from its equilibrium value: affinity
//!   Δμ = ln(k1 A k4 / (k2 k3 B)); the current is the net exchange B → X.
//!
//! Writes `<out>/thermo_cost/{tur.csv, cost.png, cost.svg}`.

use std::fmt::Write as _;

use crnkit::Network;
use crnkit::cme::{self, FspOptions};
use crnkit::thermo::current::current_statistics;
use crnkit::thermo::reverse_pairs;
use crnkit_experiments::Study;
use crnkit_experiments::plot::{Line, PALETTE, Panel, save};

struct Point {
    affinity: f64,
    sigma: f64,
    j: f64,
    d2: f64,
    q: f64,
    exact_q: Option<f64>,
}

fn point(
    net: &Network,
    counted: usize,
    affinity: f64,
    exact_q: Option<f64>,
) -> anyhow::Result<Point> {
    let (c, pairs) = reverse_pairs(net)?;
    let st = cme::stationary(
        &c,
        &FspOptions {
            tol: 1e-12,
            ..FspOptions::default()
        },
    )?;
    let s = current_statistics(
        &c,
        &pairs,
        st.distribution.space(),
        st.distribution.probabilities(),
        counted,
    )?;
    Ok(Point {
        affinity,
        sigma: s.entropy_production,
        j: s.mean_rate,
        d2: s.variance_rate,
        q: s.tur_ratio,
        exact_q,
    })
}

/// The ring over 25 forces per step from 0.01 to 10.
fn ring() -> anyhow::Result<Vec<Point>> {
    let mut ring = Vec::new();
    for k in 0..25 {
        let a = 0.01 * 10f64.powf(3.0 * k as f64 / 24.0); // 0.01 … 10 per step
        let (kp, km) = ((a / 2.0).exp(), (-a / 2.0).exp());
        let net = Network::from_crn_str(
            &format!(
                "species: A = 6, B = 0, C = 0\nab: A <-> B @ {kp}, {km}\nbc: B <-> C @ {kp}, {km}\nca: C <-> A @ {kp}, {km}\n"
            ),
            "ring.crn",
        )?;
        ring.push(point(&net, 0, 3.0 * a, Some(a / (a / 2.0).tanh()))?);
    }
    Ok(ring)
}

/// The Schlögl model with the chemostat B lowered from its equilibrium value.
fn schlogl() -> anyhow::Result<Vec<Point>> {
    let mut schlogl = Vec::new();
    let base = crnkit::models::bundled("schlogl")?;
    let k = |n: &str| base.parameter(n).unwrap_or(f64::NAN);
    let b_eq = k("k1") * 1e5 * k("k4") / (k("k2") * k("k3"));
    // Δμ = 0 is equilibrium, where j = σ = 0 and Q is undefined: start just above it.
    for i in 1..17 {
        let dmu = 0.25 * i as f64;
        let mut net = base.clone();
        let b = net
            .species_index("B")
            .ok_or_else(|| anyhow::anyhow!("no species B"))?;
        net.set_initial(b, (b_eq * (-dmu).exp()).round() as u64)?;
        // Report the affinity of the rounded chemostat count.
        let bcount = net.initial_state()[b] as f64;
        let affinity = (k("k1") * 1e5 * k("k4") / (k("k2") * k("k3") * bcount)).ln();
        // Channels: autocatalysis (0, 1), exchange B → X (2), X → B (3).
        schlogl.push(point(&net, 2, affinity, None)?);
        if let Some(p) = schlogl.last() {
            eprintln!(
                "schlögl Δμ = {affinity:.3}: σ = {:.4e}, j = {:.4e}, D = {:.4e}, Q = {:.3}",
                p.sigma, p.j, p.d2, p.q
            );
        }
    }
    Ok(schlogl)
}

/// `tur.csv`; an error where the TUR fails or the ring's Q is not the exact one.
fn tur_table(ring: &[Point], schlogl: &[Point]) -> anyhow::Result<String> {
    let mut csv = String::from(
        "network,affinity,entropy_production,mean_current,variance_rate,tur_ratio,tur_ratio_exact\n",
    );
    for (name, pts) in [("ring", &ring), ("schlogl", &schlogl)] {
        for p in pts.iter() {
            let _ = writeln!(
                csv,
                "{name},{},{},{},{},{},{}",
                p.affinity,
                p.sigma,
                p.j,
                p.d2,
                p.q,
                p.exact_q.map_or(String::new(), |q| q.to_string())
            );
            // The TUR is a theorem: Q < 2 means a bug.
            if p.q < 2.0 * (1.0 - 1e-9) || !p.q.is_finite() && p.affinity > 0.0 {
                anyhow::bail!(
                    "TUR violated on {name} at affinity {}: Q = {}",
                    p.affinity,
                    p.q
                );
            }
            if let Some(e) = p.exact_q
                && (p.q - e).abs() > 1e-8 * e
            {
                anyhow::bail!(
                    "ring at affinity {}: Q = {} but exactly {e}",
                    p.affinity,
                    p.q
                );
            }
        }
    }
    Ok(csv)
}

/// The figure: dissipation and Q against the driving.
fn plot(study: &Study, ring: &[Point], schlogl: &[Point]) -> anyhow::Result<()> {
    let line = |name: &str, color, pts: &[Point], f: &dyn Fn(&Point) -> f64| Line {
        name: name.into(),
        color,
        points: pts
            .iter()
            .filter(|p| p.affinity > 0.0)
            .map(|p| (p.affinity, f(p)))
            .collect(),
    };
    let two = Line {
        name: "TUR bound Q = 2".into(),
        color: plotters::style::RGBColor(0, 0, 0),
        points: vec![(0.0, 2.0), (30.0, 2.0)],
    };
    let panels = [
        Panel {
            title: "dissipation vs driving".into(),
            x_label: "driving affinity (kT per cycle)".into(),
            y_label: "log10 entropy production rate (kB / time)".into(),
            lines: vec![
                line("ring (6 molecules)", PALETTE[0], ring, &|p| p.sigma.log10()),
                line("Schlögl", PALETTE[1], schlogl, &|p| p.sigma.log10()),
            ],
            bands: vec![],
        },
        Panel {
            title: "precision–cost trade-off: Q = Var(J) Σ / <J>²".into(),
            x_label: "driving affinity (kT per cycle)".into(),
            y_label: "log10 Q".into(),
            lines: vec![
                line("ring", PALETTE[0], ring, &|p| p.q.log10()),
                line("ring, exact a coth(a/2)", PALETTE[2], ring, &|p| {
                    p.exact_q.unwrap_or(f64::NAN).log10()
                }),
                line("Schlögl (exchange current)", PALETTE[1], schlogl, &|p| {
                    p.q.log10()
                }),
                Line {
                    points: two
                        .points
                        .iter()
                        .map(|&(x, y)| (x, f64::log10(y)))
                        .collect(),
                    ..two
                },
            ],
            bands: vec![],
        },
    ];
    save(&study.dir().join("cost"), &panels, (1400, 520))?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let study = Study::start("thermo_cost")?;
    let ring = ring()?;
    let schlogl = schlogl()?;
    study.write("tur.csv", tur_table(&ring, &schlogl)?)?;
    plot(&study, &ring, &schlogl)?;
    let min_q = ring
        .iter()
        .chain(&schlogl)
        .filter(|p| p.affinity > 0.0)
        .map(|p| p.q)
        .fold(f64::INFINITY, f64::min);
    eprintln!(
        "{} points, smallest Q = {min_q:.6} (TUR bound 2)",
        ring.len() + schlogl.len()
    );
    study.finish(serde_json::json!({
        "points": ring.len() + schlogl.len(),
        "min_tur_ratio": min_q,
        "figure": ["cost.png", "cost.svg"],
        "table": "tur.csv",
    }))
}
