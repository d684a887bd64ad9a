//! A parameter scan without rebuilding the network: the stationary mean of a birth–death
//! process from the CME at 20 birth rates, against the exact answer λ/μ.
//! Run: cargo run --release --example parameter_scan
use crnkit::cme::{FspOptions, stationary};

fn main() -> crnkit::Result<()> {
    let base = crnkit::models::bundled("immigration_death")?;
    let mu = base.parameter("mu").expect("parameter mu");
    for k in 1..=20 {
        let alpha = 0.5 * f64::from(k);
        let net = base.with_parameters(&[("alpha", alpha)])?;
        let st = stationary(&net.compile(), &FspOptions::default())?;
        let mean = st.distribution.means()[0];
        println!(
            "alpha = {alpha:>4}: E[X] = {mean:.6} (exact {:.6})",
            alpha / mu
        );
    }
    Ok(())
}
