//! `export --int8`: the float model calibrated on the user's images, then rewritten in the QDQ
//! format (see `betadarts_export::quantize`).

use std::path::Path;

use anyhow::{Context, Result};
use betadarts_deploy::{ModelMeta, eval};
use betadarts_export::ModelProto;
use betadarts_export::calibrate::{Method, calibrate};
use betadarts_export::quantize::quantize;

/// Indices of at most `n` of `len` images, spread evenly (class folders are sorted by class).
fn spread(len: usize, n: usize) -> Vec<usize> {
    let n = n.min(len);
    (0..n).map(|i| i * len / n.max(1)).collect()
}

/// The QDQ model of `float`, calibrated on up to `images` images of `data`.
pub fn quantized(
    float: &ModelProto,
    meta: &ModelMeta,
    data: &Path,
    method: &str,
    images: usize,
) -> Result<ModelProto> {
    let method: Method = method
        .parse()
        .map_err(|e: betadarts_export::Error| betadarts_search::Error::Invalid(e.to_string()))?;
    betadarts_search::bounds::size("--calibration-images", images, 1, 1 << 20, "")?;
    let set = eval::open(data, meta).with_context(|| format!("--calibrate {}", data.display()))?;
    let inputs = eval::Inputs::new(meta, &set)?;
    let picked = spread(set.len(), images);
    if picked.is_empty() {
        anyhow::bail!("--calibrate {}: no images", data.display());
    }
    let batch: Vec<Vec<f32>> = picked
        .iter()
        .map(|&i| inputs.batch(i, i + 1).map(|(x, _)| x))
        .collect::<Result<_, _>>()?;
    let (c, s) = (meta.input_channels, meta.input_size);
    // Hidden when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "calibrate [{bar:30}] {pos}/{len} ({elapsed}<{eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let ranges = calibrate(
        float,
        "image",
        &batch,
        [1, c, s, s],
        method,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    let info = serde_json::json!({
        "format": "QDQ",
        "weights": "int8, per output channel, symmetric",
        "activations": "uint8, per tensor, asymmetric",
        "calibration": {"method": method.to_string(), "images": batch.len(), "data": data.display().to_string()},
        "float_ops": ["Gemm"],
    });
    eprintln!(
        "calibrated {} activation tensors on {} images ({method})",
        ranges.len(),
        batch.len()
    );
    Ok(quantize(float, &ranges, &info.to_string())?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn calibration_images_are_spread_over_the_data() {
        assert_eq!(super::spread(10, 4), [0, 2, 5, 7]);
        assert_eq!(super::spread(3, 8), [0, 1, 2]);
    }
}
