//! The fused ops written with burn's own operations: the fallback for backends without a fused
//! implementation, and the oracle the fused ones are tested against.

use burn::tensor::module::{avg_pool2d, batch_norm_train, conv2d as burn_conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Int, Tensor, TensorData};

use super::{GammaLayout, Geometry, MixSpec, Normalized};

thread_local! {
    static CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static FORCED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every fused op on this thread computed here instead (an independent oracle
/// for whole networks).
pub fn with_reference<T>(f: impl FnOnce() -> T) -> T {
    let before = FORCED.with(|c| c.replace(true));
    let out = f();
    FORCED.with(|c| c.set(before));
    out
}

pub(super) fn forced() -> bool {
    FORCED.with(|c| c.get())
}

/// How many fused calls on this thread fell back to this module (tests check that the fused
/// paths are taken).
pub fn fallback_calls() -> usize {
    CALLS.with(|c| c.get())
}

fn count() {
    CALLS.with(|c| c.set(c.get() + 1));
}

pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, g: Geometry) -> Tensor<4> {
    count();
    debug_assert!(!g.relu_input, "kernels::conv2d applies the ReLU itself");
    burn_conv2d(
        x,
        weight,
        None,
        ConvOptions::new(g.stride, g.padding, g.dilation, 1),
    )
}

/// Depthwise with m filters per channel: the input repeated m times (edge-major), then
/// burn's grouped convolution with one group per filter.
pub fn depthwise(x: Tensor<4>, weight: Tensor<4>, g: Geometry) -> Tensor<4> {
    count();
    let x = if g.relu_input {
        burn::tensor::activation::relu(x)
    } else {
        x
    };
    let [_, c, _, _] = x.dims();
    let m = weight.dims()[0] / c.max(1);
    let x = if m > 1 { Tensor::cat(vec![x; m], 1) } else { x };
    let opts = ConvOptions::new(g.stride, g.padding, g.dilation, m * c);
    burn_conv2d(x, weight, None, opts)
}

pub fn max_pool3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    count();
    let opts = burn::tensor::ops::MaxPoolOptions::new([3, 3])
        .with_stride([stride, stride])
        .with_padding([1, 1]);
    burn::tensor::module::max_pool2d(x, opts)
}

pub fn avg_pool3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    count();
    let mut opts = AvgPoolOptions::new([3, 3])
        .with_stride([stride, stride])
        .with_padding([1, 1]);
    opts.count_include_pad = false;
    avg_pool2d(x, opts)
}

/// γ per channel from a [`GammaLayout`].
pub fn gamma_per_channel(gamma: Tensor<1>, layout: &GammaLayout, channels: usize) -> Tensor<1> {
    match layout {
        GammaLayout::PerChannel => gamma,
        GammaLayout::Blocks(idx) => {
            let per = channels / idx.len().max(1);
            let index: Vec<i64> = (0..channels).map(|c| idx[c / per] as i64).collect();
            let index =
                Tensor::<1, Int>::from_data(TensorData::from(index.as_slice()), &gamma.device());
            gamma.select(0, index)
        }
    }
}

pub fn batch_norm(
    x: Tensor<4>,
    gamma: Option<(Tensor<1>, GammaLayout)>,
    beta: Option<Tensor<1>>,
    epsilon: f64,
) -> Normalized {
    count();
    let [_, c, _, _] = x.dims();
    let device = x.device();
    let gamma = gamma.map_or_else(
        || Tensor::ones([c], &device),
        |(g, l)| gamma_per_channel(g, &l, c),
    );
    let beta = beta.unwrap_or_else(|| Tensor::zeros([c], &device));
    let out = batch_norm_train(x, gamma, beta, epsilon);
    Normalized {
        output: out.output,
        mean: out.mean,
        invstd: (out.variance + epsilon).powf_scalar(-0.5),
    }
}

pub fn mix(terms: Vec<Tensor<4>>, weights: Tensor<1>, spec: &MixSpec) -> Tensor<4> {
    count();
    let c = spec.channels;
    terms
        .into_iter()
        .zip(spec.offsets.iter().zip(&spec.weights))
        .map(|(t, (&off, w))| {
            let [n, total, h, wd] = t.dims();
            let block = if off == 0 && total == c {
                t
            } else {
                t.slice([0..n, off..off + c, 0..h, 0..wd])
            };
            match w {
                Some(i) => block * weights.clone().slice(*i..*i + 1).reshape([1, 1, 1, 1]),
                None => block,
            }
        })
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| unreachable!("mix has at least one term"))
}
