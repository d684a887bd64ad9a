//! Fuzz the SBML reader: any input either reads or gives an error, never a panic, an abort
//! or unbounded memory (function definitions expand under a size cap); a model read
//! compiles.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(net) = crnkit::io::sbml::from_sbml_str(text, "fuzz.xml") {
        let _ = net.compile();
        let _ = net.to_crn_string();
    }
});
