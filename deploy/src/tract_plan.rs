//! Our rewrites of tract's plan of an exported model, applied around declutter.
//!
//! Every f32 1×1 conv becomes our [`Pointwise`](crate::pointwise::Pointwise) op (before
//! declutter, which would make it a general matrix product; a sum after it is fused in after),
//! every depthwise conv our [`Depthwise`], every 2-D max or average pool our [`Pool`], every
//! row-then-column pair of `Downsample`s our [`Subsample`], and every activation's
//! quantize → dequantize pair (QDQ models) our [`QuantPair`](crate::quant_pair::QuantPair); the
//! convs and subsamples take over the ReLU before them (a `max` with zero). Measured on DARTS_V2
//! (one thread, x86-64, `examples/tract_profile.rs`): see README, "How tract runs our models".

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::{Rewriter, TypedModelPatch};
use tract_onnx::tract_core::ops::Downsample;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PoolSpec, SumPool};
use tract_onnx::tract_core::ops::nn::DataFormat;

use crate::depthwise::{Depthwise, Geometry};
use crate::pool::Pool;
use crate::subsample::Subsample;

/// The engine's plan of `model` for input `shape`: our 1×1 convs, decluttered, our other
/// rewrites, optimised (with the kernels [`crate::tract_isa`] chose).
pub fn optimised_plan(
    model: InferenceModel,
    shape: [usize; 4],
) -> TractResult<Arc<TypedRunnableModel>> {
    crate::tract_isa::choose();
    let mut m = model
        .with_input_fact(0, f32::fact(shape).into())?
        .into_typed()?;
    our_pointwise(&mut m)?;
    let mut m = m.into_decluttered()?;
    our_ops(&mut m)?;
    m.into_optimized()?.into_runnable()
}

/// Replaces the model's f32 1×1 convs (constant weights, no padding; a stride becomes a
/// [`Subsample`] first) by [`Pointwise`](crate::pointwise::Pointwise). Before declutter: it
/// turns them into matrix products.
pub fn our_pointwise(model: &mut TypedModel) -> TractResult<()> {
    Rewriter::<()>::default()
        .with_rule_for("betadarts-pointwise", pointwise::conv)
        .rewrite(&(), model)
}

/// Replaces the model's f32 NCHW depthwise convs (constant weights, concrete shapes) by
/// [`Depthwise`], its 2-D pools by [`Pool`], its pairs of f32 `Downsample`s by [`Subsample`],
/// sums after our 1×1 convs by the conv adding them, and quantize → dequantize pairs by one op.
pub fn our_ops(model: &mut TypedModel) -> TractResult<()> {
    Rewriter::<()>::default()
        .with_rule_for("betadarts-depthwise", depthwise)
        .with_rule_for("betadarts-subsample", subsample)
        .with_rule_for("betadarts-maxpool", max_pool)
        .with_rule_for("betadarts-avgpool", sum_pool)
        .with_rule_for("betadarts-pointwise-sum", pointwise::sum)
        .with_rule_for("betadarts-quant-pair", quant::pair)
        .rewrite(&(), model)
}

/// A `Downsample` of the last axis whose input is a `Downsample` of the one before.
fn subsample(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    cols: &Downsample,
) -> TractResult<Option<TypedModelPatch>> {
    let prev = model.node(node.inputs[0].node);
    let Some(rows) = prev.op_as::<Downsample>() else {
        return Ok(None);
    };
    let fact = model.outlet_fact(prev.inputs[0])?;
    let Some(shape) = fact.shape.as_concrete() else {
        return Ok(None);
    };
    let r = shape.len();
    if fact.datum_type != f32::datum_type()
        || r < 2
        || (rows.axis, cols.axis) != (r - 2, r - 1)
        || rows.stride < 1
        || cols.stride < 1
        || rows.modulo >= shape[r - 2]
        || cols.modulo >= shape[r - 1]
    {
        return Ok(None);
    }
    let (input, relu) = fused_relu(model, prev.inputs[0])?;
    let op = Subsample {
        stride: [rows.stride as usize, cols.stride as usize],
        offset: [rows.modulo, cols.modulo],
        relu,
    };
    replace(model, node, name, input, op)
}

fn depthwise(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    conv: &Conv,
) -> TractResult<Option<TypedModelPatch>> {
    let fact = model.outlet_fact(node.inputs[0])?;
    let c = conv.input_channels();
    let depthwise = node.inputs.len() == 3
        && conv.q_params.is_none()
        && conv.group > 1
        && conv.group == c
        && conv.group == conv.output_channels()
        && conv.kernel_fmt == KernelFormat::OIHW
        && fact.datum_type == f32::datum_type()
        && conv.pool_spec.rank() == 2
        && matches!(
            conv.pool_spec.data_format,
            DataFormat::NCHW | DataFormat::CHW
        );
    let konst = |i: usize| model.outlet_fact(node.inputs[i]).map(|f| f.konst.clone());
    let (Some(shape), Some(kernel), Some(bias)) = (fact.shape.as_concrete(), konst(1)?, konst(2)?)
    else {
        return Ok(None);
    };
    let kernel_shape = &conv.pool_spec.kernel_shape;
    if !depthwise
        || kernel.datum_type() != f32::datum_type()
        || kernel.len() != c * kernel_shape[0] * kernel_shape[1]
        || bias.datum_type() != f32::datum_type()
        || (bias.len() != c && bias.len() != 1)
    {
        return Ok(None);
    }
    let geometry = geometry(&conv.pool_spec, shape);
    let bias = if bias.len() == c {
        (*bias).clone().into_shape(&[c])?
    } else {
        let b = bias.try_as_plain_ram()?.as_slice::<f32>()?[0];
        tensor1(&vec![b; c])
    };
    let (input, relu) = fused_relu(model, node.inputs[0])?;
    let op = Depthwise {
        geometry,
        channels: c,
        kernel: (*kernel)
            .clone()
            .into_shape(&[c, geometry.taps()])?
            .into_arc_tensor(),
        bias: bias.into_arc_tensor(),
        relu,
    };
    replace(model, node, name, input, op)
}

/// The plane geometry of a 2-D `spec` on a map of `shape` (`[.., H, W]`).
pub(super) fn geometry(spec: &PoolSpec, shape: &[usize]) -> Geometry {
    let hw = &shape[shape.len() - 2..];
    let padding = spec.computed_padding(hw);
    Geometry {
        input: [hw[0], hw[1]],
        kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
        stride: [spec.stride(0), spec.stride(1)],
        dilation: [spec.dilation(0), spec.dilation(1)],
        pad: [padding[0].pad_before, padding[1].pad_before],
        output: [padding[0].convoluted, padding[1].convoluted],
    }
}

/// The concrete shape of `node`'s f32 input when `spec` is a 2-D NCHW (or CHW) window.
pub(super) fn nchw_f32<'a>(
    model: &'a TypedModel,
    node: &TypedNode,
    spec: &PoolSpec,
) -> Option<&'a [usize]> {
    let fact = model.outlet_fact(node.inputs[0]).ok()?;
    let nchw = matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW);
    (fact.datum_type == f32::datum_type() && spec.rank() == 2 && nchw)
        .then(|| fact.shape.as_concrete())
        .flatten()
}

fn max_pool(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    pool: &MaxPool,
) -> TractResult<Option<TypedModelPatch>> {
    match nchw_f32(model, node, &pool.pool_spec) {
        Some(shape) if pool.with_index_outputs.is_none() => {
            let op = Pool::max(geometry(&pool.pool_spec, shape));
            replace(model, node, name, node.inputs[0], op)
        }
        _ => Ok(None),
    }
}

/// ONNX's AveragePool (a normalised `SumPool`).
fn sum_pool(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    pool: &SumPool,
) -> TractResult<Option<TypedModelPatch>> {
    match nchw_f32(model, node, &pool.pool_spec) {
        Some(shape) if pool.normalize => {
            let op = Pool::average(geometry(&pool.pool_spec, shape), pool.count_include_pad);
            replace(model, node, name, node.inputs[0], op)
        }
        _ => Ok(None),
    }
}

/// A patch that computes `node`'s output with `op` on `input`.
pub(super) fn replace(
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    input: OutletId,
    op: impl TypedOp,
) -> TractResult<Option<TypedModelPatch>> {
    let mut patch = TypedModelPatch::default();
    let x = patch.tap_model(model, input)?;
    let y = patch.wire_node(name, op, &[x])?;
    patch.shunt_outside(model, node.id.into(), y[0])?;
    Ok(Some(patch))
}

/// What an op of ours reads instead of `outlet`, and whether it applies the ReLU itself: the
/// ReLU's input when `outlet` is a ReLU, else `outlet`.
pub(super) fn fused_relu(model: &TypedModel, outlet: OutletId) -> TractResult<(OutletId, bool)> {
    Ok(match relu_input(model, outlet)? {
        Some(x) => (x, true),
        None => (outlet, false),
    })
}

/// The input of `outlet`'s node when that node is a ReLU (`max(x, 0)` with a constant zero, as
/// tract imports ONNX's Relu) of the same shape.
fn relu_input(model: &TypedModel, outlet: OutletId) -> TractResult<Option<OutletId>> {
    let node = model.node(outlet.node);
    let Some(op) = node.op_as::<TypedBinOp>() else {
        return Ok(None);
    };
    if op.0.name() != "Max" || node.inputs.len() != 2 {
        return Ok(None);
    }
    for (data, zero) in [(0, 1), (1, 0)] {
        let z = model.outlet_fact(node.inputs[zero])?;
        let x = model.outlet_fact(node.inputs[data])?;
        let zeros = z.konst.as_ref().is_some_and(|t| {
            t.datum_type() == f32::datum_type()
                && t.try_as_plain_ram()
                    .and_then(|v| v.as_slice::<f32>().map(|s| s.iter().all(|&v| v == 0.0)))
                    .unwrap_or(false)
        });
        if zeros && x.datum_type == f32::datum_type() && x.shape == model.outlet_fact(outlet)?.shape
        {
            return Ok(Some(node.inputs[data]));
        }
    }
    Ok(None)
}

mod pointwise;
#[cfg(test)]
mod pointwise_tests;
mod quant;
#[cfg(test)]
mod tests;
