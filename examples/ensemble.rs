//! An ensemble of exact SSA trajectories of the Vilar oscillator: mean and sd of the
//! activator on a time grid, the same numbers for a seed on any thread count.
//! Run: cargo run --release --example ensemble
use crnkit::prelude::*;

fn main() -> crnkit::Result<()> {
    let net = crnkit::io::read_network("examples/models/vilar.crn")?;
    let cfg = EnsembleConfig {
        until: 50.0,
        every: 10.0,
        runs: 200,
        seed: 1,
        ..EnsembleConfig::default()
    };
    let result = cfg.run(&net)?;
    for (k, t) in result.times().iter().enumerate() {
        let (mean, sd) = (result.mean_of("A", k)?, result.sd_of("A", k)?);
        println!("t = {t:>4}: A = {mean:.1} ± {sd:.1}");
    }
    println!("{} events", result.events);
    Ok(())
}
