//! The chemical master equation of the toggle switch by finite state projection: means on
//! a grid with the certified L1 error of the truncation at every time.
//! Run: cargo run --release --example cme
use crnkit::cme::{FspOptions, solve_transient};
use crnkit::prelude::*;

fn main() -> crnkit::Result<()> {
    let net = crnkit::models::bundled("toggle_switch")?.compile();
    let grid = TimeGrid::new(10.0, 2.0)?;
    let sol = solve_transient(&net, &grid, &FspOptions::default())?;
    let u = sol
        .columns
        .iter()
        .position(|c| c == "U")
        .expect("species U");
    for (k, t) in sol.times.iter().enumerate() {
        println!(
            "t = {t:>4}: E[U] = {:.3} (sd {:.3}), {} states, L1 error ≤ {:.1e}",
            sol.mean[k][u], sol.sd[k][u], sol.states[k], sol.error_bound[k]
        );
    }
    Ok(())
}
