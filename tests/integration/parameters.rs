//! `Network::set_parameters` re-evaluates in place exactly what a rebuild from the edited
//! description gives: parameters, rates, volume, propensity laws and events.

use crnkit::network::{Expr, Network};
use crnkit::rng::stream;
use rand::Rng as _;

/// Laws, events, a volume and derived parameters in one network.
const RICH: &str = "parameters: k = 2, g = 0.5 * k, v = 1.5, h = k + 1, thr = 20
volume: v
species: X = 3, Y = 0
make: 0 -> X @ k
gone: X -> 0 @ g
hill: 0 -> Y @ propensity h * X / (thr + X)
event cap: when X > thr then X = thr / 2
event tick: when time >= 2 * h then Y = 0
";

/// The old path: edit the description, build it again.
fn rebuilt(net: &Network, values: &[(&str, f64)]) -> Network {
    let mut spec = net.to_spec();
    for (name, v) in values {
        let p = spec
            .parameters
            .iter_mut()
            .find(|p| p.name == *name)
            .unwrap();
        p.value = Expr::Num(*v);
    }
    spec.build().unwrap()
}

fn assert_same(a: &Network, b: &Network, what: &str) {
    assert_eq!(a, b, "{what}: description");
    assert_eq!(a.parameters(), b.parameters(), "{what}: parameter values");
    let (ra, rb): (Vec<_>, Vec<_>) = (a.reactions().collect(), b.reactions().collect());
    assert_eq!(ra, rb, "{what}: rate values");
    assert_eq!(a.volume().to_bits(), b.volume().to_bits(), "{what}: volume");
    let (ca, cb) = (a.compile(), b.compile());
    assert_eq!(ca.events(), cb.events(), "{what}: compiled events");
    let mut rng = stream(7, 0);
    for _ in 0..50 {
        let x: Vec<u64> = (0..a.num_species())
            .map(|_| rng.random_range(0..60))
            .collect();
        for r in 0..ca.num_channels() {
            let (pa, pb) = (ca.propensity(r, &x), cb.propensity(r, &x));
            assert_eq!(pa.to_bits(), pb.to_bits(), "{what}: channel {r} at {x:?}");
        }
    }
}

#[test]
fn set_parameters_equals_a_rebuild_for_every_model() {
    let mut models: Vec<(String, Network)> = crnkit::models::BUNDLED
        .iter()
        .map(|(n, _)| (n.to_string(), crnkit::models::bundled(n).unwrap()))
        .collect();
    models.push((
        "rich".into(),
        Network::from_crn_str(RICH, "rich.crn").unwrap(),
    ));
    let mut rng = stream(11, 0);
    for (name, net) in &models {
        let params: Vec<(String, f64)> = net
            .parameters()
            .iter()
            .map(|p| (p.name.clone(), p.value))
            .collect();
        for trial in 0..20 {
            // A random subset of parameters, each scaled by a factor in [0.5, 2).
            let mut values: Vec<(&str, f64)> = Vec::new();
            for (n, v) in &params {
                if rng.random_bool(0.6) {
                    values.push((n.as_str(), v * rng.random_range(0.5..2.0)));
                }
            }
            let fast = net.with_parameters(&values).unwrap();
            assert_same(&fast, &rebuilt(net, &values), &format!("{name} #{trial}"));
        }
    }
}

#[test]
fn set_parameters_refuses_bad_values_and_leaves_the_network_unchanged() {
    let net = Network::from_crn_str(
        "parameters: k = 10, j = k - 5\nspecies: X = 0\n0 -> X @ j\nX -> 0 @ 1",
        "m.crn",
    )
    .unwrap();
    let mut edited = net.clone();
    let e = edited.set_parameters(&[("nope", 1.0)]).unwrap_err();
    assert!(e.to_string().contains("unknown parameter `nope`"), "{e}");
    let e = edited.set_parameters(&[("k", f64::NAN)]).unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
    // j = 1 - 5 < 0: the derived rate is invalid.
    let e = edited.set_parameters(&[("k", 1.0)]).unwrap_err();
    assert!(e.to_string().contains("rate"), "{e}");
    assert_eq!(edited.parameters(), net.parameters());
    let (a, b): (Vec<_>, Vec<_>) = (edited.reactions().collect(), net.reactions().collect());
    assert_eq!(a, b);
    // The same refusals as a rebuild gives.
    let mut spec = net.to_spec();
    spec.parameters[0].value = Expr::Num(1.0);
    assert_eq!(spec.build().unwrap_err().to_string(), e.to_string());
}
