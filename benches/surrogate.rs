//! Neural surrogate query speed against the FSP solve of the same query.
//!
//! The model has the production size for the autoregulated gene with feedback
//! (`examples/models/autoregulated_feedback.crn`): prompt of 4 rates + time + 2 initial
//! counts, caps Gb ≤ 1 and P ≤ 160, two hidden layers of 128, SiLU. When a trained model
//! is at `out/surrogates/autoregulated/` it is loaded (with its card's caps); otherwise a
//! model of this architecture with its initial weights is used (a forward pass costs the
//! same whatever the weights). Queries at σu = 0.5, σb = 0.02, ρu = 4, ρb = 40, from x0 = 0, t = 5; the
//! FSP reference solves that CME to L1 1e-8 as `crnkit solve --until 5 --every 5` would.
//!
//! `cargo bench --bench surrogate`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crnkit::cme::{self, FspOptions};
use crnkit::ssa::TimeGrid;
use crnkit::surrogate::{
    Activation, Architecture, CARD_FORMAT, Card, ChainConfig, InitialBox, Model, ParamBox,
    PromptSpec, Surrogate, chain,
};

const RATES: [f64; 4] = [0.5, 0.02, 4.0, 40.0];
const NAMES: [&str; 4] = ["sigma_u", "sigma_b", "rho_u", "rho_b"];

/// The trained surrogate, or one with initial weights of the same architecture.
fn surrogate() -> (Surrogate, &'static str) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/out/surrogates/autoregulated");
    if let Ok(s) = Surrogate::load(dir) {
        return (s, "trained");
    }
    let net = crnkit::models::bundled("autoregulated_feedback").expect("bundled");
    let arch = Architecture {
        prompt_dim: 4 + 1 + 2,
        caps: vec![1, 160],
        hidden: 128,
        activation: Activation::Silu,
    };
    let spec = PromptSpec {
        params: ParamBox::new(
            NAMES.iter().map(|s| s.to_string()).collect(),
            vec![0.1, 0.005, 1.0, 10.0],
            vec![2.0, 0.1, 10.0, 80.0],
            vec![true; 4],
        )
        .expect("box"),
        t_min: 0.25,
        t_max: 10.0,
        initial: vec![0, 0],
        initial_box: Some(InitialBox {
            lo: vec![0, 0],
            hi: vec![1, 160],
        }),
        caps: arch.caps.clone(),
    };
    let card = Card {
        format: CARD_FORMAT.into(),
        network: net.to_crn_string(),
        species: net.species_names().iter().map(|s| s.to_string()).collect(),
        prompt: spec,
        arch: arch.clone(),
        metrics: Default::default(),
        weights_sha256: None,
    };
    (
        Surrogate {
            card,
            model: Model::new(arch, 1).expect("model"),
        },
        "initial weights",
    )
}

fn bench(c: &mut Criterion) {
    let (s, which) = surrogate();
    eprintln!(
        "surrogate: {which}, caps {:?} ({} states), hidden {}",
        s.card.arch.caps,
        s.card.arch.box_size(),
        s.card.arch.hidden
    );
    let x0 = [0u64, 0];
    let t = 5.0;
    let mut g = c.benchmark_group("surrogate autoregulated");
    g.bench_function("log-prob of 1 state", |b| {
        b.iter(|| {
            s.log_prob_at(black_box(&[1, 30]), &RATES, &x0, t)
                .expect("log-prob")
        })
    });
    let states: Vec<u32> = (0..1000u32)
        .flat_map(|k| [k % 2, (k * 37 + 11) % 161])
        .collect();
    g.bench_function("log-prob of 1000 states", |b| {
        b.iter(|| {
            s.log_prob_at(black_box(&states), &RATES, &x0, t)
                .expect("log-prob")
        })
    });
    g.bench_function("marginal of P", |b| {
        b.iter(|| {
            s.marginal_at(1, black_box(&RATES), &x0, t)
                .expect("marginal")
        })
    });
    g.bench_function("joint (all states)", |b| {
        b.iter(|| s.joint_at(black_box(&RATES), &x0, t).expect("joint"))
    });
    g.bench_function("1000 samples", |b| {
        b.iter(|| {
            s.sample_at(1000, black_box(&RATES), &x0, t, 1)
                .expect("samples")
        })
    });
    let cfg = ChainConfig {
        dt: 0.5,
        steps: 10,
        runs: 1000,
        seed: 1,
        strict: false,
    };
    g.bench_function("chained trajectories: 1000 runs x 10 steps", |b| {
        b.iter(|| chain(&s, black_box(&RATES), &x0, &cfg).expect("chain"))
    });
    g.finish();

    let mut net = crnkit::models::bundled("autoregulated_feedback").expect("bundled");
    for (n, &v) in NAMES.iter().zip(&RATES) {
        net.set_parameter(n, v).expect("parameter");
    }
    let compiled = net.compile();
    let grid = TimeGrid::new(5.0, 5.0).expect("grid");
    let opts = FspOptions::default();
    let mut g = c.benchmark_group("fsp autoregulated");
    g.sample_size(20);
    g.bench_function("CME from x0 = 0 to t = 5, L1 1e-8", |b| {
        b.iter(|| cme::solve_transient(black_box(&compiled), &grid, &opts).expect("solves"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
