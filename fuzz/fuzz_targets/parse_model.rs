//! Fuzz the JSON and TOML model readers: the first byte picks the format; any input either
//! builds a network or gives an error, never a panic; a built network compiles and writes
//! `.crn` that reads back equal.
#![no_main]

use crnkit::network::NetworkSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let spec = if pick % 2 == 0 {
        NetworkSpec::from_json_str(text, "fuzz.json")
    } else {
        NetworkSpec::from_toml_str(text, "fuzz.toml")
    };
    let Ok(spec) = spec else { return };
    if let Ok(net) = spec.build() {
        let _ = net.compile();
        let written = net.to_crn_string();
        let back = crnkit::Network::from_crn_str(&written, "written.crn")
            .unwrap_or_else(|e| panic!("written model does not parse: {e}\n{written}"));
        assert_eq!(back, net, "round trip changed the network:\n{written}");
    }
});
