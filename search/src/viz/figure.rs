//! Charts drawn with plotters into both an SVG (text stays text) and a PNG (rendered with the
//! DejaVu Sans compiled into the binary, so a fresh machine with no fonts draws the same labels).
//! A chart is one [`Figure`]: it draws itself on any plotters backend.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::Result;

/// The family every chart names; registered with the embedded font for the PNG.
pub const FONT: &str = "sans-serif";

/// Distinct line colours (Tableau 10).
pub const COLOURS: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

pub fn colour(k: usize) -> RGBColor {
    COLOURS[k % COLOURS.len()]
}

/// A chart: its pixel size and how it draws itself.
pub trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

pub type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The same chart as SVG text and PNG bytes.
pub struct Picture {
    pub svg: String,
    pub png: Vec<u8>,
}

impl Picture {
    /// Writes `stem.svg` and `stem.png` in `dir`, each atomically.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<()> {
        crate::run_dir::write_atomic(&dir.join(format!("{stem}.svg")), self.svg.as_bytes())?;
        crate::run_dir::write_atomic(&dir.join(format!("{stem}.png")), &self.png)
    }
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ] {
            // The bytes are a valid TrueType font compiled in; a failure would only lose PNG text.
            let _ = plotters::style::register_font(FONT, style, bytes);
        }
    });
}

fn failed(what: &str, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Invalid(format!("drawing the {what}: {e}"))
}

/// Draws `fig` into an SVG string and a PNG image.
pub fn render(fig: &impl Figure) -> Result<Picture> {
    register_font();
    let (w, h) = fig.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed("SVG", e))?;
        fig.draw(&root).map_err(|e| failed("SVG", e))?;
        root.present().map_err(|e| failed("SVG", e))?;
    }
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed("PNG", e))?;
        fig.draw(&root).map_err(|e| failed("PNG", e))?;
        root.present().map_err(|e| failed("PNG", e))?;
    }
    let img = image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| failed("PNG", "buffer size"))?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| failed("PNG", e))?;
    Ok(Picture {
        svg,
        png: png.into_inner(),
    })
}

/// A y range that shows `values` (NaN ignored) with a margin: flat or empty data gets a small
/// band around its value, so a line never sits on the frame.
pub fn y_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 1e-12 {
        0.08 * span
    } else {
        0.05 * lo.abs().max(1e-3)
    };
    (lo - pad, hi + pad)
}

/// Runs of consecutive finite values as (x, y) points, x = epoch (1-based).
pub fn segments(series: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut run = vec![];
    for (i, &v) in series.iter().enumerate() {
        if v.is_finite() {
            run.push(((i + 1) as f64, v));
        } else if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_fit_the_data_with_a_margin() {
        let (lo, hi) = y_range([0.17, 0.23, f64::NAN, 0.2]);
        assert!((lo - (0.17 - 0.0048)).abs() < 1e-9 && (hi - (0.23 + 0.0048)).abs() < 1e-9);
        let (lo, hi) = y_range([0.5, 0.5]);
        assert!(lo < 0.5 && hi > 0.5 && hi - lo < 0.06);
        assert_eq!(y_range([f64::NAN]), (0.0, 1.0));
    }

    #[test]
    fn missing_values_split_series_into_runs() {
        let s = segments(&[0.1, 0.2, f64::NAN, 0.4, f64::NAN, f64::NAN, 0.7]);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], [(1.0, 0.1), (2.0, 0.2)]);
        assert_eq!(s[2], [(7.0, 0.7)]);
    }
}
