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

/// A 10,000-point parameter scan of the Vilar oscillator (its 15 parameters each
/// scaled per point): the network at every point, by editing the description and
/// rebuilding it (the way before `set_parameters`), and in place.
fn parameter_scan(c: &mut Criterion) {
    let net = Network::from_crn_str(vilar_text(), "vilar.crn").expect("parses");
    let names: Vec<String> = net.parameters().iter().map(|p| p.name.clone()).collect();
    let base: Vec<f64> = net.parameters().iter().map(|p| p.value).collect();
    let point = |k: usize| -> Vec<(&str, f64)> {
        names
            .iter()
            .zip(&base)
            .enumerate()
            .map(|(j, (n, v))| (n.as_str(), v * (1.0 + ((k * 7 + j) % 13) as f64 / 13.0)))
            .collect()
    };
    let mut group = c.benchmark_group("parameter scan, 10,000 points (vilar)");
    group.sample_size(10);
    group.bench_function("rebuild from the description", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for k in 0..10_000 {
                let mut spec = net.to_spec();
                for (name, v) in point(k) {
                    let p = spec.parameters.iter_mut().find(|p| p.name == name);
                    p.expect("parameter").value = crnkit::network::Expr::Num(v);
                }
                s += spec
                    .build()
                    .expect("builds")
                    .reaction(0)
                    .expect("r")
                    .forward
                    .value;
            }
            s
        })
    });
    group.bench_function("with_parameters", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for k in 0..10_000 {
                let n = net.with_parameters(&point(k)).expect("sets");
                s += n.reaction(0).expect("r").forward.value;
            }
            s
        })
    });
    let mut scratch = net.clone();
    group.bench_function("set_parameters (one network reused)", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for k in 0..10_000 {
                scratch.set_parameters(&point(k)).expect("sets");
                s += scratch.reaction(0).expect("r").forward.value;
            }
            s
        })
    });
    group.finish();
}

criterion_group!(benches, bench, parameter_scan);
criterion_main!(benches);
