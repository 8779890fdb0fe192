//! `betadarts bench dump`: an NB201 supernet's initial weights under the per-edge names of the
//! PyTorch reference (`benches/reference/nb201_search.py`), α, one batch, and what one search
//! step computes here, so that the reference can load the same network and check that both
//! sides compute the same thing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use betadarts_search::bilevel::{SearchConfig, Searcher};
use betadarts_search::nb201::{Nb201Supernet, Op, ResBlock, edge_index};
use betadarts_search::nn::BatchNorm2d;
use betadarts_search::space::{Supernet, SupernetShape};
use burn::tensor::{Device, Tensor};
use safetensors::{Dtype, tensor::TensorView};
use serde_json::json;

use super::args::DumpBench;
use super::step::synthetic_batch;

/// Named little-endian tensors for a safetensors file.
#[derive(Default)]
struct Named(BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>);

impl Named {
    fn f32<const D: usize>(&mut self, name: &str, t: Tensor<D>) {
        let shape = t.dims().to_vec();
        let v: Vec<f32> = t
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .unwrap_or_default();
        let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.0.insert(name.to_string(), (Dtype::F32, shape, bytes));
    }

    fn bn(&mut self, prefix: &str, bn: &BatchNorm2d) {
        if let (Some(g), Some(b)) = (&bn.gamma, &bn.beta) {
            self.f32(&format!("{prefix}.weight"), g.val());
            self.f32(&format!("{prefix}.bias"), b.val());
        }
    }

    fn res_block(&mut self, prefix: &str, r: &ResBlock) {
        self.f32(
            &format!("{prefix}.conv_a.conv.weight"),
            r.conv_a.conv.weight.val(),
        );
        self.bn(&format!("{prefix}.conv_a.bn"), &r.conv_a.bn);
        self.f32(
            &format!("{prefix}.conv_b.conv.weight"),
            r.conv_b.conv.weight.val(),
        );
        self.bn(&format!("{prefix}.conv_b.bn"), &r.conv_b.bn);
        self.f32(
            &format!("{prefix}.shortcut.weight"),
            r.shortcut.weight.val(),
        );
    }

    fn save(&self, path: &Path) -> Result<()> {
        let views = self
            .0
            .iter()
            .map(|(k, (d, s, b))| Ok((k.clone(), TensorView::new(*d, s.clone(), b)?)))
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
        safetensors::serialize_to_file(views, None, path)
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The supernet's weights under the reference's per-edge module names.
fn per_edge_names(net: &Nb201Supernet, out: &mut Named) {
    out.f32("stem_conv.weight", net.stem_conv.weight.val());
    out.bn("stem_bn", &net.stem_bn);
    for (i, cell) in net.cells.iter().enumerate() {
        for to in 1..=3 {
            for from in 0..to {
                let e = edge_index(to, from);
                for (op, name) in [(Op::Conv1x1, "conv1x1"), (Op::Conv3x3, "conv3x3")] {
                    let key = format!("cells.{i}.edges.{e}.{name}.conv.weight");
                    out.f32(&key, cell.kernel(to, from, op));
                }
            }
        }
    }
    for (r, block) in net.reductions.iter().enumerate() {
        out.res_block(&format!("reductions.{r}"), block);
    }
    out.bn("head_bn", &net.head_bn);
    // burn keeps Linear weights as [in, out]; PyTorch as [out, in].
    out.f32("classifier.weight", net.classifier.weight.val().transpose());
    if let Some(b) = &net.classifier.bias {
        out.f32("classifier.bias", b.val());
    }
}

pub fn dump(b: DumpBench) -> Result<()> {
    if b.out.join("expected.json").exists() {
        bail!(
            "{} already holds a dump; choose another --out",
            b.out.display()
        );
    }
    std::fs::create_dir_all(&b.out).with_context(|| format!("creating {}", b.out.display()))?;
    let config = SearchConfig {
        channels: b.channels,
        cells: b.cells,
        batch_size: b.batch_size,
        seed: b.seed,
        ..SearchConfig::default()
    };
    let shape = SupernetShape {
        in_channels: 3,
        channels: b.channels,
        cells: b.cells,
        classes: 10,
    };
    let mut s = Searcher::new(config, shape, &Device::flex());
    let Supernet::Nb201(net) = &s.net else {
        unreachable!("the default space is NB201")
    };
    let mut weights = Named::default();
    per_edge_names(net, &mut weights);
    let alphas = s.arch.tensors().remove(0);
    weights.f32("alphas", alphas);
    weights.save(&b.out.join("weights.safetensors"))?;

    let batch = synthetic_batch(b.batch_size, b.image_size, 10, &s.device);
    let mut data = Named::default();
    data.f32("images", batch.images.clone());
    let labels: Vec<i64> = batch
        .targets
        .clone()
        .into_data()
        .convert::<i64>()
        .try_to_vec()
        .unwrap_or_default();
    let bytes = labels.iter().flat_map(|x| x.to_le_bytes()).collect();
    data.0
        .insert("labels".into(), (Dtype::I64, vec![labels.len()], bytes));
    data.save(&b.out.join("batch.safetensors"))?;

    let report = s.step(&batch, &batch, b.lambda, 1.0, 0.025, None);
    let after = s.arch.to_host().remove(0);
    let expected = json!({
        "channels": b.channels, "cells": b.cells, "classes": 10, "in_channels": 3,
        "lambda": b.lambda,
        "expected": {
            "arch_ce": report.arch.loss, "arch_reg": report.arch.reg,
            "alpha_grad": report.alpha_grad.first(), "alphas_after": after,
            "weight_ce": report.weights.loss, "grad_norm": report.weights.grad_norm,
        },
    });
    let path = b.out.join("expected.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&expected)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", b.out.display());
    Ok(())
}
