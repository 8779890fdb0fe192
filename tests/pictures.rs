//! Pictures people look at: charts as SVG and PNG scaled to their data, and cell diagrams whose
//! edge labels render outside browsers (checked with cairo through cairosvg).

use std::process::Command;

use crate::common::{args, history, ok, python_with, run_ok, v2};

/// The text elements' contents of an SVG (plotters puts each on its own line).
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            Some(
                t.split_once('>')?
                    .1
                    .split_once("</text>")?
                    .0
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn search_charts_come_as_svg_and_png_with_beta_axes_scaled_to_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    ok(&args(&crate::search::tiny(run.to_str().unwrap(), &[])));
    for stem in ["beta", "skip_share", "beta_norm"] {
        let svg = std::fs::read_to_string(run.join(format!("{stem}.svg"))).unwrap();
        let png = image::open(run.join(format!("{stem}.png"))).unwrap();
        let w = format!("width=\"{}\" height=\"{}\"", png.width(), png.height());
        assert!(svg.contains(&w), "{stem}: the PNG is the SVG's size ({w})");
    }
    // β of a short search stays near 1/5: the ticks of every panel lie near the data, not 0–1.
    let h = history(&run);
    let betas: Vec<f64> = h
        .iter()
        .flat_map(|r| r["beta"][0].as_array().unwrap().clone())
        .flat_map(|row| row.as_array().unwrap().clone())
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (lo, hi) = betas
        .iter()
        .fold((1.0f64, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let svg = std::fs::read_to_string(run.join("beta.svg")).unwrap();
    let ticks: Vec<f64> = texts(&svg)
        .iter()
        .filter(|t| t.contains('.'))
        .filter_map(|t| t.parse().ok())
        .collect();
    assert!(ticks.len() >= 12, "tick values on the panels: {ticks:?}");
    let pad = (hi - lo).max(1e-3);
    assert!(
        ticks.iter().all(|&t| t >= lo - pad && t <= hi + pad),
        "ticks {ticks:?} outside the data {lo}..{hi}"
    );
}

#[test]
fn cell_diagram_labels_render_in_cairo() {
    let dir = tempfile::tempdir().unwrap();
    ok(&[
        "genotype",
        "draw",
        &v2(),
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    let Some(py) = python_with("cairosvg, PIL") else {
        println!("cairo rendering check SKIPPED: no Python with cairosvg (set BETADARTS_PYTHON)");
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/svg_labels.py");
    let out = run_ok(
        Command::new(py)
            .arg(script)
            .arg(dir.path().join("cell.svg")),
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 16, "8 edges in each of the two cells");
    for l in labels {
        let (with, without) = (l[1].as_i64().unwrap(), l[2].as_i64().unwrap());
        // A visible 12-character label is well over a hundred dark pixels at 11 px.
        assert!(with - without >= 60, "label {l} is not visible in cairo");
    }
    println!("cairo: all 16 edge labels of DARTS_V2 render");
}
