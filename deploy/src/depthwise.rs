//! Our depthwise convolution as a tract op, with the ReLU before it fused.
//!
//! tract's own NCHW `DepthWise` walks every plane zone by zone (interior, edges, corners) and row
//! by row, and ran DARTS_V2's depthwise convs at ~4 GFMA/s on one x86-64 core; they were a third
//! of the network's time for 7 % of its multiply-adds. The kernel (`betadarts-deploy-kernels`)
//! runs a plane from a padded copy in tiles of register accumulators, and the copy applies the
//! ReLU that precedes every depthwise conv of a DARTS cell (so that ReLU is no separate pass over
//! the map). It runs on the calling thread: handing an op's planes (or a 1×1 conv's pixels) to
//! tract's pool cost more than it saved at batch 1 on both machines measured (2 threads, DARTS_V2:
//! 31.1 ms with both ops split at ≥ 200 k multiply-adds, 24.5 at ≥ 3 M, 19.6 never, against 19.2
//! on one thread; `deploy bench`, 2-vCPU Xeon), and a batch already spreads its images over the
//! pool. Helpers that spin between ops (a hand-off under 1 µs; branch `team-split`) split each op
//! well (29.7 → 23 µs on average) but not the network (15.0 → 14.4 ms with AVX-512 1×1 tiles):
//! every op's map then crosses between the two cores' caches. Threads take whole nodes instead
//! (`tract_parallel.rs`).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::Cost;

use betadarts_deploy_kernels::depthwise;
pub use betadarts_deploy_kernels::depthwise::Geometry;

/// `y = depthwise_conv(relu?(x)) + bias` over `[N, C, H, W]` or `[C, H, W]` f32 inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depthwise {
    pub geometry: Geometry,
    pub channels: usize,
    /// `[C, kernel rows × columns]`, f32.
    pub kernel: Arc<Tensor>,
    /// `[C]`, f32.
    pub bias: Arc<Tensor>,
    /// Apply ReLU to the input first.
    pub relu: bool,
}

/// `input`'s shape with its last two axes those of `g`'s output planes (our plane ops' outputs).
pub fn planes_out<D: Clone + From<usize>>(g: &Geometry, input: &[D]) -> TVec<D> {
    let mut shape: TVec<D> = input.into();
    let r = shape.len();
    shape[r - 2] = g.output[0].into();
    shape[r - 1] = g.output[1].into();
    shape
}

impl Op for Depthwise {
    fn name(&self) -> StaticName {
        "BetadartsDepthwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{:?} channels:{} relu:{}",
            self.geometry, self.channels, self.relu
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Depthwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let k = self.kernel.try_as_plain_ram()?.as_slice::<f32>()?;
        let b = self.bias.try_as_plain_ram()?.as_slice::<f32>()?;
        let g = &self.geometry;
        let shape = input.shape();
        let r = shape.len();
        ensure!(
            r >= 3 && shape[r - 3] == self.channels && shape[r - 2..] == g.input,
            "depthwise input {shape:?} for {} channels of {:?}",
            self.channels,
            g.input
        );
        let mut y = crate::pointwise::uninitialized(&planes_out(g, shape))?;
        depthwise::planes(
            g,
            x,
            k,
            b,
            self.relu,
            y.try_as_plain_ram_mut()?.as_slice_mut()?,
        );
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for Depthwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(fact.datum_type == f32::datum_type() && fact.rank() >= 3);
        Ok(tvec!(f32::fact(planes_out(
            &self.geometry,
            &fact.shape.to_tvec()
        ))))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let planes: TDim = inputs[0].shape.iter().rev().skip(2).product();
        Ok(tvec!((
            Cost::FMA(f32::datum_type()),
            planes * self.geometry.fma()
        )))
    }

    as_op!();
}
