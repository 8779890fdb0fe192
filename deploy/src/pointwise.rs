//! Our 1×1 convolution as a tract op, with the ReLU before it fused.
//!
//! tract lowers a 1×1 conv to a general matrix product and packs the map into panels for every
//! run; at batch 1 on DARTS_V2 that packing and its hand-off are a large part of each of the
//! ~100 small products (36–144 output channels). The kernel (`betadarts-deploy-kernels`,
//! `pointwise.rs`) packs the weights once and reads the map where it lies. It runs on the calling
//! thread, as the depthwise convs do (`depthwise.rs` says why).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::Cost;

use betadarts_deploy_kernels::pointwise;

/// `y = W · relu?(x) + b [+ z]` over the channels of `[N, K, H, W]` or `[K, H, W]` f32 maps (`z`,
/// the second input when there is one, a map of `y`'s shape: the sum after the conv, fused).
#[derive(Debug, Clone, PartialEq)]
pub struct Pointwise {
    pub conv: Arc<pointwise::Pointwise>,
    /// Apply ReLU to the input first.
    pub relu: bool,
    /// Add the second input to the output.
    pub add: bool,
}

// The weights are never NaN where it matters: equal ops are equal.
impl Eq for Pointwise {}

impl Pointwise {
    /// From `[outputs, inputs]` (or `[outputs, inputs, 1, 1]`) weights and `[outputs]` biases.
    pub fn new(weights: &[f32], bias: &[f32], outputs: usize, relu: bool) -> Pointwise {
        let inputs = weights.len() / outputs.max(1);
        Pointwise {
            conv: Arc::new(pointwise::Pointwise::new(weights, bias, outputs, inputs)),
            relu,
            add: false,
        }
    }

    fn out_shape<D: Clone + From<usize>>(&self, input: &[D]) -> TVec<D> {
        let mut shape: TVec<D> = input.into();
        let r = shape.len();
        shape[r - 3] = self.conv.outputs().into();
        shape
    }
}

impl Op for Pointwise {
    fn name(&self) -> StaticName {
        "BetadartsPointwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{}→{} channels, relu:{} add:{}",
            self.conv.inputs(),
            self.conv.outputs(),
            self.relu,
            self.add
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Pointwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, mut inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(inputs.len() == 1 + usize::from(self.add), "1×1 conv inputs");
        // The sum's other term becomes the output, in place when nothing else holds it.
        let addend = if self.add { inputs.pop() } else { None };
        let input = &inputs[0];
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let shape = input.shape();
        let r = shape.len();
        let (m, k) = (self.conv.outputs(), self.conv.inputs());
        ensure!(
            r >= 3 && shape[r - 3] == k,
            "1×1 conv input {shape:?} for {k} channels"
        );
        let n = shape[r - 2] * shape[r - 1];
        ensure!(
            m * k * n > 0,
            "1×1 conv of an empty map {shape:?} or no outputs"
        );
        let out = self.out_shape(shape);
        let mut y = match addend {
            Some(z) => {
                ensure!(
                    z.shape() == &*out,
                    "1×1 conv sum {:?} for {out:?}",
                    z.shape()
                );
                z.into_tensor()
            }
            None => uninitialized(&out)?,
        };
        let mut view = y.try_as_plain_ram_mut()?;
        let ys = view.as_slice_mut::<f32>()?;
        let modes = (self.relu, self.add);
        for (x, y) in x.chunks_exact(k * n).zip(ys.chunks_exact_mut(m * n)) {
            let mut rows: Vec<&mut [f32]> = y.chunks_exact_mut(n).collect();
            self.conv.run(x, n, modes, 0..n, &mut rows);
        }
        Ok(tvec!(y.into_tvalue()))
    }
}

/// An f32 tensor for our kernels to fill: not zeroed first, which was 7 % of DARTS_V2's time at
/// batch 1 (one thread: 14.6–14.8 → 13.5–13.6 ms with the 1×1 and depthwise outputs left
/// uninitialised; `examples/tract_profile.rs`, alternated).
pub(crate) fn uninitialized(shape: &[usize]) -> TractResult<Tensor> {
    #[allow(unsafe_code)]
    // SAFETY: f32 has no invalid bit patterns, and both callers hand the whole tensor to a
    // kernel that writes every value before anything reads it (`Pointwise::run` without a sum,
    // `depthwise::planes`; their tests start from NaN-filled outputs and check every value), as
    // tract's own ops do with this constructor.
    unsafe {
        Tensor::uninitialized::<f32>(shape)
    }
}

impl TypedOp for Pointwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(fact.datum_type == f32::datum_type() && fact.rank() >= 3);
        ensure!(inputs.len() == 1 + usize::from(self.add));
        Ok(tvec!(f32::fact(self.out_shape(&fact.shape.to_tvec()))))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let pixels: TDim = inputs[0].shape.iter().rev().take(2).product();
        let images: TDim = inputs[0].shape.iter().rev().skip(3).product();
        let per_pixel = self.conv.outputs() * self.conv.inputs();
        Ok(tvec!((
            Cost::FMA(f32::datum_type()),
            images * pixels * per_pixel
        )))
    }

    as_op!();
}
