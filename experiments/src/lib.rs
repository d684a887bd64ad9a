//! Shared harness for the study binaries: command-line options (seed, output folder), an
//! output folder per study, atomic writes, and a `metadata.json` next to the results with
//! the study name, seed, crate version and command line; figures (`plot`, and
//! [`save_grid`] for studies that draw their own panels).

pub use crnkit::plot;

use plotters::coord::Shift;
use plotters::prelude::*;

/// A figure panel that draws itself into one cell of a grid (see [`save_grid`]).
pub trait DrawPanel {
    /// Draw into `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

fn draw_grid<DB: DrawingBackend, P: DrawPanel>(
    root: DrawingArea<DB, Shift>,
    panels: &[P],
    rows: usize,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)
        .map_err(|e| anyhow::anyhow!("drawing failed: {e:?}"))?;
    let cols = panels.len().div_ceil(rows.max(1));
    for (area, p) in root.split_evenly((rows, cols)).iter().zip(panels) {
        p.draw(area)?;
    }
    root.present()
        .map_err(|e| anyhow::anyhow!("writing the figure failed: {e:?}"))?;
    Ok(())
}

/// Draw `panels` row by row on a grid of `rows` rows to `<stem>.png` and `<stem>.svg`.
pub fn save_grid<P: DrawPanel>(
    stem: &Path,
    panels: &[P],
    rows: usize,
    size: (u32, u32),
) -> anyhow::Result<()> {
    plot::register_font();
    draw_grid(
        BitMapBackend::new(&stem.with_extension("png"), size).into_drawing_area(),
        panels,
        rows,
    )?;
    draw_grid(
        SVGBackend::new(&stem.with_extension("svg"), size).into_drawing_area(),
        panels,
        rows,
    )
}

use std::path::{Path, PathBuf};

use clap::Parser;

/// Options every study accepts.
#[derive(Debug, Clone, Parser)]
pub struct Options {
    /// Master seed (studies without randomness ignore it).
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Folder for the results; each study writes into `<out>/<study>/`.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
}

/// One run of a study.
#[derive(Debug)]
pub struct Study {
    name: String,
    dir: PathBuf,
    options: Options,
}

impl Study {
    /// Parse the options and create `<out>/<name>/`.
    pub fn start(name: &str) -> anyhow::Result<Study> {
        Study::with_options(name, Options::parse())
    }

    /// Create `<out>/<name>/` from options parsed elsewhere (a binary with options of its
    /// own flattens [`Options`] into them).
    pub fn with_options(name: &str, options: Options) -> anyhow::Result<Study> {
        let dir = options.out.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(Study {
            name: name.to_string(),
            dir,
            options,
        })
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.options.seed
    }

    /// The study's output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write `bytes` to `<dir>/<file>` atomically and return the path.
    pub fn write(&self, file: &str, bytes: impl AsRef<[u8]>) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(file);
        crnkit::io::write_atomic(&path, bytes.as_ref())?;
        Ok(path)
    }

    /// Write `metadata.json`: study, seed, crate version, command line and `extra`.
    pub fn finish(&self, extra: serde_json::Value) -> anyhow::Result<()> {
        let meta = serde_json::json!({
            "study": self.name,
            "seed": self.options.seed,
            "crnkit_version": env!("CARGO_PKG_VERSION"),
            "command": std::env::args().collect::<Vec<_>>(),
            "results": extra,
        });
        self.write("metadata.json", serde_json::to_string_pretty(&meta)? + "\n")?;
        eprintln!("results in {}", self.dir.display());
        Ok(())
    }
}
