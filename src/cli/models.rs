//! `crnkit models`: list the bundled example models, or print one as .crn text.

use clap::Args;

/// List the bundled example models, or print one as .crn text.
#[derive(Args)]
pub struct ModelsArgs {
    /// Print this model.
    pub name: Option<String>,
}

/// Run `crnkit models`.
pub fn run(a: ModelsArgs) -> crnkit::Result<()> {
    let ModelsArgs { name } = a;
    match name {
        None => {
            for (n, text) in crnkit::models::BUNDLED {
                let summary = text.lines().next().unwrap_or("").trim_start_matches("# ");
                println!("{n:<20} {summary}");
            }
            println!("\ntrained surrogates shipped (crnkit query builtin:NAME ...):");
            for b in crnkit::surrogate::builtin::BUILTIN {
                println!("{:<20} {}", b.name, b.about);
            }
        }
        Some(n) => print!("{}", crnkit::models::bundled(&n)?.to_crn_string()),
    }
    Ok(())
}
