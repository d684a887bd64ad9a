//! Exact simulation benchmarks.
//!
//! * Vilar oscillator (9 species, 16 reactions), t = 0..200 recorded every 1.0: crnkit's
//!   runtime-defined network with each method, side by side with rebop 0.10's compile-time
//!   `define_system!` macro and its runtime `Gillespie` API (rebop's own benchmark model).
//! * BioNetGen networks from `../shared/models/bionetgen/` to their benchmark end times,
//!   each method (skipped when the folder is absent).
//! * Ensemble throughput on 1 and 2 threads.
//!
//! `cargo bench --bench ssa`; event counts per trajectory are printed to stderr so that
//! ns/event can be derived.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use crnkit::Network;
use crnkit::rng::stream;
use crnkit::ssa::{AnySimulator, EnsembleConfig, GridRecorder, Method, Simulator, TimeGrid};

// The macro generates a constructor with one argument per parameter.
#[allow(clippy::too_many_arguments)]
mod vilar_macro {
    rebop::define_system! {
        alphaA alphaAp alphaR alphaRp betaA betaR deltaMA deltaMR deltaA deltaR gammaA gammaR gammaC thetaA thetaR;
        Vilar { DA, DAp, DR, DRp, MA, MR, A, R, C }
        bindA:   DA + A => DAp          @ gammaA
        unbindA: DAp => DA + A          @ thetaA
        bindR:   DR + A => DRp          @ gammaR
        unbindR: DRp => DR + A          @ thetaR
        txAp:    DAp => MA + DAp        @ alphaAp
        txA:     DA => MA + DA          @ alphaA
        txRp:    DRp => MR + DRp        @ alphaRp
        txR:     DR => MR + DR          @ alphaR
        tlA:     MA => MA + A           @ betaA
        tlR:     MR => MR + R           @ betaR
        complex: A + R => C             @ gammaC
        releaseR: C => R                @ deltaA
        degA:    A =>                   @ deltaA
        degR:    R =>                   @ deltaR
        degMA:   MA =>                  @ deltaMA
        degMR:   MR =>                  @ deltaMR
    }

    pub fn rebop_macro(seed: u64) -> isize {
        let mut p = Vilar::new();
        p.alphaA = 50.0;
        p.alphaAp = 500.0;
        p.alphaR = 0.01;
        p.alphaRp = 50.0;
        p.betaA = 50.0;
        p.betaR = 5.0;
        p.deltaMA = 10.0;
        p.deltaMR = 0.5;
        p.deltaA = 1.0;
        p.deltaR = 0.2;
        p.gammaA = 1.0;
        p.gammaR = 1.0;
        p.gammaC = 2.0;
        p.thetaA = 50.0;
        p.thetaR = 100.0;
        p.DA = 1;
        p.DR = 1;
        p.seed(seed);
        let mut acc = 0;
        for t in 0..=200 {
            p.advance_until(t as f64);
            acc += p.C;
        }
        acc
    }
}
use vilar_macro::rebop_macro;

/// rebop's runtime API on the same network (species order as in vilar.crn).
fn rebop_runtime(net: &Network, seed: u64) -> isize {
    use rebop::gillespie::{Gillespie, Rate};
    let n = net.num_species();
    let x0: Vec<isize> = net.initial_state().iter().map(|&v| v as isize).collect();
    let mut g = Gillespie::new_with_seed(x0, false, seed);
    for (r, rx) in net.reactions().enumerate() {
        let mut lma = vec![0u32; n];
        let mut diff = vec![0isize; n];
        for (i, c) in net.reactants(r) {
            lma[i] += c;
            diff[i] -= c as isize;
        }
        for (i, c) in net.products(r) {
            diff[i] += c as isize;
        }
        g.add_reaction(Rate::lma(rx.forward.value, lma), diff);
    }
    let mut acc = 0;
    for t in 0..=200 {
        g.advance_until(t as f64);
        acc += g.get_species(8);
    }
    acc
}

fn crnkit_trajectory(sim: &mut AnySimulator<'_>, grid: &TimeGrid, x0: &[u64], seed: u64) -> u64 {
    sim.reset(x0, 0.0).expect("valid state");
    let mut rec = GridRecorder::new(grid);
    sim.advance_until(grid.end(), &mut stream(seed, 0), &mut rec)
        .expect("simulates");
    sim.events()
}

fn vilar(c: &mut Criterion) {
    let net = crnkit::models::bundled("vilar").expect("bundled");
    let compiled = net.compile();
    let grid = TimeGrid::new(200.0, 1.0).expect("grid");
    let mut group = c.benchmark_group("vilar t=200");
    let mut seed = 0;
    group.bench_function("rebop define_system! macro", |b| {
        b.iter(|| {
            seed += 1;
            rebop_macro(black_box(seed))
        })
    });
    group.bench_function("rebop Gillespie runtime API", |b| {
        b.iter(|| {
            seed += 1;
            rebop_runtime(&net, black_box(seed))
        })
    });
    for method in Method::ALL {
        let mut sim = AnySimulator::new(&compiled, method).expect("simulator");
        let mut events = 0u64;
        let mut runs = 0u64;
        group.bench_function(format!("crnkit {method}"), |b| {
            b.iter(|| {
                seed += 1;
                events += crnkit_trajectory(&mut sim, &grid, compiled.initial_state(), seed);
                runs += 1;
            })
        });
        eprintln!(
            "crnkit {method}: {:.0} events per trajectory",
            events as f64 / runs.max(1) as f64
        );
    }
    group.finish();
}

fn bionetgen(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/bionetgen");
    let cases = [
        ("multistate", 1e3, Method::ALL.to_vec()),
        ("multisite2", 1e3, vec![Method::Direct, Method::Rejection]),
        ("egfr_net", 10.0, vec![Method::Direct, Method::Rejection]),
        ("fceri_gamma2", 10.0, vec![Method::Rejection]),
    ];
    for (name, t_end, methods) in cases {
        let path = dir.join(format!("{name}.net"));
        let Ok(net) = crnkit::io::read_network(&path) else {
            eprintln!("skipping {name}: {} not found", path.display());
            continue;
        };
        let compiled = net.compile();
        let grid = TimeGrid::from_times(vec![t_end]).expect("grid");
        let mut group = c.benchmark_group(format!("{name} t={t_end}"));
        group.sample_size(10);
        let mut seed = 0;
        for method in methods {
            let mut sim = AnySimulator::new(&compiled, method).expect("simulator");
            let (mut events, mut runs) = (0u64, 0u64);
            group.bench_function(format!("crnkit {method}"), |b| {
                b.iter(|| {
                    seed += 1;
                    events += crnkit_trajectory(&mut sim, &grid, compiled.initial_state(), seed);
                    runs += 1;
                })
            });
            eprintln!(
                "{name} {method}: {:.0} events per trajectory",
                events as f64 / runs.max(1) as f64
            );
        }
        group.finish();
    }
}

fn ensemble_threads(c: &mut Criterion) {
    let net = crnkit::models::bundled("vilar").expect("bundled");
    let mut group = c.benchmark_group("ensemble vilar 64 runs t=50");
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter(|| {
                EnsembleConfig {
                    until: 50.0,
                    every: 1.0,
                    runs: 64,
                    seed: 1,
                    method: Method::Direct,
                    ..EnsembleConfig::default()
                }
                .run_with_threads(&net, Some(threads))
                .expect("runs")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, vilar, bionetgen, ensemble_threads);
criterion_main!(benches);
