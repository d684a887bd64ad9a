//! Check every bundled model: writes `<out>/model_report/models.md` (the readable `crnkit
//! check` output of each model, as shown in `docs/analysis.md`), `summary.csv` and one
//! `<model>.json` per model.

use crnkit::models::{BUNDLED, bundled};
use crnkit::network::CheckReport;
use crnkit_experiments::Study;

fn main() -> anyhow::Result<()> {
    let study = Study::start("model_report")?;
    let mut md = String::from("# `crnkit check` on every bundled model\n\n");
    let mut csv = String::from(
        "model,species,reactions,channels,rank,conservation_laws,complexes,linkage_classes,deficiency,weakly_reversible,detailed_balanced\n",
    );
    for (name, _) in BUNDLED {
        let net = bundled(name)?;
        let report = CheckReport::new(&net)?;
        md.push_str(&format!(
            "## {name}\n\n```text\n$ crnkit check examples/models/{name}.crn\nmodel: examples/models/{name}.crn\n{report}```\n\n"
        ));
        csv.push_str(&format!(
            "{name},{},{},{},{},{},{},{},{},{},{}\n",
            report.species.len(),
            report.reactions,
            report.channels,
            report.rank,
            report.conservation_laws.len(),
            report.complexes.len(),
            report.linkage_classes,
            report.deficiency,
            report.weakly_reversible,
            report.detailed_balanced
        ));
        study.write(&format!("{name}.json"), report.to_json() + "\n")?;
    }
    study.write("models.md", md)?;
    study.write("summary.csv", &csv)?;
    print!("{csv}");
    study.finish(serde_json::json!({ "models": BUNDLED.len() }))
}
