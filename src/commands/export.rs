//! `betadarts export`: a checkpoint (or an untrained network) → ONNX, with metadata and an
//! optional parity check against burn in tract and ONNX Runtime.

use std::path::Path;

use anyhow::{Context, Result, bail};
use betadarts_deploy::{ModelMeta, preprocess};
use betadarts_export::{ExportOptions, ParityReport, check_parity, export_network};
use betadarts_search::darts::Genotype;
use betadarts_search::nn::count_madds;
use betadarts_search::retrain::{TrainConfig, TrainNet, TrainNetwork, load_trained};
use burn::tensor::{Device, Distribution, Tensor};
use prost::Message;

use crate::cli::ExportArgs;

fn madds_of(net: &TrainNet, c: usize, s: usize) -> u64 {
    let device = Device::flex();
    count_madds(|| {
        let _ = net.forward(Tensor::zeros([1, c, s, s], &device), 0.0, false);
    })
}

/// The network and its metadata, from a checkpoint or built untrained.
fn source(a: &ExportArgs) -> Result<(TrainNet, ModelMeta)> {
    let device = Device::flex();
    if a.random_init {
        device.seed(a.seed);
        let network: TrainNetwork = match (&a.network, &a.arch) {
            (Some(n), _) => n.parse()?,
            (None, Some(_)) => TrainNetwork::Nb201,
            (None, None) => TrainNetwork::Cifar,
        };
        let mut cfg = TrainConfig::recipe(network);
        if let Some(p) = &a.genotype {
            cfg.genotype = Some(Genotype::load(p)?);
        }
        cfg.arch = a.arch.clone();
        cfg.channels = a.channels.unwrap_or(cfg.channels);
        cfg.layers = a.layers.unwrap_or(cfg.layers);
        cfg.auxiliary = false;
        cfg.image_size = a.image_size;
        cfg.validate()?;
        betadarts_search::bounds::size("--classes", a.classes, 1, 1 << 20, "")?;
        let size = a
            .image_size
            .unwrap_or(if network == TrainNetwork::Imagenet {
                224
            } else {
                32
            });
        let net = TrainNet::new(&cfg, 3, a.classes, &device)?;
        let madds = madds_of(&net, 3, size);
        let meta = ModelMeta {
            network: format!("{network:?}").to_lowercase(),
            dataset: "untrained".into(),
            class_names: (0..a.classes).map(|i| format!("class_{i}")).collect(),
            input_size: size,
            input_channels: 3,
            mean: vec![0.5; 3],
            std: vec![0.25; 3],
            genotype: cfg.genotype.as_ref().map(Genotype::to_json),
            arch: cfg.arch.clone(),
            accuracy: None,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            madds: Some(madds),
            preprocess: if network == TrainNetwork::Imagenet {
                "center-crop"
            } else {
                "resize"
            }
            .into(),
        };
        return Ok((net, meta));
    }
    let path = a.checkpoint.as_deref().unwrap_or(Path::new("."));
    let loaded =
        load_trained(path, &device).with_context(|| format!("loading {}", path.display()))?;
    let h = loaded.header;
    // The auxiliary head stays for the PyTorch state dict; ONNX drops it.
    let net = loaded.net;
    let madds = madds_of(&net, h.in_channels, h.image_size);
    let meta = ModelMeta {
        network: format!("{:?}", h.config.network).to_lowercase(),
        dataset: h.config.dataset.to_string(),
        class_names: h.class_names.clone(),
        input_size: h.image_size,
        input_channels: h.in_channels,
        mean: h.mean.clone(),
        std: h.std.clone(),
        genotype: h.config.genotype.as_ref().map(Genotype::to_json),
        arch: h.config.arch.clone(),
        accuracy: Some(serde_json::json!({"best_test_acc": h.best_acc, "test_acc": h.test_acc, "epochs": h.epochs_done}).to_string()),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        madds: Some(madds),
        preprocess: if h.config.dataset == betadarts_search::data::DatasetName::Imagefolder { "center-crop" } else { "resize" }.into(),
    };
    Ok((net, meta))
}

fn print_report(what: &str, r: &ParityReport) {
    for e in &r.engines {
        println!(
            "  {what}: {:<5} max |Δlogit| {:.3e} (tolerance {:.1e}), top-1 agreement {:.0}% over {} images {}",
            e.engine,
            e.max_abs_diff,
            e.tolerance,
            100.0 * e.top1_agreement,
            r.images,
            if e.ok { "ok" } else { "FAILED" }
        );
    }
    for (engine, why) in &r.skipped {
        println!("  {what}: {engine} skipped: {why}");
    }
}

/// Refuses to replace `path` unless it is absent, an ONNX model or safetensors file of ours, or
/// `force` is set: a slip of `-o` must not destroy a checkpoint or someone else's model.
fn check_output(path: &Path, force: bool) -> Result<()> {
    if force || !path.exists() {
        return Ok(());
    }
    let refuse = |why: String| Err(betadarts_search::Error::Invalid(why).into());
    if !path.is_file() {
        return refuse(format!(
            "-o {}: exists and is not a regular file",
            path.display()
        ));
    }
    // The first 4 KB say it: the producer is field 2 of the ModelProto, written before the
    // graph; a multi-gigabyte file is not read whole to refuse it.
    // A safetensors file of ours carries `betadarts.version` in its header's metadata.
    let ours = super::head_of(path).is_some_and(|h| {
        producer(&h) == Some(&b"betadarts"[..])
            || (h.len() > 8 && String::from_utf8_lossy(&h[8..]).contains("\"betadarts.version\""))
    });
    if !ours {
        return refuse(format!(
            "-o {}: the file exists and is not a model written by betadarts; refusing to \
             replace it (pass --force to replace it anyway)",
            path.display()
        ));
    }
    Ok(())
}

/// The `producer_name` of an ONNX ModelProto from the start of its bytes: fields before it are
/// skipped by their wire type; None once the graph or anything unexpected comes first.
fn producer(b: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    let varint = |at: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    };
    for _ in 0..8 {
        let key = varint(&mut at)?;
        match (key >> 3, key & 7) {
            (_, 0) => {
                varint(&mut at)?;
            }
            (field, 2) if field <= 3 => {
                let len = usize::try_from(varint(&mut at)?).ok()?;
                let value = b.get(at..at.checked_add(len)?)?;
                if field == 2 {
                    return Some(value);
                }
                at += len;
            }
            _ => return None,
        }
    }
    None
}

/// `--format`, else the output's extension.
fn safetensors_format(a: &ExportArgs) -> bool {
    match a.format.as_deref() {
        Some(f) => f == "safetensors",
        None => a.output.extension().is_some_and(|e| e == "safetensors"),
    }
}

/// The weights as a PyTorch state dict under the reference networks' names.
fn export_safetensors(a: &ExportArgs, net: &TrainNet, meta: &ModelMeta) -> Result<()> {
    if a.check || a.samples.is_some() || a.no_fold || a.int8 {
        let why = "--check, --samples, --no-fold and --int8 apply to ONNX exports; a safetensors \
                   file is checked by loading it in PyTorch (python/betadarts_torch.py)";
        return Err(betadarts_search::Error::Invalid(why.into()).into());
    }
    let bytes = betadarts_export::to_safetensors(net, meta)?;
    betadarts_search::run_dir::write_atomic(&a.output, &bytes)?;
    let reference = match net {
        TrainNet::Nb201(_) => "NAS-Bench-201 TinyNetwork",
        TrainNet::Darts(_) if meta.network == "imagenet" => "DARTS NetworkImageNet",
        TrainNet::Darts(_) => "DARTS NetworkCIFAR",
    };
    let what = format!("as a PyTorch state dict ({reference} names)");
    println!("{}", written(&a.output, meta, &what, bytes.len()));
    Ok(())
}

/// The line that says what was written.
fn written(path: &Path, meta: &ModelMeta, what: &str, bytes: usize) -> String {
    let s = meta.input_size;
    format!(
        "{}: {} network {what}, {} classes, input [N, {}, {s}, {s}], {bytes} bytes",
        path.display(),
        meta.network,
        meta.class_names.len(),
        meta.input_channels,
    )
}

pub fn export(a: ExportArgs) -> Result<()> {
    check_output(&a.output, a.force)?;
    let (net, meta) = source(&a)?;
    if safetensors_format(&a) {
        return export_safetensors(&a, &net, &meta);
    }
    let net = net.without_aux();
    let fold = !a.no_fold;
    let model = export_network(&net, &meta, ExportOptions { fold });
    if let Some(data) = a.calibrate.as_deref().filter(|_| a.int8) {
        if a.check || a.samples.is_some() || !fold {
            let why = "--int8 takes neither --check/--samples (compare with the float model by \
                       `deploy eval INT8.onnx --baseline FLOAT.onnx`) nor --no-fold";
            return Err(betadarts_search::Error::Invalid(why.into()).into());
        }
        let q = super::int8::quantized(&model, &meta, data, &a.calibration, a.calibration_images)?;
        let bytes = q.encode_to_vec();
        betadarts_search::run_dir::write_atomic(&a.output, &bytes)?;
        let what = "as INT8 ONNX (QDQ)";
        println!("{}", written(&a.output, &meta, what, bytes.len()));
        return Ok(());
    }
    let bytes = model.encode_to_vec();
    betadarts_search::run_dir::write_atomic(&a.output, &bytes)?;
    let what = if fold {
        "as ONNX, BN folded"
    } else {
        "as ONNX"
    };
    println!("{}", written(&a.output, &meta, what, bytes.len()));
    if !a.check {
        return Ok(());
    }
    let (c, s) = (meta.input_channels, meta.input_size);
    let device = Device::flex();
    device.seed(0);
    let random: Vec<f32> =
        Tensor::<4>::random([4, c, s, s], Distribution::Normal(0.0, 1.0), &device)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
    let mut ok = true;
    let r = check_parity(&net, &bytes, &random, [4, c, s, s], fold)?;
    print_report("random", &r);
    ok &= r.ok();
    if let Some(dir) = &a.samples {
        let mut input = Vec::new();
        let mut n = 0;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files.iter().filter(|p| {
            p.extension()
                .is_some_and(|e| e == "png" || e == "jpg" || e == "jpeg")
        }) {
            let bytes = betadarts_data::files::read_file(f, betadarts_data::files::IMAGE_LIMIT)?;
            let img = preprocess::decode(&bytes).with_context(|| f.display().to_string())?;
            input.extend(preprocess::to_input(&img, &meta));
            n += 1;
        }
        if n == 0 {
            bail!("{}: no PNG/JPEG images", dir.display());
        }
        let r = check_parity(&net, &bytes, &input, [n, c, s, s], fold)?;
        print_report("samples", &r);
        ok &= r.ok();
    }
    if !ok {
        bail!(
            "parity check failed: the exported model differs from the burn network beyond tolerance"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::producer;
    use betadarts_export::ModelProto;
    use prost::Message;

    #[test]
    fn the_producer_is_read_from_the_start_of_a_model() {
        let m = ModelProto {
            ir_version: 8,
            producer_name: "betadarts".into(),
            producer_version: "0.1.0".into(),
            ..Default::default()
        };
        let bytes = m.encode_to_vec();
        assert_eq!(producer(&bytes), Some(&b"betadarts"[..]));
        let other = ModelProto {
            producer_name: "pytorch".into(),
            ..m
        };
        assert_eq!(producer(&other.encode_to_vec()), Some(&b"pytorch"[..]));
        // Cut short, or not a protobuf at all: no producer, no panic.
        assert_eq!(producer(&bytes[..5]), None);
        assert_eq!(
            producer(b"BDCKPT02\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            None
        );
        assert_eq!(producer(&[0xff; 20]), None);
    }
}
