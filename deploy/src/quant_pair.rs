//! An activation's quantize → dequantize pair (QDQ models) as one tract op.
//!
//! tract runs the pair as two ops with a u8 map between them, the quantize one element at a time;
//! with the 711 pairs of an INT8 DARTS_V2 as ours, the network went from 62–63 to 26 ms (batch 1,
//! one Xeon thread, `deploy bench`). The loop is in `betadarts-deploy-kernels` (`quant.rs`).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use betadarts_deploy_kernels::quant::quantize_dequantize_u8;

/// `y = dequantize(quantize_u8(x))`, f32 to f32 of the same shape.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantPair {
    /// The quantize step: multiplier (one over its scale) and zero point (0..=255).
    pub quantize: (f32, i32),
    /// The dequantize step: scale and zero point.
    pub dequantize: (f32, i32),
}

// Scales are finite constants of the model: equal ops are equal.
impl Eq for QuantPair {}

impl Op for QuantPair {
    fn name(&self) -> StaticName {
        "BetadartsQuantPair".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "quantize ×{} +{}, dequantize −{} ×{}",
            self.quantize.0, self.quantize.1, self.dequantize.1, self.dequantize.0
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for QuantPair {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        // In place when nothing else holds the map.
        let mut y = args_1!(inputs).into_tensor();
        let mut view = y.try_as_plain_ram_mut()?;
        quantize_dequantize_u8(view.as_slice_mut::<f32>()?, self.quantize, self.dequantize);
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for QuantPair {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == f32::datum_type());
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}
