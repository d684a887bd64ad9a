//! 1,000 SSA runs of the bundled Vilar oscillator to t = 50, sampled every 1;
//! the mean and sd of the repressor R at a few times, read by species name.
use crnkit::prelude::*;

fn main() -> Result<()> {
    let net = crnkit::models::bundled("vilar")?;
    let mut cfg = EnsembleConfig::default();
    (cfg.until, cfg.every, cfg.runs, cfg.seed) = (50.0, 1.0, 1000, 1);
    let result = cfg.run(&net)?;
    let (n, events, method) = (result.runs(), result.events, result.method);
    println!("{n} runs, {events} events, method {method:?}");
    println!("{:>6} {:>10} {:>10}", "time", "R mean", "R sd");
    for (k, t) in result.times().iter().enumerate().step_by(10) {
        let (mean, sd) = (result.mean_of("R", k)?, result.sd_of("R", k)?);
        println!("{t:>6} {mean:>10.3} {sd:>10.3}");
    }
    Ok(())
}
