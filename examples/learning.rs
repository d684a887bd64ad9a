//! A chemical Boltzmann machine (visible units X1, X2, hidden H) learns an XOR-like law
//! in the large-ensemble limit: D(Q||P) at start and end, and entropy produced by account.
use crnkit::prelude::*;

fn main() -> Result<()> {
    let net = crnkit::learn::boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], -3.0)?;
    let model = GenerativeModel::new(&net, &["X1_0", "X1_1", "X2_0", "X2_1"], 1000)?;
    let csv = "X1_1,X1_0,X2_1,X2_0,probability\n1,0,0,1,.45\n0,1,1,0,.45\n1,0,1,0,.05\n0,1,0,1,.05";
    let target = model.target_from_csv(csv, "xor.csv")?;
    let mut s = LearnSettings::default();
    (s.method, s.until, s.every, s.jitter) = (LearnMethod::ChemicalLimit, 500.0, 100.0, 0.25);
    let out = learn(&model, Environment::Table(target), &s)?;
    let (d0, d1) = (out.initial_divergence(), out.final_divergence());
    println!("D(Q||P): start {d0:.4}, end {d1:.4} nats");
    println!("  time        D   entropy produced per copy (k_B): total, then by account");
    for pt in &out.curve.points {
        let mut line = format!("{:>6} {:>8.4} {:>12.1}", pt.time, pt.kl, pt.sigma.total());
        for (kind, sigma) in pt.sigma.by_kind() {
            line += &format!(" {}={sigma:.1}", kind.name());
        }
        println!("{line}");
    }
    Ok(())
}
