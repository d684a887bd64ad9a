//! Scan the Schlögl model's exchange rate c4 over 1,000 values, changing the parameter in
//! place (no re-parsing), and solve the stationary CME for each: mean of X, P(X >= 250).
use crnkit::prelude::*;

fn main() -> Result<()> {
    let mut net = crnkit::models::bundled("schlogl")?;
    let x = net.species_index("X").expect("the Schlögl model has X");
    let start = std::time::Instant::now();
    let mut rows = Vec::with_capacity(1000);
    for i in 0..1000 {
        let c4 = 3.3 + 0.4 * f64::from(i) / 999.0;
        net.set_parameter("c4", c4)?; // k4 = c4 is re-evaluated with it
        let pi = stationary(&net, &FspOptions::default())?.distribution;
        let high: f64 = pi.marginal(x).iter().skip(250).sum();
        rows.push((c4, pi.means()[x], high));
    }
    let secs = start.elapsed().as_secs_f64();
    println!("1000 stationary solves in {secs:.2} s\n      c4       E[X]  P(X >= 250)");
    for (c4, mean, high) in rows.iter().step_by(111) {
        println!("{c4:>8.4} {mean:>10.3} {high:>12.5}");
    }
    Ok(())
}
