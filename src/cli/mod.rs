//! The commands of the `crnkit` binary, one file each: a `#[derive(Args)]` struct and `run`.

pub mod check;
pub mod common;
pub mod convert;
pub mod demo;
pub mod distill;
pub mod infer;
pub mod learn;
pub mod merge;
pub mod models;
pub mod ode;
pub mod query;
pub mod sbml_suite;
pub mod simulate;
pub mod solve;
pub mod sweep;
pub mod thermo;
