//! `betadarts bench depthwise`: one depthwise conv's forward and both gradients in each
//! implementation, on the chosen device — the measurement behind which one the ops use.

use std::time::Instant;

use anyhow::Result;
use betadarts_search::device::parse_device;
use betadarts_search::kernels::{self, Geometry};
use betadarts_search::nn::depthwise_conv2d;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};
use serde_json::json;

use super::args::DepthwiseBench;

pub fn depthwise(b: DepthwiseBench) -> Result<()> {
    let device = parse_device(&b.device)?.autodiff();
    let c = b.channels;
    let mut rows = Vec::new();
    for &k in &b.kernel {
        for &d in &b.dilation {
            let p = d * (k - 1) / 2;
            let g = Geometry {
                kernel: [k, k],
                stride: [1, 1],
                padding: [p, p],
                dilation: [d, d],
                groups: c,
                relu_input: false,
            };
            let x = Tensor::<4>::random(
                [b.batch_size, c, b.image_size, b.image_size],
                Distribution::Normal(0.0, 1.0),
                &device,
            )
            .require_grad();
            let w = Tensor::<4>::random([c, 1, k, k], Distribution::Normal(0.0, 0.3), &device)
                .require_grad();
            let impls: [(&str, &dyn Fn() -> Tensor<4>); 3] = [
                ("fused", &|| kernels::depthwise(x.clone(), w.clone(), g)),
                ("burn grouped conv", &|| {
                    conv2d(
                        x.clone(),
                        w.clone(),
                        None,
                        ConvOptions::new([1, 1], [p, p], [d, d], c),
                    )
                }),
                ("shifted products", &|| {
                    depthwise_conv2d(x.clone(), w.clone(), [1, 1], [p, p], [d, d])
                }),
            ];
            for (name, f) in impls {
                let mut times = Vec::new();
                for i in 0..=b.repeats {
                    let t0 = Instant::now();
                    let grads = f().sum().backward();
                    let dx = x.grad(&grads).map(|t| t.sum());
                    let dw = w.grad(&grads).map(|t| t.sum());
                    let _ = Tensor::cat(dx.into_iter().chain(dw).collect(), 0).into_data(); // sync
                    if i > 0 {
                        times.push(t0.elapsed().as_secs_f64());
                    }
                }
                times.sort_by(f64::total_cmp);
                let median = times[times.len() / 2];
                rows.push(json!({"kernel": k, "dilation": d, "impl": name, "median_s": median}));
            }
        }
    }
    if b.json {
        println!(
            "{}",
            json!({"device": b.device, "batch_size": b.batch_size, "channels": c, "image_size": b.image_size, "results": rows})
        );
    } else {
        println!(
            "depthwise conv forward + dx + dW, x [{}, {c}, {s}, {s}], device {}",
            b.batch_size,
            b.device,
            s = b.image_size
        );
        for r in &rows {
            println!(
                "  k{} d{}  {:<18} {:>9.2} ms",
                r["kernel"],
                r["dilation"],
                r["impl"].as_str().unwrap_or(""),
                r["median_s"].as_f64().unwrap_or(f64::NAN) * 1e3
            );
        }
    }
    Ok(())
}
