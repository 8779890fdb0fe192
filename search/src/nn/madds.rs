//! Multiply-add counting by instrumented forward passes: convolutions and linear layers, the
//! usual convention of the DARTS papers (BN, pooling, additions and ReLU not counted).

use std::cell::Cell;

use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::Tensor;

use crate::kernels::{self, Geometry};

thread_local! {
    static COUNTER: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `f` with counting on and returns its multiply-adds (per whole batch).
pub fn count_madds(f: impl FnOnce()) -> u64 {
    COUNTER.with(|c| c.set(Some(0)));
    f();
    COUNTER.with(|c| c.take()).unwrap_or(0)
}

fn add(n: u64) {
    COUNTER.with(|c| {
        if let Some(v) = c.get() {
            c.set(Some(v + n));
        }
    });
}

/// `conv.forward(x)`, counted: output elements × (C_in / groups) × k_h × k_w.
pub fn conv_fwd(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    conv_fwd_of(conv, x, false)
}

/// `conv_fwd(conv, relu(x))`, the ReLU fused into the kernel when `conv` is depthwise (no ReLU
/// tensor made or kept: DARTS' sep/dil convs).
pub fn relu_conv_fwd(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if super::is_depthwise(conv) {
        conv_fwd_of(conv, x, true)
    } else {
        conv_fwd_of(conv, burn::tensor::activation::relu(x), false)
    }
}

fn conv_fwd_of(conv: &Conv2d, x: Tensor<4>, relu_input: bool) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let y = match fused_geometry(conv).filter(|g| g.out(0, h) > 0 && g.out(1, w) > 0) {
        // Plain convs: the fused kernel (one op each way, no weight gradient when frozen);
        // a kernel larger than its input is left to burn.
        Some(g) => kernels::conv2d(x, conv.weight.val(), g),
        // Depthwise convs: their own fused kernel (see `depthwise`).
        None if super::is_depthwise(conv) => super::depthwise_forward(conv, x, relu_input),
        None => conv.forward(x),
    };
    if COUNTER.with(|c| c.get().is_some()) {
        let [_, cin_g, kh, kw] = conv.weight.dims();
        add(y.shape().num_elements() as u64 * (cin_g * kh * kw) as u64);
    }
    y
}

/// The geometry of a bias-free, ungrouped conv with symmetric padding (what the fused kernel
/// takes), or `None`.
fn fused_geometry(conv: &Conv2d) -> Option<Geometry> {
    if conv.groups != 1 || conv.bias.is_some() {
        return None;
    }
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(t, l, b, r) if t == b && l == r => [t, l],
        PaddingConfig2d::Valid => [0, 0],
        _ => return None,
    };
    let [_, _, kh, kw] = conv.weight.dims();
    Some(Geometry {
        groups: 1,
        relu_input: false,
        kernel: [kh, kw],
        stride: conv.stride,
        padding,
        dilation: conv.dilation,
    })
}

/// `linear.forward(x)`, counted: rows × in × out.
pub fn linear_fwd(linear: &Linear, x: Tensor<2>) -> Tensor<2> {
    if COUNTER.with(|c| c.get().is_some()) {
        let [rows, d_in] = x.dims();
        let [w_in, w_out] = linear.weight.dims();
        debug_assert_eq!(d_in, w_in);
        add((rows * w_in * w_out) as u64);
    }
    linear.forward(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn counts_a_hand_worked_conv_and_linear() {
        let device = Device::flex();
        let c = crate::nn::conv(3, 8, 3, 2, 1, 1, 1, &device);
        let l = burn::nn::LinearConfig::new(8, 10).init(&device);
        let n = count_madds(|| {
            let y = conv_fwd(&c, Tensor::zeros([1, 3, 8, 8], &device)); // 8×4×4 outputs × 27
            linear_fwd(&l, y.mean_dims(&[2, 3]).reshape([1, 8])); // 80
        });
        assert_eq!(n, 8 * 4 * 4 * 27 + 80);
        // Off outside count_madds.
        assert_eq!(count_madds(|| {}), 0);
    }
}
