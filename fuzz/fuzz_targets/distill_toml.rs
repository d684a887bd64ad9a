//! Fuzz distillation files: parse (TOML or JSON, by the first byte) and resolve every
//! setting by name (bundled models only: reading other files is refused). Resolving sizes
//! nothing up front, so absurd sizes must be refused, not allocated.
#![no_main]

use std::path::Path;

use crnkit::progress::Reporter;
use crnkit::surrogate::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let file = if pick % 2 == 0 {
        config::parse(text, "fuzz.toml")
    } else {
        config::parse_json(text, "fuzz.json")
    };
    let Ok(file) = file else { return };
    let refuse = |p: &Path| -> Result<crnkit::Network, crnkit::error::ModelError> {
        Err(crnkit::error::ModelError::Unsupported {
            feature: format!("reading {} while fuzzing", p.display()),
        })
    };
    let _ = file.resolve(Path::new("."), &refuse, Reporter::none());
});
