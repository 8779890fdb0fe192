//! Our depthwise convolution as a tract op, with the ReLU before it fused.
//!
//! tract's own NCHW `DepthWise` walks every plane zone by zone (interior, edges, corners) and row
//! by row, and ran DARTS_V2's depthwise convs at ~4 GFMA/s on one x86-64 core; they were a third
//! of the network's time for 7 % of its multiply-adds. The kernel (`betadarts-deploy-kernels`)
//! runs a plane from a padded copy in tiles of register accumulators, and the copy applies the
//! ReLU that precedes every depthwise conv of a DARTS cell (so that ReLU is no separate pass over
//! the map). Planes are spread over tract's thread pool when there is enough work.

use rayon::prelude::*;
use tract_linalg::multithread::{Executor, current_tract_executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ndarray::{ArrayD, IxDyn};
use tract_onnx::tract_core::ops::Cost;

use betadarts_deploy_kernels::depthwise;
pub use betadarts_deploy_kernels::depthwise::Geometry;

/// Multiply-adds below which one thread runs the whole op (a pool hand-off costs microseconds;
/// DARTS_V2's 8×8 convs are ~80 k).
const PARALLEL_FMA: usize = 200_000;

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
        let (plane_in, plane_out) = (g.input[0] * g.input[1], g.output[0] * g.output[1]);
        let shape = input.shape();
        let r = shape.len();
        ensure!(
            r >= 3 && shape[r - 3] == self.channels && shape[r - 2..] == g.input,
            "depthwise input {shape:?} for {} channels of {:?}",
            self.channels,
            g.input
        );
        let planes = shape[..r - 2].iter().product::<usize>();
        let mut y = vec![0f32; planes * plane_out];
        let run = |first: usize, x: &[f32], y: &mut [f32]| {
            depthwise::planes(g, first, x, k, b, self.relu, y)
        };
        match current_tract_executor() {
            Executor::MultiThread(pool) if planes * g.fma() >= PARALLEL_FMA => {
                // A few groups of planes per thread: balanced, and little hand-off.
                let per = planes.div_ceil(4 * pool.current_num_threads()).max(1);
                pool.install(|| {
                    x.par_chunks(per * plane_in)
                        .zip(y.par_chunks_mut(per * plane_out))
                        .enumerate()
                        .for_each(|(i, (x, y))| run(i * per, x, y))
                })
            }
            _ => run(0, x, &mut y),
        }
        let y = ArrayD::from_shape_vec(IxDyn(&planes_out(g, input.shape())), y)?;
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
