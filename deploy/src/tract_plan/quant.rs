//! QDQ models' activation round trips (`QuantizeLinearU8` → `DequantizeLinearF32`) as our
//! [`QuantPair`], after declutter (which keeps such pairs as they are).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::TypedModelPatch;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::quant::{DequantizeLinearF32, QuantizeLinearU8};

use super::replace;
use crate::quant_pair::QuantPair;

/// A dequantize whose input is a u8 quantize of an f32 map that nothing else reads.
pub(super) fn pair(
    _: &(),
    model: &TypedModel,
    node: &TypedNode,
    name: &str,
    dequantize: &DequantizeLinearF32,
) -> TractResult<Option<TypedModelPatch>> {
    let between = node.inputs[0];
    let q_node = model.node(between.node);
    let quantize = q_node
        .op_as::<ElementWiseOp>()
        .and_then(|op| op.0.downcast_ref::<QuantizeLinearU8>());
    let Some(quantize) = quantize else {
        return Ok(None);
    };
    let alone = model.outlet_successors(between).len() == 1 && !model.outputs.contains(&between);
    let x = q_node.inputs[0];
    if !alone || model.outlet_fact(x)?.datum_type != f32::datum_type() {
        return Ok(None);
    }
    let op = QuantPair {
        quantize: (quantize.scale, i32::from(quantize.zero_point)),
        dequantize: (dequantize.scale, dequantize.zero_point),
    };
    replace(model, node, name, x, op)
}

#[cfg(test)]
mod tests {
    use super::super::our_ops;
    use super::super::tests::{output, values};
    use super::*;
    use tract_onnx::tract_core::ops::quant::quantize_linear_u8;

    /// `x → QuantizeLinearU8 → DequantizeLinearF32` on `[1, 4, 8, 8]`; the u8 map also a model
    /// output when `shared`.
    fn round_trip(shared: bool) -> TractResult<TypedModel> {
        let mut m = TypedModel::default();
        let x = m.add_source("x", f32::fact([1, 4, 8, 8]))?;
        let q = m.wire_node("q", quantize_linear_u8(1.0 / 0.02, 131), &[x])?;
        let dq = m.wire_node("dq", DequantizeLinearF32::new(0.02, 131), &q)?;
        m.select_output_outlets(&if shared {
            vec![dq[0], q[0]]
        } else {
            dq.to_vec()
        })?;
        m.into_decluttered()
    }

    #[test]
    fn quantize_dequantize_pairs_become_ours_and_give_tracts_bits() {
        // Values around the rounding ties (multiples of 0.01), both saturations and zero.
        let mut x: Vec<f32> = values(256, 0.3).iter().map(|v| v * 2.0).collect();
        x[..8].copy_from_slice(&[0.01, -0.01, 0.03, -0.05, 9.0, -9.0, 0.0, 2.55]);
        for shared in [false, true] {
            let theirs = output(round_trip(shared).unwrap(), &x, &[1, 4, 8, 8]);
            let mut ours = round_trip(shared).unwrap();
            our_ops(&mut ours).unwrap();
            let fused = ours.nodes().iter().any(|n| n.op_is::<QuantPair>());
            assert_eq!(fused, !shared, "fused unless the u8 map is read elsewhere");
            let ours = output(ours, &x, &[1, 4, 8, 8]);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ours), bits(&theirs), "shared {shared}");
        }
    }
}
