//! Immigration–death (∅ ⇌ X, mean 10) learns a Poisson(100) target with the chemical
//! learner in its large-ensemble limit: the library form of `crnkit learn
//! examples/jobs/mean.toml`. Run: cargo run --release --example learning
use crnkit::prelude::*;

fn main() -> crnkit::Result<()> {
    let net = crnkit::models::bundled("immigration_death")?;
    let model = GenerativeModel::with_cap(&net, &["X"], Some(400), 1_000_000)?;
    let settings = LearnSettings {
        method: LearnMethod::ChemicalLimit,
        clamp_rate: 1.0,
        until: 200.0,
        ..Default::default()
    };
    let outcome = learn(&model, Environment::Poisson(vec![100.0]), &settings)?;
    let (d0, d1) = (outcome.initial_divergence(), outcome.final_divergence());
    println!(
        "D(Q||P): {d0:.3} -> {d1:.2e} nats, learned G = {:?}",
        outcome.learned
    );
    let sigma = outcome.curve.points[outcome.curve.points.len() - 1].sigma;
    for (kind, s) in sigma.by_kind() {
        println!(
            "entropy produced per copy by {} reactions: {s:.4e}",
            kind.name()
        );
    }
    Ok(())
}
