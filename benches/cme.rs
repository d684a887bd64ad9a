//! CME benchmarks: the 1,026,000-state gene cascade (build + transient solve to 1e-8 in
//! L1), an adaptive solve of the toggle switch, and stationary solves.
//!
//! `cargo bench --bench cme`. The side-by-side SciPy comparison is the `cme_vs_scipy`
//! study (`cargo run --release -p crnkit-experiments --bin cme_vs_scipy`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use crnkit::Network;
use crnkit::cme::{self, FspOptions};
use crnkit::ssa::TimeGrid;

fn cascade() -> crnkit::CompiledNetwork {
    crnkit::io::read_network(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/models/cascade.crn"
    ))
    .expect("cascade model")
    .compile()
}

fn bench(c: &mut Criterion) {
    let net = cascade();
    let bounds = vec![Some(44), Some(119), Some(189)];
    let mut g = c.benchmark_group("cme");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.bench_function("cascade 1026000 states: enumerate + build generator", |b| {
        b.iter(|| {
            let space =
                cme::enumerate(&net, net.initial_state(), &bounds, 2_000_000).expect("enumerates");
            cme::Generator::build(&net, &space).expect("builds")
        })
    });
    let grid = TimeGrid::from_times(vec![0.0, 1.0]).expect("grid");
    let opts = FspOptions {
        tol: 1e-8,
        adaptive: false,
        bounds: bounds.clone(),
        ..FspOptions::default()
    };
    g.bench_function(
        "cascade 1026000 states: build + solve to t = 1, L1 1e-8",
        |b| b.iter(|| cme::solve_transient(black_box(&net), &grid, &opts).expect("solves")),
    );
    g.finish();

    let mut g = c.benchmark_group("cme small");
    g.sample_size(10);
    let toggle = crnkit::models::bundled("toggle_switch")
        .expect("bundled")
        .compile();
    let grid = TimeGrid::new(10.0, 1.0).expect("grid");
    let opts = FspOptions::default();
    g.bench_function("toggle switch adaptive to t = 10, L1 1e-8", |b| {
        b.iter(|| cme::solve_transient(black_box(&toggle), &grid, &opts).expect("solves"))
    });
    let schlogl = crnkit::models::bundled("schlogl")
        .expect("bundled")
        .compile();
    g.bench_function("schlogl stationary (sparse LU, growing box)", |b| {
        b.iter(|| cme::stationary(black_box(&schlogl), &opts).expect("solves"))
    });
    let closed = Network::from_crn_str(
        "species: A = 150, B = 0, C = 0\nA <-> B @ 1, 2\nB <-> C @ 1, 1\nC <-> A @ 2, 1\n",
        "closed.crn",
    )
    .expect("parses")
    .compile();
    g.bench_function("closed 3-species class (11476 states) stationary LU", |b| {
        b.iter(|| cme::stationary(black_box(&closed), &opts).expect("solves"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
