//! A detailed-balanced network learns a target law of its visible species: exact
//! minimisation of D(Q‖P) over the species' free energies (L-BFGS).
//! Run: cargo run --release --example learning
use crnkit::learn::{GenerativeModel, fit_exact};

fn main() -> crnkit::Result<()> {
    // Visible V and hidden H exchange one molecule: V + H states with V + H = 3.
    let net = crnkit::Network::from_crn_str("species: V = 3, H = 0\nV <-> H @ 1, 1", "vh.crn")?;
    let model = GenerativeModel::new(&net, &["V"], 100)?;
    // Target: V ~ Binomial(3, 0.8), which the model can represent exactly.
    let pmf = [0.008, 0.096, 0.384, 0.512];
    let rows: Vec<(Vec<u32>, f64)> = (0..4).map(|v| (vec![v], pmf[v as usize])).collect();
    let target = model.target(&rows)?;
    let start = model.initial_parameters().to_vec();
    let fit = fit_exact(&model, &target, &start, 200)?;
    println!(
        "D(Q||P): {:.4} -> {:.2e} in {} iterations",
        fit.history[0].1, fit.divergence, fit.iterations
    );
    println!("learned free energies {:?}", fit.parameters);
    Ok(())
}
