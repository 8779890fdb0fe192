//! Line charts as SVG: small multiples of β per edge over epochs (one panel per edge, one line
//! per op: the picture the β-DARTS paper argues with), and single-panel series such as the
//! share of skip-connections in the derived cell.

use std::fmt::Write;

use super::{PALETTE, esc};

/// One panel with several series over x = 0..n−1, y in [y_min, y_max], drawn at (ox, oy).
#[allow(clippy::too_many_arguments)]
fn panel(
    out: &mut String,
    ox: f64,
    oy: f64,
    w: f64,
    h: f64,
    title: &str,
    series: &[Vec<f64>],
    y_range: (f64, f64),
) {
    let (y0, y1) = y_range;
    let n = series.iter().map(Vec::len).max().unwrap_or(0);
    let _ = writeln!(out, "<g transform=\"translate({ox:.1},{oy:.1})\">");
    let _ = writeln!(
        out,
        "<rect width=\"{w}\" height=\"{h}\" fill=\"white\" stroke=\"#bbb\"/>"
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"-4\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
        w / 2.0,
        esc(title)
    );
    let _ = writeln!(
        out,
        "<text x=\"-3\" y=\"{h}\" font-size=\"9\" text-anchor=\"end\">{y0}</text>"
    );
    let _ = writeln!(
        out,
        "<text x=\"-3\" y=\"9\" font-size=\"9\" text-anchor=\"end\">{y1}</text>"
    );
    let sx = |i: usize| {
        if n <= 1 {
            w / 2.0
        } else {
            i as f64 * w / (n - 1) as f64
        }
    };
    let sy = |v: f64| h - ((v - y0) / (y1 - y0)).clamp(0.0, 1.0) * h;
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        // Missing values (NaN) break the line into segments.
        for seg in s
            .iter()
            .enumerate()
            .collect::<Vec<_>>()
            .split(|(_, v)| !v.is_finite())
            .filter(|seg| !seg.is_empty())
        {
            let pts: Vec<String> = seg
                .iter()
                .map(|&(i, &v)| format!("{:.1},{:.1}", sx(i), sy(v)))
                .collect();
            if pts.len() == 1 {
                let (i, &v) = seg[0];
                let _ = writeln!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{colour}\"/>",
                    sx(i),
                    sy(v)
                );
            } else {
                let _ = writeln!(
                    out,
                    "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{} points=\"{}\"/>",
                    dash(k),
                    pts.join(" ")
                );
            }
        }
    }
    out.push_str("</g>\n");
}

/// Series beyond the palette repeat its colours with a dash pattern.
fn dash(k: usize) -> &'static str {
    match (k / PALETTE.len()) % 3 {
        0 => "",
        1 => " stroke-dasharray=\"6,3\"",
        _ => " stroke-dasharray=\"2,2\"",
    }
}

fn legend(out: &mut String, x: f64, y: f64, names: &[&str]) {
    for (k, name) in names.iter().enumerate() {
        let yy = y + k as f64 * 16.0;
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\" stroke=\"{}\" stroke-width=\"3\"{}/>",
            x + 18.0,
            PALETTE[k % PALETTE.len()],
            dash(k)
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            x + 24.0,
            yy + 4.0,
            esc(name)
        );
    }
}

/// β over epochs: `beta[epoch][tensor][edge][op]`, one panel per edge of each α tensor.
pub fn beta_trajectories(
    title: &str,
    beta: &[Vec<Vec<Vec<f32>>>],
    tensor_names: &[&str],
    edge_labels: &[Vec<String>],
    ops: &[&str],
) -> String {
    let (pw, ph, gap_x, gap_y, cols) = (150.0, 90.0, 40.0, 42.0, 7usize);
    let mut body = String::new();
    let mut y = 75.0;
    for (t, name) in tensor_names.iter().enumerate() {
        let _ = writeln!(
            body,
            "<text x=\"20\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
            y - 22.0,
            esc(name)
        );
        let edges = edge_labels.get(t).map_or(0, Vec::len);
        for e in 0..edges {
            let (c, r) = (e % cols, e / cols);
            let series: Vec<Vec<f64>> = (0..ops.len())
                .map(|k| {
                    beta.iter()
                        .map(|ep| {
                            ep.get(t)
                                .and_then(|m| m.get(e))
                                .and_then(|row| row.get(k))
                                .copied()
                                .unwrap_or(0.0) as f64
                        })
                        .collect()
                })
                .collect();
            panel(
                &mut body,
                50.0 + c as f64 * (pw + gap_x),
                y + r as f64 * (ph + gap_y),
                pw,
                ph,
                &edge_labels[t][e],
                &series,
                (0.0, 1.0),
            );
        }
        y += edges.div_ceil(cols) as f64 * (ph + gap_y) + 30.0;
    }
    let width = 50.0 + cols as f64 * (pw + gap_x) + 170.0;
    legend(&mut body, width - 160.0, 60.0, ops);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"20\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n<text x=\"20\" y=\"34\" font-size=\"11\" fill=\"#555\">β = softmax(α) per edge (y from 0 to 1) against epoch</text>\n{body}</svg>\n",
        y + 10.0,
        esc(title)
    )
}

/// A single panel of named series over epochs (NaN = no value).
pub fn line_chart(
    title: &str,
    y_label: &str,
    names: &[&str],
    series: &[Vec<f64>],
    y_range: (f64, f64),
) -> String {
    let mut body = String::new();
    panel(
        &mut body, 60.0, 40.0, 420.0, 220.0, y_label, series, y_range,
    );
    legend(&mut body, 500.0, 50.0, names);
    let height = 300.0f64.max(70.0 + 16.0 * names.len() as f64);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"20\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n<text x=\"270\" y=\"290\" font-size=\"11\" text-anchor=\"middle\">epoch</text>\n{body}</svg>\n",
        legend_width(names),
        esc(title)
    )
}

/// Width that fits the legend's longest name (≈ 6.5 px per character at 11 px).
fn legend_width(names: &[&str]) -> usize {
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    680usize.max(530 + longest * 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_panel_per_edge_and_one_line_per_op() {
        let beta = vec![vec![vec![vec![0.2f32; 5]; 6]]; 3];
        let labels = vec![(0..6).map(|e| format!("e{e}")).collect::<Vec<_>>()];
        let svg = beta_trajectories("t", &beta, &["alphas"], &labels, &["a", "b", "c", "d", "e"]);
        assert_eq!(svg.matches("<polyline").count(), 30);
        assert_eq!(svg.matches("<rect width=\"150\"").count(), 6);
        // β = 0.2 maps to 80% of the panel height below the top: y = 90 − 0.2·90 = 72.
        assert!(svg.contains("0.0,72.0"));
    }

    #[test]
    fn missing_values_split_lines() {
        let s = vec![vec![0.1, 0.2, f64::NAN, 0.4, 0.5, f64::NAN, 0.7]];
        let svg = line_chart("t", "y", &["a"], &s, (0.0, 1.0));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(!svg.contains("NaN"));
    }
}
