//! `deploy eval`: accuracy of a model on labelled data, optionally beside a baseline model (an
//! INT8 model beside its float original) evaluated on the same images with the same engine.

use std::path::Path;

use anyhow::{Result, bail};
use betadarts_deploy::eval::{self, EvalData, EvalReport};
use betadarts_deploy::{EngineKind, ModelMeta, load_engine};
use indicatif::{ProgressBar, ProgressStyle};

pub struct How {
    pub engine: EngineKind,
    pub threads: Option<usize>,
    pub batch: usize,
    pub json: bool,
    pub quiet: bool,
}

fn evaluate(
    model: &Path,
    data: &Path,
    how: &How,
) -> Result<(EvalReport, ModelMeta, Option<String>)> {
    let (bytes, meta) = crate::run::read_model(model)?;
    let mut engine = load_engine(how.engine, &bytes, how.threads)?;
    // Its errors name the file or folder themselves.
    let set: EvalData = eval::open(data, &meta)?;
    if set.is_empty() {
        bail!("{}: no labelled images", data.display());
    }
    let bar = if how.quiet || how.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(set.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("eval [{bar:30}] {pos}/{len} ({elapsed}<{eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let report = eval::evaluate(engine.as_mut(), &meta, &set, how.batch, |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    Ok((
        report,
        meta,
        betadarts_deploy::meta::prop(&bytes, "quantization"),
    ))
}

pub fn run(model: &Path, baseline: Option<&Path>, data: &Path, how: &How) -> Result<()> {
    let (report, _, quant) = evaluate(model, data, how)?;
    let base = match baseline {
        Some(b) => Some(evaluate(b, data, how)?.0),
        None => None,
    };
    let agreement = base.as_ref().map(|b| {
        let same = report
            .predictions
            .iter()
            .zip(&b.predictions)
            .filter(|(a, b)| a == b)
            .count();
        100.0 * same as f64 / report.predictions.len().max(1) as f64
    });
    if how.json {
        let out = match &base {
            None => serde_json::to_value(&report)?,
            Some(b) => serde_json::json!({
                "model": report, "baseline": b,
                "delta_top1": report.top1 - b.top1, "top1_agreement": agreement,
            }),
        };
        println!("{out}");
        return Ok(());
    }
    let kind = |q: &Option<String>| if q.is_some() { "int8" } else { "float" };
    println!(
        "{}: {} images, top-1 {:.2}%, top-5 {:.2}% ({}, {})",
        data.display(),
        report.images,
        report.top1,
        report.top5,
        model.display(),
        kind(&quant)
    );
    if let (Some(b), Some(path)) = (&base, baseline) {
        println!(
            "{:>w$}  top-1 {:.2}%, top-5 {:.2}% ({}, baseline)",
            "",
            b.top1,
            b.top5,
            path.display(),
            w = data.display().to_string().len() + report.images.to_string().len() + 8
        );
        println!(
            "top-1 difference {:+.2} points; the two predict the same class for {:.2}% of the images",
            report.top1 - b.top1,
            agreement.unwrap_or(0.0)
        );
    }
    println!(
        "{:<20} {:>6} {:>8}  most confused with",
        "class", "images", "acc %"
    );
    for c in &report.per_class {
        let conf = c
            .most_confused_with
            .as_ref()
            .map_or(String::new(), |(n, k)| format!("{n} ({k})"));
        println!("{:<20} {:>6} {:>8.1}  {conf}", c.class, c.count, c.accuracy);
    }
    Ok(())
}
