//! Every `stride`-th row and column of each plane from an offset, with an optional ReLU, as one
//! tract op.
//!
//! tract lowers a stride-2 1×1 conv, and a strided slice, to two `Downsample`s (rows, then
//! columns) before the matrix product; each copies through a generic n-dimensional view, and the
//! eight of DARTS_V2's FactorizedReduce paths took 0.7 ms of its 31 (one x86-64 thread).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ndarray::{ArrayD, IxDyn};

use betadarts_deploy_kernels::strided::every_nth;

/// `y[.., i, j] = relu?(x[.., offset₀ + i·stride₀, offset₁ + j·stride₁])` on f32 maps of rank ≥ 2.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subsample {
    pub stride: [usize; 2],
    pub offset: [usize; 2],
    pub relu: bool,
}

impl Subsample {
    /// Output rows or columns from `n` (as tract's `Downsample` counts them; the rewrite only
    /// makes this op where the offset is inside the map).
    fn out_len(&self, n: &TDim, axis: usize) -> TDim {
        (n.clone() - self.offset[axis]).divceil(self.stride[axis])
    }
}

impl Op for Subsample {
    fn name(&self) -> StaticName {
        "BetadartsSubsample".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "stride:{:?} offset:{:?} relu:{}",
            self.stride, self.offset, self.relu
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Subsample {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let shape = input.shape();
        let r = shape.len();
        ensure!(r >= 2, "subsample of a rank-{r} tensor");
        let (h, w) = (shape[r - 2], shape[r - 1]);
        let count = |n: usize, a: usize| n.saturating_sub(self.offset[a]).div_ceil(self.stride[a]);
        let (ho, wo) = (count(h, 0), count(w, 1));
        let mut out_shape: TVec<usize> = shape.into();
        (out_shape[r - 2], out_shape[r - 1]) = (ho, wo);
        let mut y = vec![0f32; out_shape.iter().product()];
        if ho * wo > 0 {
            let act = |v: f32| if !self.relu || v > 0.0 { v } else { 0.0 };
            let [s0, s1] = self.stride;
            for (x, y) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(ho * wo)) {
                for (i, y) in y.chunks_exact_mut(wo).enumerate() {
                    let row =
                        &x[(self.offset[0] + i * s0) * w + self.offset[1]..][..(wo - 1) * s1 + 1];
                    every_nth(y, row, s1, act);
                }
            }
        }
        let y = ArrayD::from_shape_vec(IxDyn(&out_shape), y)?;
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for Subsample {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        let r = fact.rank();
        ensure!(fact.datum_type == f32::datum_type() && r >= 2);
        let mut shape = fact.shape.to_tvec();
        shape[r - 2] = self.out_len(&shape[r - 2], 0);
        shape[r - 1] = self.out_len(&shape[r - 1], 1);
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}
