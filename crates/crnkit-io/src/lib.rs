//! Model files and result files for crnkit: read any supported format into a [`Network`],
//! import SBML and BioNetGen `.net`, run the DSMTS stochastic test suite, and write the
//! solvers' results as CSV and JSON ([`results`]).
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("crnkit-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("ab.crn");
//! std::fs::write(&path, "species: A = 10, B = 0\nA <-> B @ 1, 2\n")?;
//! let net = crnkit_io::read_network(&path)?;
//! assert_eq!(net.species_names(), ["A", "B"]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod bionetgen;
pub mod dsmts;
pub mod results;
pub mod sbml;

use std::path::Path;

pub use crnkit_core::fs::write_atomic;
use crnkit_core::network::{Network, NetworkSpec};
use crnkit_core::{Error, Result};

/// Write a model file; the format follows the extension: `.crn`, `.json`, `.toml`, or SBML
/// Level 3 Version 2 for `.xml`/`.sbml` ([`sbml::to_sbml_string`]). Written atomically.
pub fn write_network(net: &Network, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    match path.extension().and_then(|e| e.to_str()) {
        Some("xml") | Some("sbml") => {
            let text = sbml::to_sbml_string(net)?;
            write_atomic(path, text.as_bytes())
        }
        _ => net.to_file(path),
    }
}

/// Read a model file; the format follows the extension: `.crn`, `.json`, `.toml`, BioNetGen
/// `.net` ([`bionetgen`]) or SBML `.xml`/`.sbml` ([`sbml`]).
pub fn read_network(path: impl AsRef<Path>) -> Result<Network> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    // A byte-order mark, as some Windows editors write, is not part of the model.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let built = |spec: Result<NetworkSpec>| spec?.build().map_err(|e| e.in_file(&shown));
    match path.extension().and_then(|e| e.to_str()) {
        Some("crn") => Network::from_crn_str(text, &shown),
        Some("json") => built(NetworkSpec::from_json_str(text, &shown)),
        Some("toml") => built(NetworkSpec::from_toml_str(text, &shown)),
        Some("net") => bionetgen::parse_net(text, &shown),
        Some("xml") | Some("sbml") => sbml::from_sbml_str(text, &shown),
        _ => Err(Error::UnknownFormat { path: shown }),
    }
}
