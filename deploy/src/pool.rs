//! Max and average pooling of NCHW planes as one tract op, on our depthwise kernel's walk.
//!
//! tract's `OptMaxPool` ran DARTS_V2's four 3×3 stride-2 pools at ~2 G comparisons/s (0.4 ms of
//! the network on one x86-64 thread). A max pool is the depthwise walk with a maximum for the
//! multiply-add and −∞ padding; an average pool is the walk with weights of one, then each output
//! scaled by one over the values its window covered (`count_include_pad = 0`, as DARTS exports
//! it) or over the window's size.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ndarray::{ArrayD, IxDyn};

use betadarts_deploy_kernels::depthwise::{self, Geometry};

use crate::depthwise::planes_out;

/// Pooling of every plane of an f32 `[.., H, W]` map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub geometry: Geometry,
    /// Average: `[H_out, W_out]`, what each output's sum is multiplied by; `None` for max.
    pub scale: Option<Arc<Tensor>>,
}

impl Pool {
    pub fn max(geometry: Geometry) -> Self {
        Self {
            geometry,
            scale: None,
        }
    }

    /// The average over each window: of the input values under it (`count_pad` false) or of its
    /// whole size, padding counted as zeros.
    pub fn average(geometry: Geometry, count_pad: bool) -> Self {
        let g = &geometry;
        let inside = |o: usize, a: usize, k: usize| {
            let at = (o * g.stride[a] + k * g.dilation[a]) as isize - g.pad[a] as isize;
            (0..g.input[a] as isize).contains(&at)
        };
        let mut scale = Vec::with_capacity(g.output[0] * g.output[1]);
        for oy in 0..g.output[0] {
            for ox in 0..g.output[1] {
                let rows = (0..g.kernel[0])
                    .filter(|&k| count_pad || inside(oy, 0, k))
                    .count();
                let cols = (0..g.kernel[1])
                    .filter(|&k| count_pad || inside(ox, 1, k))
                    .count();
                scale.push(1.0 / (rows * cols).max(1) as f32);
            }
        }
        Self {
            geometry,
            scale: Some(tensor1(&scale).into_arc_tensor()),
        }
    }
}

impl Op for Pool {
    fn name(&self) -> StaticName {
        if self.scale.is_some() {
            "BetadartsAvgPool"
        } else {
            "BetadartsMaxPool"
        }
        .into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{:?}", self.geometry)])
    }

    op_as_typed_op!();
}

impl EvalOp for Pool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let g = &self.geometry;
        let shape = input.shape();
        let r = shape.len();
        ensure!(
            r >= 2 && shape[r - 2..] == g.input,
            "pool input {shape:?} for planes of {:?}",
            g.input
        );
        let planes = shape[..r - 2].iter().product::<usize>();
        let plane_out = g.output[0] * g.output[1];
        let mut y = vec![0f32; planes * plane_out];
        match &self.scale {
            None => depthwise::max_planes(g, x, &mut y),
            Some(scale) => {
                let ones = vec![1.0; g.taps()];
                depthwise::planes(g, x, &ones, &[0.0], false, &mut y);
                let scale = scale.try_as_plain_ram()?.as_slice::<f32>()?;
                for plane in y.chunks_exact_mut(plane_out.max(1)) {
                    plane.iter_mut().zip(scale).for_each(|(v, s)| *v *= s);
                }
            }
        }
        let y = ArrayD::from_shape_vec(IxDyn(&planes_out(g, shape)), y)?;
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for Pool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(fact.datum_type == f32::datum_type() && fact.rank() >= 2);
        Ok(tvec!(f32::fact(planes_out(
            &self.geometry,
            &fact.shape.to_tvec()
        ))))
    }

    as_op!();
}
