//! Entropy production of the Schlögl model at its stationary state, from the CME
//! (Schnakenberg) and from the deterministic limit.
//! Run: cargo run --release --example entropy
use crnkit::cme::{FspOptions, stationary};
use crnkit::thermo::{cme_entropy::cme_thermo, ode, reverse_pairs};

fn main() -> crnkit::Result<()> {
    let net = crnkit::models::bundled("schlogl")?;
    let (compiled, pairs) = reverse_pairs(&net)?;
    let st = stationary(&compiled, &FspOptions::default())?;
    let (space, p) = (st.distribution.space(), st.distribution.probabilities());
    let cme = cme_thermo(&compiled, &pairs, space, p, None);
    println!(
        "CME: entropy production {:.2} kT per unit time",
        cme.entropy_production
    );
    let x0: Vec<f64> = compiled.initial_state().iter().map(|&v| v as f64).collect();
    let xs = ode::steady_state(&compiled, &x0)?;
    let (sigma, _) = ode::MassAction::new(&compiled).entropy_production(&pairs, &xs);
    println!(
        "ODE: steady state X = {:.1}, entropy production {sigma:.2} kT per unit time",
        xs[0]
    );
    Ok(())
}
