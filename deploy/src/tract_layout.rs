//! Channel-last depthwise convolutions for tract on small feature maps.
//!
//! tract's NCHW `DepthWise` walks every channel plane zone by zone (interior, edges, corners) and
//! row by row, so its cost grows with channels × rows, not with multiply-adds: a 144-channel
//! 8×8 map runs at ~0.6 GFMA/s. Channel-last, one output position is a contiguous run of
//! channels and that overhead is paid once per position for all of them. Measured on DARTS_V2's
//! shapes (one thread, x86-64, `examples/tract_profile.rs`): 8×8 ×144 7× faster, 16×16 ×72
//! 2.7× faster, 32×32 ×36 1.8× *slower*; so only maps of at most [`MAX_PLANE`] output points
//! are moved. Where tract-linalg has a channel-last kernel (aarch64) tract already moves
//! depthwise convs itself and this pass does nothing.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::{Rewriter, TypedModelPatch};
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Largest output plane (H×W) moved channel-last: 16×16.
pub const MAX_PLANE: usize = 256;

/// The engine's plan of `model` for input `shape`: decluttered, small depthwise convs moved
/// channel-last, optimised.
pub fn optimised_plan(
    model: InferenceModel,
    shape: [usize; 4],
) -> TractResult<Arc<TypedRunnableModel>> {
    let mut m = model
        .with_input_fact(0, f32::fact(shape).into())?
        .into_typed()?
        .into_decluttered()?;
    channel_last_small_depthwise(&mut m)?;
    m.into_optimized()?.into_runnable()
}

/// Rewrites the model's small NCHW depthwise convs to channel-last `DepthWise` ops between two
/// axis moves (consecutive moves cancel when tract optimises the model).
pub fn channel_last_small_depthwise(model: &mut TypedModel) -> TractResult<()> {
    if tract_linalg::routines::depthwise_c_f32().is_some() {
        return Ok(());
    }
    Rewriter::<()>::default()
        .with_rule_for("betadarts-dw-channel-last", rule)
        .rewrite(&(), model)
}

fn rule(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    conv: &Conv,
) -> TractResult<Option<TypedModelPatch>> {
    let fact = model.outlet_fact(node.inputs[0])?;
    let depthwise = node.inputs.len() == 3
        && conv.q_params.is_none()
        && conv.group > 1
        && conv.group == conv.input_channels()
        && conv.group == conv.output_channels()
        && fact.datum_type == f32::datum_type()
        && conv.pool_spec.rank() == 2
        && matches!(
            conv.pool_spec.data_format,
            DataFormat::NCHW | DataFormat::CHW
        );
    let Some(shape) = fact.shape.as_concrete().filter(|_| depthwise) else {
        return Ok(None);
    };
    let plane: usize = conv
        .pool_spec
        .output_shape(shape)?
        .hw_dims()
        .iter()
        .product();
    if plane > MAX_PLANE {
        return Ok(None);
    }
    let rank = shape.len();
    // tract drops a batch axis of 1 (CHW), so the channel axis is 0 or 1.
    let (c_axis, data_format) = match conv.pool_spec.data_format {
        DataFormat::CHW => (0, DataFormat::HWC),
        _ => (1, DataFormat::NHWC),
    };
    let mut patch = TypedModelPatch::default();
    let inputs = patch.taps(model, &node.inputs)?;
    let x = patch.wire_node(
        format!("{name}.nhwc_in"),
        AxisOp::Move(c_axis, rank - 1),
        &[inputs[0]],
    )?;
    let nhwc = Conv {
        pool_spec: PoolSpec {
            data_format,
            ..conv.pool_spec.clone()
        },
        ..conv.clone()
    };
    let y = nhwc.wire_as_depth_wise(&mut patch, name, &[x[0], inputs[1], inputs[2]])?;
    let y = patch.wire_node(
        format!("{name}.nhwc_out"),
        AxisOp::Move(rank - 1, c_axis),
        &[y],
    )?;
    patch.shunt_outside(model, node.id.into(), y[0])?;
    Ok(Some(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{KernelFormat, PaddingSpec};

    /// Depthwise 3×3 conv, NCHW, written out: the oracle.
    #[allow(clippy::too_many_arguments)]
    fn naive(x: &[f32], k: &[f32], b: &[f32], c: usize, h: usize, s: usize, d: usize) -> Vec<f32> {
        let p = d as isize;
        let ho = (h + 2 * d - 2 * d - 1) / s + 1;
        let mut y = vec![0.0; c * ho * ho];
        for ch in 0..c {
            for (oy, ox) in (0..ho).flat_map(|i| (0..ho).map(move |j| (i, j))) {
                let mut acc = b[ch];
                for (ky, kx) in (0..3).flat_map(|i| (0..3).map(move |j| (i, j))) {
                    let iy = (oy * s) as isize + (ky * d) as isize - p;
                    let ix = (ox * s) as isize + (kx * d) as isize - p;
                    if (0..h as isize).contains(&iy) && (0..h as isize).contains(&ix) {
                        acc +=
                            k[ch * 9 + ky * 3 + kx] * x[(ch * h + iy as usize) * h + ix as usize];
                    }
                }
                y[(ch * ho + oy) * ho + ox] = acc;
            }
        }
        y
    }

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 * 0.37 + seed).sin() * 1.7).fract())
            .collect()
    }

    /// One depthwise conv `[1, C, H, H]` (padding = dilation: the DARTS sep/dil convs), with the
    /// pass applied: how many convs it moved channel-last, and the optimised plan's output.
    fn run(c: usize, h: usize, s: usize, d: usize) -> TractResult<(usize, Vec<f32>, Vec<f32>)> {
        let (x, k, b) = (values(c * h * h, 0.1), values(c * 9, 0.7), values(c, 0.3));
        let mut model = TypedModel::default();
        let src = model.add_source("x", f32::fact([1, c, h, h]))?;
        let kw = model.add_const("k", Tensor::from_shape(&[c, 1, 3, 3], &k)?)?;
        let bw = model.add_const("b", Tensor::from_shape(&[c], &b)?)?;
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(3, 3),
            padding: PaddingSpec::Explicit(tvec!(d, d), tvec!(d, d)),
            dilations: Some(tvec!(d, d)),
            strides: Some(tvec!(s, s)),
            input_channels: c,
            output_channels: c,
        };
        let conv = Conv {
            pool_spec,
            kernel_fmt: KernelFormat::OIHW,
            group: c,
            q_params: None,
        };
        let y = model.wire_node("dw", conv, &[src, kw, bw])?;
        model.select_output_outlets(&y)?;
        let mut model = model.into_decluttered()?;
        channel_last_small_depthwise(&mut model)?;
        let moved = model
            .nodes()
            .iter()
            .filter(|n| n.name.ends_with(".nhwc_in"))
            .count();
        let plan = model.into_optimized()?.into_runnable()?;
        let out = plan.run(tvec!(Tensor::from_shape(&[1, c, h, h], &x)?.into_tvalue()))?;
        let got = out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect();
        Ok((moved, got, naive(&x, &k, &b, c, h, s, d)))
    }

    #[test]
    fn small_maps_move_channel_last_and_every_conv_matches_the_oracle() {
        let has_c_kernel = tract_linalg::routines::depthwise_c_f32().is_some();
        // (channels, side, stride, dilation, moved where tract has no channel-last kernel)
        for (c, h, s, d, moves) in [
            (16, 8, 1, 1, true),
            (24, 16, 1, 2, true),
            (16, 32, 2, 1, true), // 16×16 output
            (8, 32, 1, 1, false), // 32×32 output: NCHW is faster there
            (5, 7, 2, 2, true),
        ] {
            let (moved, got, want) = run(c, h, s, d).unwrap();
            assert_eq!(
                moved,
                usize::from(moves && !has_c_kernel),
                "{c}x{h}x{h} s{s} d{d}"
            );
            assert_eq!(got.len(), want.len());
            let diff = got
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-5, "{c}x{h}x{h} s{s} d{d}: max diff {diff}");
        }
    }
}
