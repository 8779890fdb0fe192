//! Depthwise convolution (groups = channels): which implementation a conv runs, and the
//! shifted-product form of earlier versions, kept for `bench depthwise`.
//!
//! burn computes the weight gradient of a grouped convolution with one convolution per group
//! whose "kernel" is a whole feature map (burn-backend's `conv2d_weight_grad_groups`); the DARTS
//! ops have groups = C (up to 144), and on libtorch/CUDA those per-group convolutions took a
//! DARTS V2 training step to 8 s at full GPU load. The shifted-product form (k² shifted copies
//! of the input, each scaled per channel) makes every gradient an elementwise product and a
//! reduction, at ~20 operations forward and ~100 backward per conv. Both are now replaced by
//! the fused kernel ([`crate::kernels::depthwise`]): one operation each way on every backend.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Slice, Tensor};

use crate::kernels::{self, Geometry};

/// Whether `conv` is depthwise (every group one input and one output channel).
pub fn is_depthwise(conv: &Conv2d) -> bool {
    let [c_out, c_in_per_group, _, _] = conv.weight.dims();
    conv.groups > 1 && c_in_per_group == 1 && c_out == conv.groups && conv.bias.is_none()
}

/// `conv.forward(x)` (or `conv.forward(relu(x))` with `relu_input`, the ReLU fused) for a
/// depthwise, bias-free `conv` with symmetric explicit padding, on the fused kernel (any other
/// depthwise conv runs burn's).
pub fn depthwise_forward(conv: &Conv2d, x: Tensor<4>, relu_input: bool) -> Tensor<4> {
    let burns = |x: Tensor<4>| conv.forward(if relu_input { relu(x) } else { x });
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(t, l, b, r) if t == b && l == r => [t, l],
        PaddingConfig2d::Valid => [0, 0],
        _ => return burns(x),
    };
    let [_, _, kh, kw] = conv.weight.dims();
    let g = Geometry {
        kernel: [kh, kw],
        stride: conv.stride,
        padding,
        dilation: conv.dilation,
        groups: conv.groups,
        relu_input,
    };
    let [_, _, h, w] = x.dims();
    if g.out(0, h) == 0 || g.out(1, w) == 0 {
        return burns(x);
    }
    kernels::depthwise(x, conv.weight.val(), g)
}

/// Depthwise convolution of `x` `[N, C, H, W]` with `weight` `[C, 1, kh, kw]` as shifted
/// products (the form `bench depthwise` compares against).
pub fn depthwise_conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let [_, _, kh, kw] = weight.dims();
    let out = |size: usize, k: usize, d: usize, p: usize, s: usize| {
        (size + 2 * p - d * (k - 1) - 1) / s + 1
    };
    let ho = out(h, kh, dilation[0], padding[0], stride[0]);
    let wo = out(w, kw, dilation[1], padding[1], stride[1]);
    let xp = if padding == [0, 0] {
        x
    } else {
        x.pad(
            (padding[1], padding[1], padding[0], padding[0]),
            PadMode::Constant(0.0),
        )
    };
    let mut acc: Option<Tensor<4>> = None;
    for i in 0..kh {
        for j in 0..kw {
            let (r0, c0) = (i * dilation[0], j * dilation[1]);
            let window = |start: usize, n: usize, s: usize| {
                Slice::new(
                    start as isize,
                    Some((start + (n - 1) * s + 1) as isize),
                    s as isize,
                )
            };
            let shifted = xp.clone().slice([
                Slice::full(),
                Slice::full(),
                window(r0, ho, stride[0]),
                window(c0, wo, stride[1]),
            ]);
            let tap = weight
                .clone()
                .slice([
                    Slice::full(),
                    Slice::full(),
                    Slice::new(i as isize, Some(i as isize + 1), 1),
                    Slice::new(j as isize, Some(j as isize + 1), 1),
                ])
                .reshape([1, c, 1, 1]);
            let term = shifted * tap;
            acc = Some(match acc {
                Some(a) => a + term,
                None => term,
            });
        }
    }
    acc.unwrap_or_else(|| unreachable!("a kernel has at least one tap"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::conv;
    use burn::tensor::{Device, Distribution, Tolerance};

    #[test]
    fn matches_the_native_grouped_conv_and_its_gradients() {
        let device = Device::flex().autodiff();
        // Every DARTS depthwise geometry, at odd and even sizes.
        for (k, s, p, d) in crate::testing::DARTS_DEPTHWISE {
            for (size, relu_input) in [(7, false), (8, false), (7, true), (8, true)] {
                let c = 6;
                let layer = conv(c, c, k, s, p, d, c, &device);
                assert!(is_depthwise(&layer));
                let x = Tensor::<4>::random(
                    [2, c, size, size],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )
                .require_grad();
                // With the ReLU fused, against burn's ReLU then burn's grouped conv.
                let input = if relu_input {
                    relu(x.clone())
                } else {
                    x.clone()
                };
                let native = layer.forward(input.clone());
                let ours = depthwise_forward(&layer, x.clone(), relu_input);
                let shifted = depthwise_conv2d(input, layer.weight.val(), [s, s], [p, p], [d, d]);
                shifted.into_data().assert_approx_eq::<f32>(
                    &native.clone().into_data(),
                    Tolerance::absolute(1e-5),
                );
                assert_eq!(
                    native.dims(),
                    ours.dims(),
                    "k{k} s{s} p{p} d{d} size {size}"
                );
                native
                    .clone()
                    .into_data()
                    .assert_approx_eq::<f32>(&ours.clone().into_data(), Tolerance::absolute(1e-5));
                // Same upstream gradient through both: input and weight gradients agree.
                let up =
                    Tensor::<4>::random(native.dims(), Distribution::Normal(0.0, 1.0), &device);
                let g1 = (native * up.clone()).sum().backward();
                let g2 = (ours * up).sum().backward();
                let w = layer.weight.val();
                w.grad(&g1).unwrap().into_data().assert_approx_eq::<f32>(
                    &w.grad(&g2).unwrap().into_data(),
                    Tolerance::absolute(1e-4),
                );
                x.grad(&g1).unwrap().into_data().assert_approx_eq::<f32>(
                    &x.grad(&g2).unwrap().into_data(),
                    Tolerance::absolute(1e-5),
                );
            }
        }
    }
}
