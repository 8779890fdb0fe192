//! Means with error bars by category: one group per category (a λ schedule), one marker per
//! series (a regularizer), mean ± std over seeds. Markers rather than bars, so the axis can be
//! scaled to the data (93–95 % accuracies stay apart) without bars that start nowhere.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{legend, legend_width, ticks};
use super::figure::{DrawResult, FONT, Figure, Picture, colour, render, y_range};
use crate::Result;

struct Groups<'a> {
    title: &'a str,
    y_label: &'a str,
    groups: &'a [&'a str],
    series: &'a [&'a str],
    values: &'a [Vec<Option<(f64, f64)>>],
}

impl Groups<'_> {
    fn group_width(&self) -> u32 {
        let longest = self
            .groups
            .iter()
            .map(|g| g.chars().count())
            .max()
            .unwrap_or(0) as u32;
        (9 * longest + 16)
            .max(24 * self.series.len() as u32 + 20)
            .max(100)
    }

    fn plot_width(&self) -> u32 {
        90 + self.group_width() * self.groups.len().max(1) as u32
    }
}

impl Figure for Groups<'_> {
    fn size(&self) -> (u32, u32) {
        (
            self.plot_width() + legend_width(self.series),
            400.max(80 + 18 * self.series.len() as u32),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (plot, key) = root.split_horizontally(self.plot_width());
        let all = self.values.iter().flatten().flatten();
        let range = y_range(all.flat_map(|&(m, s)| [m - s, m + s]));
        let g = self.groups.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&plot)
            .caption(self.title, (FONT, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..g - 0.5, range.0..range.1)?;
        let names = self.groups;
        let fmt = ticks(range, 8);
        chart
            .configure_mesh()
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(RGBColor(238, 238, 238))
            .disable_x_mesh()
            .x_labels(names.len() * 2 + 1)
            // Ticks fall on the half-steps as well; only whole ones name a group.
            .x_label_formatter(&|x: &f64| {
                let i = x.round();
                match ((x - i).abs() < 1e-6, names.get(i.max(0.0) as usize)) {
                    (true, Some(name)) if i >= 0.0 => name.to_string(),
                    _ => String::new(),
                }
            })
            .y_labels(8)
            .y_label_formatter(&fmt)
            .y_desc(self.y_label)
            .draw()?;
        let n = self.series.len().max(1) as f64;
        for (k, vals) in self.values.iter().enumerate() {
            let c = colour(k);
            for (gi, v) in vals.iter().enumerate() {
                let Some((mean, std)) = *v else { continue };
                let x = gi as f64 + (k as f64 - (n - 1.0) / 2.0) * 0.7 / n;
                if std > 0.0 {
                    chart.draw_series([PathElement::new(
                        vec![(x, mean - std), (x, mean + std)],
                        c.stroke_width(2),
                    )])?;
                }
                chart.draw_series([Circle::new((x, mean), 5, c.filled())])?;
            }
        }
        legend(&key, self.series, 50)
    }
}

/// `values[series][group]` = (mean, std), `None` where nothing finished.
pub fn grouped_means(
    title: &str,
    y_label: &str,
    groups: &[&str],
    series: &[&str],
    values: &[Vec<Option<(f64, f64)>>],
) -> Result<Picture> {
    render(&Groups {
        title,
        y_label,
        groups,
        series,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_marker_per_value_error_bars_only_with_spread_and_group_names() {
        let v = vec![
            vec![Some((94.1, 0.2)), None],
            vec![Some((93.2, 0.0)), Some((94.36, 0.05))],
        ];
        let p = grouped_means(
            "t",
            "acc",
            &["linear:0:50", "constant:10"],
            &["beta", "l2"],
            &v,
        )
        .unwrap();
        assert_eq!(p.svg.matches("<circle").count(), 3);
        let t = crate::viz::chart::tests::texts(&p.svg);
        for name in ["linear:0:50", "constant:10", "beta", "l2", "acc"] {
            assert!(t.iter().any(|s| s == name), "{name}: {t:?}");
        }
        // Scaled to the data: 93–94.5, not 0–100.
        let ticks: Vec<f64> = t.iter().filter_map(|s| s.parse().ok()).collect();
        assert!(
            !ticks.is_empty() && ticks.iter().all(|v| (92.0..=95.0).contains(v)),
            "{ticks:?}"
        );
        assert!(p.png.starts_with(b"\x89PNG"));
    }
}
