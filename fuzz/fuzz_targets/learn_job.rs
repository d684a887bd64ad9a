//! Fuzz learning-job files: parse, check the settings and build the model and target
//! (bundled and Boltzmann-machine models only: reading other files is refused). The
//! state-space limit is held at 2,000 so that one input stays fast; environment targets,
//! whose CME has its own (large) limit and may legitimately take minutes, are skipped.
#![no_main]

use std::path::Path;

use crnkit::learn::job;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut cfg) = job::parse(text, "fuzz.toml") else {
        return;
    };
    if cfg.target.environment.is_some() {
        return;
    }
    cfg.model.max_states = cfg.model.max_states.min(2_000);
    let _ = cfg.settings();
    let refuse = |p: &Path| -> Result<crnkit::Network, crnkit::error::ModelError> {
        Err(crnkit::error::ModelError::Unsupported {
            feature: format!("reading {} while fuzzing", p.display()),
        })
    };
    let _ = cfg.inputs(Path::new("."), &refuse);
});
