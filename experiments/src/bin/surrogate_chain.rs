//! Trajectory ensembles of the autoregulated gene by chaining the distilled surrogate,
//! x_{k+1} ~ q(· | θ, x_k, Δt), against exact SSA: the Hellinger distance between the
//! empirical time-marginals of the protein P at every grid time, next to the distance two
//! independent exact ensembles of the same size have (sampling noise alone).
//!
//! Needs `out/surrogates/autoregulated` (`cargo run --release -- distill
//! examples/surrogates/autoregulated.toml`). Run:
//! `cargo run --release -p crnkit-experiments --bin surrogate_chain`; writes
//! `out/surrogate_chain/hellinger.csv` and `metadata.json`.

use std::collections::BTreeMap;

use crnkit::surrogate::trajectory::{ChainConfig, chain};
use crnkit::surrogate::{DesignPoint, Surrogate, TeacherConfig, hellinger, sample_teacher};
use crnkit_experiments::Study;

/// Hellinger distance between two empirical distributions given as state → weight maps.
fn distance(a: &BTreeMap<Vec<u32>, f64>, b: &BTreeMap<Vec<u32>, f64>) -> f64 {
    let keys: std::collections::BTreeSet<&Vec<u32>> = a.keys().chain(b.keys()).collect();
    let p: Vec<f64> = keys
        .iter()
        .map(|k| a.get(*k).copied().unwrap_or(0.0))
        .collect();
    let q: Vec<f64> = keys
        .iter()
        .map(|k| b.get(*k).copied().unwrap_or(0.0))
        .collect();
    hellinger(&p, &q)
}

fn main() -> anyhow::Result<()> {
    let study = Study::start("surrogate_chain")?;
    let dir = std::path::Path::new("out/surrogates/autoregulated");
    let s = Surrogate::load(dir).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nrun `cargo run --release -- distill examples/surrogates/autoregulated.toml` first"
        )
    })?;
    let net = s.network()?;
    let pbox = s.card.prompt.params.clone();
    let (dt, steps, runs) = (1.0, 10, 200_000);
    let mut rows = String::from(
        "sigma_u,sigma_b,rho_u,rho_b,time,hellinger_p_chain_ssa,hellinger_p_ssa_ssa\n",
    );
    let mut worst: f64 = 0.0;
    let mut worst_noise: f64 = 0.0;
    for params in [
        [0.8, 0.03, 3.0, 50.0],
        [1.5, 0.08, 8.0, 90.0],
        [0.3, 0.05, 2.0, 60.0],
    ] {
        let t0 = std::time::Instant::now();
        let tr = chain(
            &s,
            &params,
            &[0, 0],
            &ChainConfig {
                dt,
                steps,
                runs,
                seed: study.seed(),
                strict: false,
            },
        )?;
        let chain_s = t0.elapsed().as_secs_f64();
        let times: Vec<f64> = (1..=steps).map(|k| k as f64 * dt).collect();
        let teacher = TeacherConfig {
            times: times.clone(),
            caps: Some(s.card.prompt.caps.clone()),
            ..TeacherConfig::default()
        };
        let point = [DesignPoint {
            params: params.to_vec(),
            initial: vec![0, 0],
        }];
        let t1 = std::time::Instant::now();
        let ssa = sample_teacher(&net, &pbox, &point, &teacher, runs, study.seed() + 1)?;
        let ssa_s = t1.elapsed().as_secs_f64();
        let ssa2 = sample_teacher(&net, &pbox, &point, &teacher, runs, study.seed() + 2)?;
        eprintln!(
            "θ = {params:?}: chain {chain_s:.2} s, SSA {ssa_s:.2} s for {runs} runs; warnings {:?}",
            tr.warnings
        );
        let ns = tr.num_species();
        for (k, &t) in times.iter().enumerate() {
            let mut c: BTreeMap<Vec<u32>, f64> = BTreeMap::new();
            for r in 0..runs {
                *c.entry(tr.state(r, k + 1).to_vec()).or_insert(0.0) += 1.0 / runs as f64;
            }
            let to_map = |sl: &crnkit::surrogate::TeacherSlice| -> BTreeMap<Vec<u32>, f64> {
                sl.states
                    .chunks_exact(ns)
                    .zip(&sl.probs)
                    .map(|(x, &p)| (x.to_vec(), p))
                    .collect()
            };
            let e1 = to_map(&ssa.points[0].slices[k]);
            let e2 = to_map(&ssa2.points[0].slices[k]);
            // Time-marginal of the protein P (the last species).
            let marginal = |m: &BTreeMap<Vec<u32>, f64>| -> BTreeMap<Vec<u32>, f64> {
                let mut out = BTreeMap::new();
                for (x, &p) in m {
                    *out.entry(vec![x[ns - 1]]).or_insert(0.0) += p;
                }
                out
            };
            let h = distance(&marginal(&c), &marginal(&e1));
            let h0 = distance(&marginal(&e2), &marginal(&e1));
            worst = worst.max(h);
            worst_noise = worst_noise.max(h0);
            rows.push_str(&format!(
                "{},{},{},{},{t},{h},{h0}\n",
                params[0], params[1], params[2], params[3]
            ));
            println!("θ = {params:?} t = {t}: H_P(chain, SSA) = {h:.4}   H_P(SSA, SSA) = {h0:.4}");
        }
    }
    study.write("hellinger.csv", rows)?;
    println!("largest H(chain, SSA) {worst:.4}; largest H(SSA, SSA) {worst_noise:.4}");
    study.finish(serde_json::json!({
        "dt": dt, "steps": steps, "runs": runs,
        "max_hellinger_chain_ssa": worst, "max_hellinger_ssa_ssa": worst_noise,
    }))
}
