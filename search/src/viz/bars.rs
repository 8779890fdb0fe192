//! Grouped bar charts with error bars as SVG: one group per category (a λ schedule), one bar
//! per series (a regularizer), mean ± std over seeds.

use std::fmt::Write;

use super::{PALETTE, esc};

/// `values[series][group]` = (mean, std), `None` where nothing finished.
pub fn grouped_bars(
    title: &str,
    y_label: &str,
    groups: &[&str],
    series: &[&str],
    values: &[Vec<Option<(f64, f64)>>],
    y_range: (f64, f64),
) -> String {
    let (y0, y1) = y_range;
    let (ox, oy, h) = (70.0, 50.0, 240.0);
    let bar_w = 12.0;
    let group_w = (series.len().max(1) as f64 * bar_w + 16.0).max(60.0);
    let w = group_w * groups.len().max(1) as f64;
    let sy = |v: f64| oy + h - ((v - y0) / (y1 - y0)).clamp(0.0, 1.0) * h;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<rect x=\"{ox}\" y=\"{oy}\" width=\"{w:.1}\" height=\"{h}\" fill=\"white\" stroke=\"#bbb\"/>"
    );
    for (frac, label) in [(0.0, y0), (0.5, (y0 + y1) / 2.0), (1.0, y1)] {
        let y = oy + h - frac * h;
        let _ = writeln!(
            body,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"end\">{label}</text>",
            ox - 4.0,
            y + 3.0
        );
    }
    let _ = writeln!(
        body,
        "<text x=\"16\" y=\"{:.1}\" font-size=\"11\" transform=\"rotate(-90 16 {:.1})\" text-anchor=\"middle\">{}</text>",
        oy + h / 2.0,
        oy + h / 2.0,
        esc(y_label)
    );
    for (g, name) in groups.iter().enumerate() {
        let gx = ox + g as f64 * group_w + 8.0;
        for (k, vals) in values.iter().enumerate() {
            let Some((mean, std)) = vals.get(g).copied().flatten() else {
                continue;
            };
            let x = gx + k as f64 * bar_w;
            let top = sy(mean);
            let colour = PALETTE[k % PALETTE.len()];
            let _ = writeln!(
                body,
                "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {mean:.2} ± {std:.2}</title></rect>",
                bar_w - 2.0,
                (oy + h - top).max(0.0),
                esc(series.get(k).copied().unwrap_or(""))
            );
            if std > 0.0 {
                let cx = x + (bar_w - 2.0) / 2.0;
                let _ = writeln!(
                    body,
                    "<line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
                    sy(mean - std),
                    sy(mean + std)
                );
            }
        }
        let lx = ox + (g as f64 + 0.5) * group_w;
        let ly = oy + h + 12.0;
        let _ = writeln!(
            body,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-35 {lx:.1} {ly:.1})\">{}</text>",
            esc(name)
        );
    }
    let lx = ox + w + 20.0;
    for (k, name) in series.iter().enumerate() {
        let y = oy + 10.0 + k as f64 * 16.0;
        let _ = writeln!(
            body,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"11\">{}</text>",
            y - 9.0,
            PALETTE[k % PALETTE.len()],
            lx + 18.0,
            esc(name)
        );
    }
    let longest = series.iter().map(|s| s.chars().count()).max().unwrap_or(0) as f64;
    let width = lx + 30.0 + 7.0 * longest;
    let height = (oy + h + 110.0).max(oy + 30.0 + 16.0 * series.len() as f64);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"20\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>\n{body}</svg>\n",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_value_and_error_bars_only_with_spread() {
        let v = vec![
            vec![Some((50.0, 2.0)), None],
            vec![Some((100.0, 0.0)), Some((25.0, 1.0))],
        ];
        let svg = grouped_bars("t", "acc", &["g1", "g2"], &["a", "b"], &v, (0.0, 100.0));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert_eq!(svg.matches("stroke=\"black\"").count(), 2);
        // 50 of 0..100 is half the 240 px panel: the bar top is at 50 + 120 = 170.
        assert!(svg.contains("y=\"170.0\" width=\"10.0\" height=\"120.0\""));
    }
}
