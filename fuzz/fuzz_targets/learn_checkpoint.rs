//! Fuzz learning checkpoints: a short chemical learning job resumes from the input as its
//! `checkpoint.json`; a checkpoint that does not match the job, or is inconsistent, must be
//! refused by name (or ignored), never panic or give NaN silently.
#![no_main]

use std::path::Path;

use crnkit::learn::job;
use crnkit::progress::Reporter;
use libfuzzer_sys::fuzz_target;

const JOB: &str = r#"
[model]
builtin = "immigration_death"
visible = ["X"]
cap = 40

[target]
poisson = [6.0]

[learn]
method = "chemical"
limit = true
epsilon = 1.0
delta_inverse = 64
until = 2
every = 0.5
"#;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("crnkit-fuzz-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let _ = std::fs::remove_dir_all(dir.join("out"));
    std::fs::create_dir_all(dir.join("out")).expect("out folder");
    std::fs::write(dir.join("out/checkpoint.json"), data).expect("checkpoint written");
    let cfg = job::parse(JOB, "fuzz.toml").expect("the fixed job parses");
    let read = |p: &Path| crnkit::io::read_network(p);
    if let Ok((outcome, _)) = job::run_in(&cfg, Path::new("."), &read, &dir.join("out"), Reporter::none()) {
        assert!(
            outcome.curve.to_csv().lines().count() > 1,
            "a resumed run writes its curve"
        );
    }
});
