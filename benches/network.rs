//! Foundation benchmarks: parsing, analysis, compilation and propensity evaluation.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crnkit::Network;

fn vilar_text() -> &'static str {
    crnkit::models::BUNDLED
        .iter()
        .find(|(n, _)| *n == "vilar")
        .map(|(_, t)| *t)
        .expect("bundled vilar model")
}

fn bench(c: &mut Criterion) {
    let text = vilar_text();
    c.bench_function("parse vilar (.crn)", |b| {
        b.iter(|| Network::from_crn_str(black_box(text), "vilar.crn").expect("parses"))
    });
    let net = Network::from_crn_str(text, "vilar.crn").expect("parses");
    c.bench_function("write vilar (.crn)", |b| {
        b.iter(|| black_box(&net).to_crn_string())
    });
    c.bench_function("analyze vilar", |b| {
        b.iter(|| black_box(&net).analyze().expect("analyses"))
    });
    c.bench_function("compile vilar", |b| b.iter(|| black_box(&net).compile()));
    let compiled = net.compile();
    let x: Vec<u64> = vec![1, 0, 1, 0, 12, 7, 250, 40, 9];
    c.bench_function("all 16 propensities (vilar)", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for r in 0..compiled.num_channels() {
                s += compiled.propensity(r, black_box(&x));
            }
            s
        })
    });
    // A larger network: a linear chain of 200 reversible isomerisations.
    let mut chain = String::from("species: S0 = 1000\n");
    for i in 0..200 {
        chain.push_str(&format!("S{i} <-> S{} @ 1, 0.5\n", i + 1));
    }
    c.bench_function("parse 200-reaction chain", |b| {
        b.iter(|| Network::from_crn_str(black_box(&chain), "chain.crn").expect("parses"))
    });
    let chain_net = Network::from_crn_str(&chain, "chain.crn").expect("parses");
    c.bench_function("analyze 200-reaction chain", |b| {
        b.iter(|| black_box(&chain_net).analyze().expect("analyses"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
