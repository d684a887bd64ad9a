//! Fuzz the `.crn` parser: any input either parses or gives an error, never a panic; a
//! parsed network survives writing, reading back (equal) and analysis.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crnkit::Network::from_crn_str(text, "fuzz.crn") {
        Ok(net) => {
            let written = net.to_crn_string();
            let back = crnkit::Network::from_crn_str(&written, "written.crn")
                .unwrap_or_else(|e| panic!("written model does not parse: {e}\n{written}"));
            assert_eq!(back, net, "round trip changed the network:\n{written}");
            if net.num_species() <= 12 && net.num_reactions() <= 12 {
                let _ = net.analyze();
            }
            let _ = net.compile();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
