//! Figures with plotters, written as PNG and SVG. Text uses the embedded DejaVu Sans font,
//! so figures look the same on every machine.

use std::path::Path;
use std::sync::Once;

use crate::error::{ModelError as Error, ModelResult as Result};

fn fail(reason: String) -> Error {
    Error::Numerical {
        what: "figure",
        reason,
    }
}
use plotters::coord::Shift;
use plotters::prelude::*;

static FONT: Once = Once::new();

/// Register the embedded font (once per process); plotters draws no text without it.
pub fn register_font() {
    FONT.call_once(|| {
        // A failure here only means plotters already has a font for this family.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// A line: name, colour and points.
pub struct Line {
    /// Legend entry.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// A mean ± sd band.
pub struct Band {
    /// Legend entry.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// (x, mean, sd).
    pub points: Vec<(f64, f64, f64)>,
}

/// One panel of a figure.
pub struct Panel {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// Bands.
    pub bands: Vec<Band>,
}

/// Colours for series, in order.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| fail(format!("drawing failed: {e:?}"));
    let xs = p
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|q| q.0))
        .chain(p.bands.iter().flat_map(|b| b.points.iter().map(|q| q.0)));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let ys = p
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|q| q.1))
        .chain(p.bands.iter().flat_map(|b| {
            b.points
                .iter()
                .flat_map(|q| [(q.1 - q.2).max(0.0), q.1 + q.2])
        }));
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    let (x0, x1) = if x0.is_finite() {
        (x0, x1.max(x0 + 1e-9))
    } else {
        (0.0, 1.0)
    };
    let (y0, y1) = if y0.is_finite() {
        (y0.min(0.0), y1.max(y0 + 1e-9) * 1.05)
    } else {
        (0.0, 1.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&p.x_label)
        .y_desc(&p.y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for b in &p.bands {
        let mut poly: Vec<(f64, f64)> = b.points.iter().map(|q| (q.0, q.1 + q.2)).collect();
        // Counts are never negative: the band stops at 0.
        poly.extend(
            b.points
                .iter()
                .rev()
                .map(|q| (q.0, (q.1 - q.2).max(0.0).max(y0))),
        );
        chart
            .draw_series(std::iter::once(Polygon::new(
                poly,
                b.color.mix(0.2).filled(),
            )))
            .map_err(err)?;
        let color = b.color;
        chart
            .draw_series(LineSeries::new(
                b.points.iter().map(|q| (q.0, q.1)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(&b.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    for l in &p.lines {
        let color = l.color;
        chart
            .draw_series(LineSeries::new(
                l.points.iter().copied(),
                color.stroke_width(1),
            ))
            .map_err(err)?
            .label(&l.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_all<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[Panel]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)
        .map_err(|e| fail(format!("drawing failed: {e:?}")))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, p) in areas.iter().zip(panels) {
        draw_panel(area, p)?;
    }
    root.present()
        .map_err(|e| fail(format!("writing the figure failed: {e:?}")))?;
    Ok(())
}

/// Write `panels` side by side to `<stem>.png` and `<stem>.svg`.
pub fn save(stem: &Path, panels: &[Panel], size: (u32, u32)) -> Result<()> {
    register_font();
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    draw_all(BitMapBackend::new(&png, size).into_drawing_area(), panels)?;
    draw_all(SVGBackend::new(&svg, size).into_drawing_area(), panels)?;
    Ok(())
}
