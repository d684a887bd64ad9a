//! The bundled example models (`examples/models/*.crn`), embedded in the library.

use crate::error::{Error, Result};
use crate::network::Network;

/// Name and `.crn` text of every bundled model: `birth_death`, `immigration_death`, `dimerisation`, `schlogl`, `vilar`, `toggle_switch`, `triangle`, `autoregulated_gene`, `autoregulated_feedback`, `toggle_promoters`.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "birth_death",
        include_str!("../../../examples/models/birth_death.crn"),
    ),
    (
        "immigration_death",
        include_str!("../../../examples/models/immigration_death.crn"),
    ),
    (
        "dimerisation",
        include_str!("../../../examples/models/dimerisation.crn"),
    ),
    (
        "schlogl",
        include_str!("../../../examples/models/schlogl.crn"),
    ),
    ("vilar", include_str!("../../../examples/models/vilar.crn")),
    (
        "toggle_switch",
        include_str!("../../../examples/models/toggle_switch.crn"),
    ),
    (
        "triangle",
        include_str!("../../../examples/models/triangle.crn"),
    ),
    (
        "autoregulated_gene",
        include_str!("../../../examples/models/autoregulated_gene.crn"),
    ),
    (
        "autoregulated_feedback",
        include_str!("../../../examples/models/autoregulated_feedback.crn"),
    ),
    (
        "toggle_promoters",
        include_str!("../../../examples/models/toggle_promoters.crn"),
    ),
];

/// Load the bundled model called `name`: one of `birth_death`, `immigration_death`, `dimerisation`, `schlogl`, `vilar`, `toggle_switch`, `triangle`, `autoregulated_gene`, `autoregulated_feedback`, `toggle_promoters` (the
/// files of the same names in `examples/models/`).
pub fn bundled(name: &str) -> Result<Network> {
    let (n, text) = BUNDLED
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| Error::Unsupported {
            feature: format!(
                "no bundled model called `{name}` (available: {})",
                BUNDLED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    Network::from_crn_str(text, &format!("examples/models/{n}.crn"))
}
