//! Query a distilled surrogate: the marginal law and moments of every species at given
//! rates, initial state and time, without simulating.
//! Make one with `cargo run --release -- distill CONFIG.toml` (docs/surrogate.md), then
//! run: cargo run --release --example surrogate_query -- MODEL_DIR RATE1,RATE2,... TIME
use crnkit::surrogate::{Surrogate, query};

fn main() -> crnkit::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, rates, t] = args.as_slice() else {
        eprintln!("usage: surrogate_query MODEL_DIR RATE1,RATE2,... TIME");
        std::process::exit(2);
    };
    let s = Surrogate::load(dir)?;
    let params = query::parse_rates(rates, &s.card.prompt.params.names)?;
    let t: f64 = t
        .parse()
        .map_err(|_| crnkit::error::SurrogateError::InvalidQuery {
            reason: format!("time `{t}` is not a number"),
        })?;
    let x0 = s.initial();
    for (i, name) in s.card.species.iter().enumerate() {
        let p = s.marginal_at(i, &params, x0, t)?;
        let mode = (0..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0);
        println!("{name}: mode {mode}, P(mode) = {:.4}", p[mode]);
    }
    for (name, (mean, sd)) in s
        .card
        .species
        .iter()
        .zip(query::moments(&s, &params, x0, t)?)
    {
        println!("{name}: mean {mean:.3}, sd {sd:.3}");
    }
    Ok(())
}
