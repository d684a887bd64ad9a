//! Entropy production of the bundled triangle driven out of balance (kCA raised 8-fold:
//! cycle affinity ln 8) from the CME: sigma(t), the entropy produced, sigma per reaction.
use crnkit::prelude::*;

fn main() -> Result<()> {
    let mut net = crnkit::models::bundled("triangle")?;
    net.set_parameter("kCA", 16.0)?;
    let balanced = net.analyze()?.detailed_balance.balanced;
    let mut cfg = ThermoConfig::default();
    (cfg.until, cfg.every, cfg.method) = (5.0, 0.5, ThermoMethod::Cme);
    let th = thermo(&net, &cfg)?;
    let (sigma, total) = (th.entropy_production_rate(), th.total_entropy_produced());
    let (mut head, mut per) = (String::from(" time     sigma  produced"), Vec::new());
    for r in th.reactions() {
        head += &format!(" {:>9}", format!("sigma_{r}"));
        per.push(th.reaction_entropy_production(r)?);
    }
    println!("detailed balanced: {balanced}\n{head}");
    for (k, t) in th.times().iter().enumerate() {
        let row: String = per.iter().map(|s| format!(" {:>9.4}", s[k])).collect();
        println!("{t:>5} {:>9.4} {:>9.4}{row}", sigma[k], total[k]);
    }
    Ok(())
}
