//! [`Fused`] on burn's libtorch backend: ATen's own kernels (native batch norm, avg-pool and
//! its backward) and a few views, so that each fused op costs a handful of launches on a GPU
//! instead of burn's decomposition.
// burn marks burn-tch deprecated in favour of CubeCL backends; it is still the libtorch path.
#![allow(deprecated)]

use burn::backend::LibTorch;
use burn::backend::libtorch::TchTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::ops::ConvOptions;
use tch::{Kind, Tensor as T};

use super::{Fused, FusedGrad, GammaLayout, Geometry, MixSpec};

fn options(g: &Geometry) -> ConvOptions<2> {
    ConvOptions::new(g.stride, g.padding, g.dilation, g.groups)
}

fn new(t: T) -> TchTensor {
    TchTensor::new(t)
}

/// γ per channel: as given, or the flat weights' entries expanded over their channel blocks
/// (views and one `cat`, no host upload).
fn per_channel(g: &T, layout: &GammaLayout, c: i64) -> T {
    match layout {
        GammaLayout::PerChannel => g.shallow_clone(),
        GammaLayout::Blocks(idx) => {
            let per = c / idx.len().max(1) as i64;
            let parts: Vec<T> = idx
                .iter()
                .map(|&i| g.narrow(0, i as i64, 1).expand([per], false))
                .collect();
            T::cat(&parts, 0)
        }
    }
}

fn block(t: &T, offset: usize, c: usize) -> T {
    if offset == 0 && t.size()[1] == c as i64 {
        t.shallow_clone()
    } else {
        t.narrow(1, offset as i64, c as i64)
    }
}

/// The input tiled m times along channels (edge-major), as the depthwise layout reads it.
fn tiled(x: &T, weight: &T) -> (T, i64) {
    let co = weight.size()[0];
    let m = co / x.size()[1].max(1);
    let xr = if m > 1 {
        x.repeat([1, m, 1, 1])
    } else {
        x.shallow_clone()
    };
    (xr, co)
}

fn depthwise_conv(x: &T, weight: &T, g: &Geometry) -> T {
    let relu;
    let x = if g.relu_input {
        relu = x.relu();
        &relu
    } else {
        x
    };
    let (xr, co) = tiled(x, weight);
    let i = |v: [usize; 2]| [v[0] as i64, v[1] as i64];
    xr.conv2d(
        weight,
        None::<&T>,
        i(g.stride),
        i(g.padding),
        i(g.dilation),
        co,
    )
}

impl Fused for LibTorch {
    // ATen's depthwise kernels (cuDNN on a GPU) on the input tiled per filter.
    fn fused_depthwise(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        g: Geometry,
    ) -> FloatTensor<Self> {
        new(depthwise_conv(&x.tensor, &weight.tensor, &g))
    }

    // cuDNN / oneDNN convolutions through burn-tch, with our graph node on top.
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        g: Geometry,
    ) -> FloatTensor<Self> {
        LibTorch::conv2d(x, weight, None, options(&g))
    }

    fn fused_max_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let s = stride as i64;
        new(x.tensor.max_pool2d([3, 3], [s, s], [1, 1], [1, 1], false))
    }

    fn fused_avg_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let s = stride as i64;
        new(x
            .tensor
            .avg_pool2d([3, 3], [s, s], [1, 1], false, false, None::<i64>))
    }

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        beta: Option<FloatTensor<Self>>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let c = x.tensor.size()[1];
        let g = gamma.map(|(g, l)| per_channel(&g.tensor, &l, c));
        let b = beta.map(|b| b.tensor);
        let (y, mean, invstd) = x.tensor.native_batch_norm(
            g.as_ref(),
            b.as_ref(),
            None::<&T>,
            None::<&T>,
            true,
            0.1,
            epsilon,
        );
        (new(y), new(mean), new(invstd))
    }

    fn fused_mix(
        terms: Vec<FloatTensor<Self>>,
        weights: FloatTensor<Self>,
        spec: MixSpec,
    ) -> FloatTensor<Self> {
        let w = &weights.tensor;
        let mut y: Option<T> = None;
        for (m, t) in terms.iter().enumerate() {
            let b = block(&t.tensor, spec.offsets[m], spec.channels);
            y = Some(match (y, spec.weights[m]) {
                (None, Some(i)) => b * w.narrow(0, i as i64, 1),
                (None, None) => b.copy(),
                (Some(acc), Some(i)) => acc.addcmul(&b, &w.narrow(0, i as i64, 1)),
                (Some(acc), None) => acc + b,
            });
        }
        new(y.unwrap_or_else(|| unreachable!("mix has at least one term")))
    }
}

impl FusedGrad for LibTorch {
    // ATen's own depthwise backward kernels, reached through libtorch's autograd on a local
    // graph (tch binds no convolution_backward): d/d(x, W) of Σ conv(x, W)·grad.
    fn fused_depthwise_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        g: Geometry,
        need_x: bool,
        need_weight: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        let xd = x.tensor.detach().set_requires_grad(need_x);
        let wd = weight.tensor.detach().set_requires_grad(need_weight);
        let loss = (depthwise_conv(&xd, &wd, &g) * &grad.tensor).sum(Kind::Float);
        let inputs: Vec<&T> = [(need_x, &xd), (need_weight, &wd)]
            .into_iter()
            .filter_map(|(n, t)| n.then_some(t))
            .collect();
        if inputs.is_empty() {
            return (None, None);
        }
        let mut grads = T::run_backward(&[loss], &inputs, false, false).into_iter();
        let dx = need_x.then(|| grads.next()).flatten().map(new);
        let dw = need_weight.then(|| grads.next()).flatten().map(new);
        (dx, dw)
    }

    fn fused_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        g: Geometry,
        need_x: bool,
        need_weight: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        let dw = need_weight.then(|| {
            LibTorch::conv2d_weight_backward(x.clone(), weight.clone(), grad.clone(), options(&g))
        });
        let dx = need_x.then(|| LibTorch::conv2d_x_backward(x, weight, grad, options(&g)));
        (dx, dw)
    }

    // ATen's max-pool backward through a local autograd graph, as for the depthwise conv.
    fn fused_max_pool3_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        let s = stride as i64;
        let xd = x.tensor.detach().set_requires_grad(true);
        let y = xd.max_pool2d([3, 3], [s, s], [1, 1], [1, 1], false);
        let loss = (y * &grad.tensor).sum(Kind::Float);
        let mut grads = T::run_backward(&[loss], &[&xd], false, false).into_iter();
        new(grads
            .next()
            .unwrap_or_else(|| unreachable!("one input, one gradient")))
    }

    fn fused_avg_pool3_backward(
        grad: FloatTensor<Self>,
        hw: [usize; 2],
        stride: usize,
    ) -> FloatTensor<Self> {
        let g = &grad.tensor;
        let size = g.size();
        let shape = [size[0], size[1], hw[0] as i64, hw[1] as i64];
        // ATen's backward reads only the input's shape.
        let x = T::empty(shape, (g.kind(), g.device()));
        let s = stride as i64;
        new(x.avg_pool2d_backward(g, [3, 3], [s, s], [1, 1], false, false, None::<i64>))
    }

    fn fused_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        mean: FloatTensor<Self>,
        invstd: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
    ) {
        let (xt, gt) = (&x.tensor, &grad.tensor);
        let c = xt.size()[1];
        let count = (xt.numel() as i64 / c) as f64;
        let dims: &[i64] = &[0, 2, 3];
        let view = [1, c, 1, 1];
        let (mu, is) = (&mean.tensor, &invstd.tensor);
        let sg = gt.sum_dim_intlist(dims, false, Kind::Float);
        // Σ g·(x − μ) = Σ g·x − μ·Σ g
        let sgxc = (gt * xt).sum_dim_intlist(dims, false, Kind::Float) - mu * &sg;
        let gamma_c = gamma.as_ref().map(|(g, l)| per_channel(&g.tensor, l, c));
        let a = match &gamma_c {
            Some(gc) => is * gc,
            None => is.shallow_clone(),
        };
        // dx = a·g + k·x + b (see the CPU kernel).
        let k = -(&a * is * is * &sgxc) / count;
        let b = -(&a * &sg) / count - &k * mu;
        let dx = gt * a.view(view) + xt * k.view(view) + b.view(view);
        let dgamma_c = &sgxc * is;
        let dgamma = gamma.map(|(g, layout)| match layout {
            GammaLayout::PerChannel => new(dgamma_c.shallow_clone()),
            GammaLayout::Blocks(idx) => {
                let per_block = dgamma_c.view([idx.len() as i64, -1]).sum_dim_intlist(
                    [1i64].as_slice(),
                    false,
                    Kind::Float,
                );
                let out = g.tensor.zeros_like();
                for (b, &i) in idx.iter().enumerate() {
                    let mut slot = out.narrow(0, i as i64, 1);
                    let _ = slot.g_add_(&per_block.narrow(0, b as i64, 1));
                }
                new(out)
            }
        });
        (new(dx), dgamma, new(sg))
    }

    fn fused_mix_backward(
        terms: &[FloatTensor<Self>],
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: &MixSpec,
        needs: &[bool],
        need_weights: bool,
    ) -> (Vec<Option<FloatTensor<Self>>>, Option<FloatTensor<Self>>) {
        let (g, w, c) = (&grad.tensor, &weights.tensor, spec.channels);
        let dterms = terms
            .iter()
            .enumerate()
            .map(|(m, t)| {
                needs[m].then(|| {
                    let scaled = match spec.weights[m] {
                        Some(i) => g * w.narrow(0, i as i64, 1),
                        None => g.shallow_clone(),
                    };
                    if spec.offsets[m] == 0 && t.tensor.size()[1] == c as i64 {
                        new(scaled)
                    } else {
                        let full = t.tensor.zeros_like();
                        let mut slot = full.narrow(1, spec.offsets[m] as i64, c as i64);
                        slot.copy_(&scaled);
                        new(full)
                    }
                })
            })
            .collect();
        let dweights = need_weights.then(|| {
            let out = w.zeros_like();
            for (m, t) in terms.iter().enumerate() {
                if let Some(i) = spec.weights[m] {
                    let dot = (g * block(&t.tensor, spec.offsets[m], c)).sum(Kind::Float);
                    let mut slot = out.narrow(0, i as i64, 1);
                    let _ = slot.g_add_(&dot.reshape([1]));
                }
            }
            new(out)
        });
        (dterms, dweights)
    }
}
