//! The CME of the bundled toggle switch to t = 10: the means of U and V with the
//! certified L1 error at each time, and the marginal of U at the end.
use crnkit::prelude::*;

fn main() -> Result<()> {
    let net = crnkit::models::bundled("toggle_switch")?;
    let sol = solve_transient(&net, &TimeGrid::new(10.0, 1.0)?, &FspOptions::default())?;
    println!(" time    U mean    V mean   L1 error  states");
    for (k, t) in sol.times.iter().enumerate() {
        let (u, v) = (sol.mean_of("U", k)?, sol.mean_of("V", k)?);
        let (err, n) = (sol.error_bound[k], sol.states[k]);
        println!("{t:>5} {u:>9.4} {v:>9.4} {err:>10.2e} {n:>7}");
    }
    let (last, u) = (sol.times.len() - 1, sol.column_index("U")?);
    println!("P(n <= U < n + 10) at t = {}:", sol.times[last]);
    for (b, bin) in sol.marginals[last][u].chunks(10).enumerate() {
        let p: f64 = bin.iter().sum();
        let bar = "#".repeat((p * 100.0).round() as usize);
        println!("  {:>3} {p:.5} {bar}", 10 * b);
    }
    Ok(())
}
