//! Integration tests (one binary, one module per area).

mod analysis;
mod bionetgen;
mod cli;
mod cme;
mod events;
mod exact_infer;
mod formats;
mod hostile;
mod learn;
mod parameters;
mod parse_errors;
mod properties;
mod sbml;
mod sbml_export;
mod ssa;
mod stats;
mod surrogate;
mod surrogate_cli;
mod surrogate_infer;
mod surrogate_traj;
mod sweep;
mod thermo;
