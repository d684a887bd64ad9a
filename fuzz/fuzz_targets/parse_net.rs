//! Fuzz the BioNetGen `.net` reader: any input either reads or gives a located error,
//! never a panic; a network read compiles and writes `.crn`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(net) = crnkit::io::bionetgen::parse_net(text, "fuzz.net") {
        let _ = net.compile();
        let _ = net.to_crn_string();
    }
});
