//! The chemical master equation of the toggle switch by finite state projection: means on
//! a grid with the certified L1 error of the truncation at every time.
//! Run: cargo run --release --example cme
use crnkit::prelude::*;

fn main() -> crnkit::Result<()> {
    let net = crnkit::models::bundled("toggle_switch")?;
    let grid = TimeGrid::new(10.0, 2.0)?;
    let sol = solve_transient(&net, &grid, &FspOptions::default())?;
    for (k, t) in sol.times.iter().enumerate() {
        println!(
            "t = {t:>4}: E[U] = {:.3} (sd {:.3}), {} states, L1 error ≤ {:.1e}",
            sol.mean_of("U", k)?,
            sol.sd_of("U", k)?,
            sol.states[k],
            sol.error_bound[k]
        );
    }
    // The table `crnkit solve --out` writes.
    sol.write_csv(&std::env::temp_dir().join("toggle_switch-cme.csv"))?;
    Ok(())
}
