//! Parity of an exported model with the burn network: the same inputs through burn (eval
//! mode), tract and, where its library is installed, ONNX Runtime.

use betadarts_deploy::{Engine, EngineKind, load_engine};
use betadarts_search::retrain::TrainNet;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use crate::{Error, Result};

/// Allowed max |Δlogit| relative to max(1, max |logit|): unfolded graphs compute the same
/// operations as burn in the same order (float reassociation only); folding BN rewrites the
/// convolution weights, so rounding differs more.
pub const TOL_UNFOLDED: f64 = 1e-4;
pub const TOL_FOLDED: f64 = 1e-3;

#[derive(Debug, Clone, Serialize)]
pub struct EngineParity {
    pub engine: String,
    pub max_abs_diff: f64,
    pub top1_agreement: f64,
    pub tolerance: f64,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    pub images: usize,
    pub max_abs_logit: f64,
    pub engines: Vec<EngineParity>,
    /// Engines that could not be run here (e.g. no ONNX Runtime library), with the reason.
    pub skipped: Vec<(String, String)>,
}

impl ParityReport {
    pub fn ok(&self) -> bool {
        self.engines.iter().all(|e| e.ok)
    }
}

/// burn eval-mode logits of `input` `[N, C, S, S]`.
pub fn burn_logits(net: &TrainNet, input: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let device = Device::flex();
    let net = net.clone().fork(&device).valid();
    let x = Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &device);
    let (y, _) = net.forward(x, 0.0, false);
    y.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

fn argmax_rows(v: &[f32], k: usize) -> Vec<usize> {
    v.chunks(k)
        .map(|r| (0..k).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
        .collect()
}

/// Compares burn with every available engine on `input`.
pub fn check_parity(
    net: &TrainNet,
    onnx: &[u8],
    input: &[f32],
    shape: [usize; 4],
    folded: bool,
) -> Result<ParityReport> {
    let reference = burn_logits(net, input, shape);
    let k = reference.len() / shape[0].max(1);
    let max_abs = reference.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    let tol = if folded { TOL_FOLDED } else { TOL_UNFOLDED } * max_abs.max(1.0);
    let want = argmax_rows(&reference, k);
    let mut engines = Vec::new();
    let mut skipped = Vec::new();
    for kind in EngineKind::ALL {
        if let Err(why) = kind.available() {
            skipped.push((kind.to_string(), why));
            continue;
        }
        let mut engine: Box<dyn Engine> = load_engine(kind, onnx, None)?;
        let (got, gk) = engine.run(input, shape)?;
        if gk != k || got.len() != reference.len() {
            return Err(Error::Parity(format!(
                "{kind}: output has {} values of {gk} classes, burn {} of {k}",
                got.len(),
                reference.len()
            )));
        }
        let diff = got
            .iter()
            .zip(&reference)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() as f64));
        let agree = argmax_rows(&got, k)
            .iter()
            .zip(&want)
            .filter(|(a, b)| a == b)
            .count() as f64
            / want.len().max(1) as f64;
        engines.push(EngineParity {
            engine: kind.to_string(),
            max_abs_diff: diff,
            top1_agreement: agree,
            tolerance: tol,
            ok: diff <= tol,
        });
    }
    Ok(ParityReport {
        images: shape[0],
        max_abs_logit: max_abs,
        engines,
        skipped,
    })
}
