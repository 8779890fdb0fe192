//! Activation ranges for static quantization: the float model runs (in tract) on calibration
//! images with every node's output exposed, and each tensor's range is taken either from its
//! extreme values (min-max) or from a percentile of its values (outliers clipped; two passes:
//! extremes, then a histogram between them).

use std::str::FromStr;

use tract_onnx::pb::{ModelProto, ValueInfoProto};
use tract_onnx::prelude::*;

use crate::quantize::Ranges;
use crate::{Error, Result};

/// How a tensor's range is chosen from the values it took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    MinMax,
    /// Clip to the `p` and `100 − p` percentiles (p in (50, 100]).
    Percentile(f64),
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method> {
        let bad = || {
            Error::Unsupported(format!(
                "--calibration {s:?}: choose minmax, percentile or percentile:P (50 < P ≤ 100)"
            ))
        };
        match s.split_once(':') {
            None if s == "minmax" => Ok(Method::MinMax),
            None if s == "percentile" => Ok(Method::Percentile(99.99)),
            Some(("percentile", p)) => match p.parse::<f64>() {
                Ok(p) if p > 50.0 && p <= 100.0 => Ok(Method::Percentile(p)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::MinMax => f.write_str("minmax"),
            Method::Percentile(p) => write!(f, "percentile:{p}"),
        }
    }
}

const BINS: usize = 2048;

/// The model with every node output (and its input) as graph outputs, planned for one image.
fn probe(model: &ModelProto, shape: [usize; 4]) -> Result<(Vec<String>, Arc<TypedRunnableModel>)> {
    let mut m = model.clone();
    let g = m
        .graph
        .as_mut()
        .ok_or_else(|| Error::Unsupported("model without a graph".into()))?;
    let names: Vec<String> = g.node.iter().map(|n| n.output[0].clone()).collect();
    g.output = names
        .iter()
        .map(|n| ValueInfoProto {
            name: n.clone(),
            ..Default::default()
        })
        .collect();
    let fail = |e: TractError| Error::Unsupported(format!("calibration run in tract: {e}"));
    betadarts_deploy::tract_isa::choose();
    let plan = tract_onnx::onnx()
        .model_for_proto_model(&m)
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(fail)?;
    Ok((names, plan))
}

/// Runs every image (`[c, s, s]` values each), hands each tensor's values to `seen`, and
/// reports each image run to `done`.
fn each_tensor(
    names: &[String],
    plan: &Arc<TypedRunnableModel>,
    shape: [usize; 4],
    images: &[Vec<f32>],
    mut seen: impl FnMut(usize, &[f32]),
    done: &mut dyn FnMut(),
) -> Result<()> {
    let fail = |e: TractError| Error::Unsupported(format!("calibration run in tract: {e}"));
    for img in images {
        seen(0, img);
        let x = Tensor::from_shape(&shape, img).map_err(fail)?;
        let outs = plan.run(tvec!(x.into_tvalue())).map_err(fail)?;
        for (i, t) in outs.iter().enumerate().take(names.len()) {
            let v = t.to_plain_array_view::<f32>().map_err(fail)?;
            seen(i + 1, v.as_slice().unwrap_or(&[]));
        }
        done();
    }
    Ok(())
}

/// The ranges of the input (`input`) and of every node output of the float `model` over
/// `images`, one image of `shape` at a time; `progress(done, total)` after each image run
/// (percentile runs every image twice).
pub fn calibrate(
    model: &ModelProto,
    input: &str,
    images: &[Vec<f32>],
    shape: [usize; 4],
    method: Method,
    mut progress: impl FnMut(usize, usize),
) -> Result<Ranges> {
    if images.is_empty() {
        return Err(Error::Unsupported("no calibration images".into()));
    }
    let (names, plan) = probe(model, shape)?;
    let passes = if method == Method::MinMax { 1 } else { 2 };
    let (total, mut runs) = (passes * images.len(), 0);
    let mut done = || {
        runs += 1;
        progress(runs, total);
    };
    let mut extremes = vec![(f32::INFINITY, f32::NEG_INFINITY); names.len() + 1];
    each_tensor(
        &names,
        &plan,
        shape,
        images,
        |i, v| {
            for &x in v.iter().filter(|x| x.is_finite()) {
                extremes[i] = (extremes[i].0.min(x), extremes[i].1.max(x));
            }
        },
        &mut done,
    )?;
    let ranges = match method {
        Method::MinMax => extremes.clone(),
        Method::Percentile(p) => {
            let mut hist = vec![vec![0u64; BINS]; names.len() + 1];
            each_tensor(
                &names,
                &plan,
                shape,
                images,
                |i, v| {
                    let (lo, hi) = extremes[i];
                    let width = (hi - lo).max(f32::MIN_POSITIVE);
                    for &x in v.iter().filter(|x| x.is_finite()) {
                        let b = (((x - lo) / width) * BINS as f32) as usize;
                        hist[i][b.min(BINS - 1)] += 1;
                    }
                },
                &mut done,
            )?;
            hist.iter()
                .zip(&extremes)
                .map(|(h, &(lo, hi))| percentile_range(h, lo, hi, p))
                .collect()
        }
    };
    let mut out = Ranges::new();
    out.insert(input.to_string(), ranges[0]);
    for (name, r) in names.into_iter().zip(&ranges[1..]) {
        out.insert(name, *r);
    }
    Ok(out)
}

/// The values between the `100 − p` and `p` percentiles of a histogram of [lo, hi] (bin edges).
fn percentile_range(h: &[u64], lo: f32, hi: f32, p: f64) -> (f32, f32) {
    let total: u64 = h.iter().sum();
    if total == 0 || hi <= lo {
        return (lo, hi);
    }
    let cut = ((1.0 - p / 100.0) * total as f64).floor() as u64;
    let edge = |b: usize| lo + (hi - lo) * b as f32 / h.len() as f32;
    let (mut below, mut first) = (0u64, 0usize);
    while first < h.len() && below + h[first] <= cut {
        below += h[first];
        first += 1;
    }
    let (mut above, mut last) = (0u64, h.len());
    while last > first + 1 && above + h[last - 1] <= cut {
        above += h[last - 1];
        last -= 1;
    }
    (edge(first), edge(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_clips_only_the_tails() {
        // 9,900 values: 100 in each of bins 0..97, 98 in bin 98, two outliers in bin 99.
        let mut h = vec![100u64; 100];
        h[99] = 2;
        h[98] = 98;
        let (lo, hi) = percentile_range(&h, 0.0, 100.0, 99.98);
        // 0.02 % of 9,900 ≈ 1.98 → 1 value may go: the outlier bin (2) stays.
        assert_eq!((lo, hi), (0.0, 100.0));
        let (lo, hi) = percentile_range(&h, 0.0, 100.0, 99.9);
        // 0.1 % ≈ 9 values: the last bin (2) goes, not the one before (98); nothing at the bottom.
        assert_eq!((lo, hi), (0.0, 99.0));
        assert_eq!(percentile_range(&h, 0.0, 100.0, 100.0), (0.0, 100.0));
        assert!("percentile:40".parse::<Method>().is_err());
        assert_eq!(
            "percentile".parse::<Method>().unwrap(),
            Method::Percentile(99.99)
        );
    }
}
