//! Line charts over epochs: single panels of named series (losses, accuracies, the share of
//! skip-connections) and small multiples of β per edge, one line per op — the picture the
//! β-DARTS paper argues with. Every panel is scaled to its own data and carries tick values.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{DrawResult, FONT, Figure, Picture, colour, render, segments, y_range};
use crate::Result;

/// Tick labels with the decimals of the tick step: the smallest 1, 2 or 5 × 10^k that puts at
/// most `labels` ticks on the range (how plotters places them).
pub(super) fn ticks(range: (f64, f64), labels: usize) -> impl Fn(&f64) -> String {
    let span = (range.1 - range.0).abs().max(1e-12);
    let mut scale = 10f64.powf((span / labels as f64).log10().floor());
    let step = loop {
        if let Some(m) = [1.0, 2.0, 5.0]
            .iter()
            .find(|&&m| span / (m * scale) <= labels as f64)
        {
            break m * scale;
        }
        scale *= 10.0;
    };
    let decimals = (-step.log10().floor()).clamp(0.0, 8.0) as usize;
    move |v: &f64| format!("{v:.decimals$}")
}

/// The series of one panel, with epochs 1..=n on x.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: (&str, u32),
    axis: Option<&str>,
    series: &[Vec<f64>],
) -> DrawResult<DB> {
    let n = series.iter().map(Vec::len).max().unwrap_or(0).max(2) as i32;
    let range = y_range(series.iter().flatten().copied());
    let small = axis.is_none();
    let y_labels = if small { 5 } else { 8 };
    let fmt = ticks(range, y_labels);
    // Room for the longest tick label (≈ 8 px a character), plus the axis title.
    let chars = [range.0, range.1]
        .iter()
        .map(|v| fmt(v).len())
        .max()
        .unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(caption.0, (FONT, caption.1))
        .margin(if small { 4 } else { 10 })
        .x_label_area_size(if small { 22 } else { 44 })
        .y_label_area_size(8 * chars + if small { 10 } else { 34 })
        .build_cartesian_2d(1..n, range.0..range.1)?;
    let mut mesh = chart.configure_mesh();
    mesh.label_style((FONT, if small { 13 } else { 15 }))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(238, 238, 238))
        .x_labels(if small { 5 } else { 10 })
        .y_labels(y_labels)
        .y_label_formatter(&fmt);
    if let Some(label) = axis {
        mesh.x_desc("epoch").y_desc(label);
    }
    mesh.draw()?;
    for (k, s) in series.iter().enumerate() {
        let style = colour(k).stroke_width(if small { 1 } else { 2 });
        for seg in segments(s) {
            let pts: Vec<(i32, f64)> = seg.iter().map(|&(x, y)| (x as i32, y)).collect();
            if pts.len() == 1 {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour(k).filled())))?;
            } else if k < 10 {
                chart.draw_series(LineSeries::new(pts, style))?;
            } else {
                // Beyond the palette: the same colours, dashed.
                chart.draw_series(DashedLineSeries::new(pts, 6, 3, style))?;
            }
        }
    }
    Ok(())
}

/// A legend: a short line of each series' colour and its name, one per row from `top`.
pub(super) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: &[&str],
    top: i32,
) -> DrawResult<DB> {
    for (k, name) in names.iter().enumerate() {
        let y = top + 18 * k as i32;
        // Dashed, like the series beyond the palette.
        let parts: &[(i32, i32)] = if k < 10 {
            &[(8, 28)]
        } else {
            &[(8, 15), (21, 28)]
        };
        for &(a, b) in parts {
            area.draw(&PathElement::new(
                vec![(a, y), (b, y)],
                colour(k).stroke_width(3),
            ))?;
        }
        area.draw(&Text::new(name.to_string(), (34, y - 8), (FONT, 15)))?;
    }
    Ok(())
}

/// Pixel width a legend of these names needs (≈ 8 px per character).
pub(super) fn legend_width(names: &[&str]) -> u32 {
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as u32;
    50 + 8 * longest
}

struct Lines<'a> {
    title: &'a str,
    y_label: &'a str,
    names: &'a [&'a str],
    series: &'a [Vec<f64>],
}

impl Figure for Lines<'_> {
    fn size(&self) -> (u32, u32) {
        (
            660 + legend_width(self.names),
            380.max(80 + 18 * self.names.len() as u32),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (plot, key) = root.split_horizontally(660);
        panel(&plot, (self.title, 20), Some(self.y_label), self.series)?;
        legend(&key, self.names, 50)
    }
}

/// One panel of named series over epochs (NaN = no value), scaled to the data.
pub fn line_chart(
    title: &str,
    y_label: &str,
    names: &[&str],
    series: &[Vec<f64>],
) -> Result<Picture> {
    render(&Lines {
        title,
        y_label,
        names,
        series,
    })
}

struct BetaGrid<'a> {
    title: &'a str,
    /// `beta[epoch][tensor][edge][op]`.
    beta: &'a [Vec<Vec<Vec<f32>>>],
    tensors: &'a [&'a str],
    edges: &'a [Vec<String>],
    ops: &'a [&'a str],
}

const PANEL: (u32, u32) = (250, 200);
const HEAD: u32 = 84;

impl BetaGrid<'_> {
    /// Panels per row: NB201's six edges in one row, DARTS' fourteen in two.
    fn cols(&self) -> usize {
        self.edges
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .clamp(1, 7)
    }

    fn rows(&self, t: usize) -> u32 {
        self.edges.get(t).map_or(0, Vec::len).div_ceil(self.cols()) as u32
    }

    /// Edge `e` of tensor `t`: one series per op over epochs.
    fn series(&self, t: usize, e: usize) -> Vec<Vec<f64>> {
        (0..self.ops.len())
            .map(|k| {
                self.beta
                    .iter()
                    .map(|ep| {
                        let v = ep.get(t).and_then(|m| m.get(e)).and_then(|row| row.get(k));
                        v.map_or(f64::NAN, |&v| v as f64)
                    })
                    .collect()
            })
            .collect()
    }
}

impl Figure for BetaGrid<'_> {
    fn size(&self) -> (u32, u32) {
        let body: u32 = (0..self.tensors.len())
            .map(|t| 24 + self.rows(t) * PANEL.1)
            .sum();
        (self.cols() as u32 * PANEL.0 + 20, HEAD + body + 10)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let bold = |size| (FONT, size).into_font().style(FontStyle::Bold);
        root.draw(&Text::new(self.title.to_string(), (14, 10), bold(21)))?;
        let note = "β = softmax(α) per edge against epoch; each panel is scaled to its own data";
        let grey = (FONT, 15).into_font().color(&RGBColor(90, 90, 90));
        root.draw(&Text::new(note, (14, 36), grey))?;
        // The ops' colours in one row under the title.
        let mut x = 14;
        for (k, op) in self.ops.iter().enumerate() {
            let line = PathElement::new(vec![(x, 68), (x + 20, 68)], colour(k).stroke_width(3));
            root.draw(&line)?;
            root.draw(&Text::new(op.to_string(), (x + 26, 61), (FONT, 15)))?;
            x += 46 + 8 * op.chars().count() as i32;
        }
        let mut rest = root.split_vertically(HEAD).1;
        for (t, name) in self.tensors.iter().enumerate() {
            let (head, body) = rest.split_vertically(24);
            head.draw(&Text::new(name.to_string(), (14, 4), bold(16)))?;
            let (block, below) = body.split_vertically(self.rows(t) * PANEL.1);
            let grid = (self.rows(t) as usize, self.cols());
            let cells = block.margin(0, 0, 10, 10).split_evenly(grid);
            for (e, area) in cells.iter().enumerate().take(self.edges[t].len()) {
                panel(area, (&self.edges[t][e], 15), None, &self.series(t, e))?;
            }
            rest = below;
        }
        Ok(())
    }
}

/// β over epochs: `beta[epoch][tensor][edge][op]`, one panel per edge of each α tensor.
pub fn beta_trajectories(
    title: &str,
    beta: &[Vec<Vec<Vec<f32>>>],
    tensor_names: &[&str],
    edge_labels: &[Vec<String>],
    ops: &[&str],
) -> Result<Picture> {
    render(&BetaGrid {
        title,
        beta,
        tensors: tensor_names,
        edges: edge_labels,
        ops,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The text elements' contents (plotters puts each on its own line).
    pub(in crate::viz) fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = t.split_once('>')?.1.split_once("</text>")?.0;
                Some(body.trim().to_string())
            })
            .collect()
    }

    #[test]
    fn beta_panels_show_their_own_range_with_ticks_and_a_png_beside() {
        // 40 epochs where β moved only between 0.17 and 0.23 (a short CPU search).
        let beta: Vec<Vec<Vec<Vec<f32>>>> = (0..40)
            .map(|ep| {
                let d = 0.03 * ep as f32 / 39.0;
                vec![vec![vec![0.2 + d, 0.2 - d, 0.2, 0.2, 0.2]; 6]]
            })
            .collect();
        let labels = vec![(0..6).map(|e| format!("edge {e}")).collect::<Vec<_>>()];
        let ops = [
            "none",
            "skip_connect",
            "nor_conv_1x1",
            "nor_conv_3x3",
            "avg_pool_3x3",
        ];
        let p = beta_trajectories("t", &beta, &["alphas"], &labels, &ops).unwrap();
        // Tick values inside the data's range, at the precision it needs; none at 0 or 1.
        let t = texts(&p.svg);
        assert!(t.iter().any(|s| s == "0.20"), "a tick at 0.20: {t:?}");
        let ticks: Vec<f64> = t
            .iter()
            .filter_map(|s| s.parse().ok())
            .filter(|v| *v < 1.0)
            .collect();
        assert!(ticks.iter().all(|v| (0.16..=0.24).contains(v)), "{ticks:?}");
        for op in ops {
            assert!(t.iter().any(|s| s == op), "{op} in the legend");
        }
        assert_eq!(t.iter().filter(|s| s.starts_with("edge ")).count(), 6);
        let png = image::load_from_memory(&p.png).unwrap();
        assert_eq!(
            (png.width(), png.height()),
            BetaGrid {
                title: "t",
                beta: &beta,
                tensors: &["alphas"],
                edges: &labels,
                ops: &ops
            }
            .size()
        );
    }

    #[test]
    fn line_charts_have_axis_titles_and_epoch_ticks() {
        let s = vec![
            vec![2.3, 1.9, f64::NAN, 1.2, 1.0],
            vec![2.4, 2.0, 1.7, 1.5, 1.4],
        ];
        let p = line_chart("Loss", "cross-entropy", &["train", "test"], &s).unwrap();
        let t = texts(&p.svg);
        for text in [
            "Loss",
            "cross-entropy",
            "epoch",
            "train",
            "test",
            "5",
            "1.0",
            "2.4",
        ] {
            assert!(t.iter().any(|s| s == text), "{text}: {t:?}");
        }
        assert!(!p.svg.contains("NaN"));
        assert!(p.png.starts_with(b"\x89PNG"));
    }
}
