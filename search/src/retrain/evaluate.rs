//! Test-split evaluation in eval mode (BN running statistics, no drop-path).

use burn::module::Module;
use burn::tensor::Device;

use super::TrainNet;
use super::trainer::workers;
use crate::Result;
use crate::data::folder::{Prefetcher, Transform};
use crate::data::{Batch, Source, make_batch_cutout, upload};
use crate::loss::cross_entropy;
use crate::rng::Rng;

/// Mean loss and accuracy (%) over the test split, in eval mode.
pub fn evaluate(
    net: &TrainNet,
    data: &Source,
    batch_size: usize,
    device: &Device,
) -> Result<(f64, f64)> {
    let plain = device.clone().without_autodiff();
    let net = net.valid();
    let (mut loss, mut correct, mut n) = (0.0, 0usize, 0usize);
    let idx: Vec<usize> = (0..data.test_len()).collect();
    let mut score = |b: Batch| {
        let (logits, _) = net.forward(b.images, 0.0, false);
        loss += cross_entropy(logits.clone(), b.targets.clone()).into_scalar::<f32>() as f64
            * b.len as f64;
        correct += crate::loss::correct(logits, b.targets);
        n += b.len;
    };
    match data {
        Source::Memory(ds) => {
            let mut rng = Rng::new(0);
            for chunk in idx.chunks(batch_size.max(1)) {
                score(make_batch_cutout(
                    &ds.test, chunk, None, None, &mut rng, &ds.mean, &ds.std, &plain,
                ));
            }
        }
        Source::Folder { val, size, .. } => {
            let batches = idx
                .chunks(batch_size.max(1))
                .map(<[usize]>::to_vec)
                .collect();
            let t = Transform::Eval {
                resize: size * 256 / 224,
                size: *size,
            };
            for hb in Prefetcher::start(val.clone(), batches, t, 0, workers()) {
                score(upload(hb?, 3, &plain));
            }
        }
    }
    Ok((
        loss / n.max(1) as f64,
        100.0 * correct as f64 / n.max(1) as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrain::trainer::load_data;
    use crate::retrain::{TrainConfig, TrainNetwork};

    #[test]
    fn eval_mode_uses_running_statistics() {
        // After training steps, evaluation on the plain device runs and gives finite numbers.
        let mut cfg = TrainConfig::recipe(TrainNetwork::Nb201);
        cfg.arch = Some("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|".into());
        cfg.dataset = crate::data::DatasetName::FashionMnistMini;
        cfg.channels = 4;
        cfg.layers = 1;
        cfg.image_size = Some(8);
        let data = load_data(&cfg).unwrap();
        let device = Device::flex().autodiff();
        let net = TrainNet::new(&cfg, 1, 10, &device).unwrap();
        let (loss, acc) = evaluate(&net, &data, 100, &device).unwrap();
        assert!(loss.is_finite() && (0.0..=100.0).contains(&acc));
    }
}
