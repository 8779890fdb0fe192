//! The 1×1 convs as our [`Pointwise`] op (before declutter), and the sums after them fused
//! into it (after).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::TypedModelPatch;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};

use super::{fused_relu, geometry, nchw_f32};
use crate::pointwise::Pointwise;
use crate::subsample::Subsample;

pub(super) fn conv(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    conv: &Conv,
) -> TractResult<Option<TypedModelPatch>> {
    let Some(shape) = nchw_f32(model, node, &conv.pool_spec) else {
        return Ok(None);
    };
    let (Some(kernel), Some(bias)) = (
        constant(model, node.inputs[1])?,
        constant(model, node.inputs[2])?,
    ) else {
        return Ok(None);
    };
    let (m, k) = (conv.output_channels(), conv.input_channels());
    let g = geometry(&conv.pool_spec, shape);
    let (Some(w), Some(b)) = (f32s(&kernel), f32s(&bias)) else {
        return Ok(None);
    };
    if node.inputs.len() != 3
        || conv.q_params.is_some()
        || conv.group != 1
        || conv.kernel_fmt != KernelFormat::OIHW
        || g.kernel != [1, 1]
        || g.pad != [0, 0]
        || w.len() != m * k
        || (b.len() != m && b.len() != 1)
        || m * k * g.output[0] * g.output[1] == 0
    {
        return Ok(None);
    }
    let b = if b.len() == m { b } else { vec![b[0]; m] };
    let mut patch = TypedModelPatch::default();
    let (input, relu) = fused_relu(model, node.inputs[0])?;
    let mut x = patch.tap_model(model, input)?;
    let mut relu_later = relu;
    if g.stride != [1, 1] {
        let op = Subsample {
            stride: g.stride,
            offset: [0, 0],
            relu,
        };
        x = patch.wire_node(format!("{name}.subsample"), op, &[x])?[0];
        relu_later = false;
    }
    let y = patch.wire_node(name, Pointwise::new(&w, &b, m, relu_later), &[x])?;
    patch.shunt_outside(model, node.id.into(), y[0])?;
    Ok(Some(patch))
}

/// `outlet`'s constant value, through the same-type casts tract's ONNX import puts on a conv's
/// bias (declutter removes them; the 1×1 rule runs before it).
fn constant(model: &TypedModel, outlet: OutletId) -> TractResult<Option<Arc<Tensor>>> {
    let fact = model.outlet_fact(outlet)?;
    if let Some(k) = &fact.konst {
        return Ok(Some(k.clone()));
    }
    let node = model.node(outlet.node);
    match node.op_as::<Cast>() {
        Some(cast)
            if node.inputs.len() == 1
                && model.outlet_fact(node.inputs[0])?.datum_type == cast.to =>
        {
            constant(model, node.inputs[0])
        }
        _ => Ok(None),
    }
}

/// The values of an f32 tensor.
fn f32s(t: &Tensor) -> Option<Vec<f32>> {
    (t.datum_type() == f32::datum_type())
        .then(|| Some(t.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.to_vec()))
        .flatten()
}

/// `Add(Pointwise(x), z)` (either order; the conv's output used by the sum alone and no model
/// output, `z` of its shape) as one [`Pointwise`] that adds `z`, as tract fuses such sums into
/// its matrix products.
pub(super) fn sum(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    op: &TypedBinOp,
) -> TractResult<Option<TypedModelPatch>> {
    if op.0.name() != "Add" || op.1.is_some() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let out = model.outlet_fact(node.id.into())?;
    for (conv, other) in [(0, 1), (1, 0)] {
        let (conv, other) = (node.inputs[conv], node.inputs[other]);
        let Some(pw) = model.node(conv.node).op_as::<Pointwise>() else {
            continue;
        };
        let same = |o: OutletId| {
            model
                .outlet_fact(o)
                .is_ok_and(|f| f.datum_type == f32::datum_type() && f.shape == out.shape)
        };
        let alone = model.outlet_successors(conv).len() == 1 && !model.outputs.contains(&conv);
        if pw.add || !alone || !same(conv) || !same(other) {
            continue;
        }
        let mut patch = TypedModelPatch::default();
        let x = patch.tap_model(model, model.node(conv.node).inputs[0])?;
        let z = patch.tap_model(model, other)?;
        let fused = Pointwise {
            add: true,
            ..pw.clone()
        };
        let y = patch.wire_node(name, fused, &[x, z])?;
        patch.shunt_outside(model, node.id.into(), y[0])?;
        return Ok(Some(patch));
    }
    Ok(None)
}
