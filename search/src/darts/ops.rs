//! DARTS ops (spec §4.1), the same definitions as quark0/darts `operations.py`:
//! pools 3×3 (avg without padded cells), skip (FactorizedReduce at stride 2), separable convs
//! (the ReLU-depthwise-pointwise-BN block twice), dilated convs (once, dilation 2).

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor, s};

use crate::nb201::ops::avg_pool_3x3;
use crate::nn::{BatchNorm2d, conv, conv_fwd, relu_conv_fwd};
use crate::{Error, Result};

crate::op_table! {
    /// A DARTS candidate op; the names are the original DARTS primitives.
    pub enum Op {
        None => "none",
        MaxPool3x3 => "max_pool_3x3",
        AvgPool3x3 => "avg_pool_3x3",
        Skip => "skip_connect",
        SepConv3x3 => "sep_conv_3x3",
        SepConv5x5 => "sep_conv_5x5",
        DilConv3x3 => "dil_conv_3x3",
        DilConv5x5 => "dil_conv_5x5",
    }
}

/// The original DARTS primitives, in α column order.
pub const PRIMITIVES: [&str; Op::ALL.len()] = Op::NAMES;

impl Op {
    pub fn is_pool(self) -> bool {
        matches!(self, Op::MaxPool3x3 | Op::AvgPool3x3)
    }
}

/// Which ops the search mixes: DARTS' 8, or the 7 of the β-DARTS/SDARTS code (no `none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OpSet {
    Darts,
    #[default]
    BetaDarts,
}

impl OpSet {
    pub fn ops(self) -> Vec<Op> {
        match self {
            OpSet::Darts => Op::ALL.to_vec(),
            OpSet::BetaDarts => Op::ALL[1..].to_vec(),
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        self.ops().into_iter().map(Op::name).collect()
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "darts" => Ok(OpSet::Darts),
            "beta-darts" => Ok(OpSet::BetaDarts),
            _ => Err(Error::Invalid(format!(
                "--ops {s:?}: choose darts (8 ops) or beta-darts (7 ops, no none)"
            ))),
        }
    }
}

/// ReLU → depthwise k×k (dilation d) → pointwise 1×1 → BN.
#[derive(Module, Debug)]
pub struct DilConv {
    pub depthwise: Conv2d,
    pub pointwise: Conv2d,
    pub bn: BatchNorm2d,
}

impl DilConv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        dilation: usize,
        affine: bool,
        device: &Device,
    ) -> Self {
        Self {
            depthwise: conv(c_in, c_in, k, stride, pad, dilation, c_in, device),
            pointwise: conv(c_in, c_out, 1, 1, 0, 1, 1, device),
            bn: BatchNorm2d::new(c_out, affine, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn
            .forward(conv_fwd(&self.pointwise, relu_conv_fwd(&self.depthwise, x)))
    }
}

/// Two DilConv blocks of dilation 1; only the first carries the stride.
#[derive(Module, Debug)]
pub struct SepConv {
    pub first: DilConv,
    pub second: DilConv,
}

impl SepConv {
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        affine: bool,
        device: &Device,
    ) -> Self {
        Self {
            first: DilConv::new(c_in, c_in, k, stride, pad, 1, affine, device),
            second: DilConv::new(c_in, c_out, k, 1, pad, 1, affine, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.second.forward(self.first.forward(x))
    }
}

/// ReLU → two 1×1 stride-2 convs (on x and on x shifted by one pixel) → concat → BN.
#[derive(Module, Debug)]
pub struct FactorizedReduce {
    pub conv_1: Conv2d,
    pub conv_2: Conv2d,
    pub bn: BatchNorm2d,
}

impl FactorizedReduce {
    pub fn new(c_in: usize, c_out: usize, affine: bool, device: &Device) -> Self {
        assert!(
            c_out.is_multiple_of(2),
            "FactorizedReduce needs an even number of output channels"
        );
        Self {
            conv_1: conv(c_in, c_out / 2, 1, 2, 0, 1, 1, device),
            conv_2: conv(c_in, c_out / 2, 1, 2, 0, 1, 1, device),
            bn: BatchNorm2d::new(c_out, affine, device),
        }
    }

    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, C_out, ⌈H/2⌉, ⌈W/2⌉]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(x);
        let a = conv_fwd(&self.conv_1, x.clone());
        // x[:, :, 1:, 1:], padded by one zero row and column at the end: for even sizes the
        // padding is never read (identical to the reference); for odd sizes it makes both
        // branches ⌈H/2⌉ tall, as every other stride-2 op.
        let shifted = x
            .slice(s![.., .., 1.., 1..])
            .pad((0, 1, 0, 1), PadMode::Constant(0.0));
        let b = conv_fwd(&self.conv_2, shifted);
        self.bn.forward(Tensor::cat(vec![a, b], 1))
    }
}

/// The parametric part of an op.
#[derive(Module, Debug)]
pub enum OpBody {
    Sep(SepConv),
    Dil(DilConv),
    Reduce(FactorizedReduce),
}

/// One candidate op on one edge. `bn` is the BN(affine=False) that follows a pool inside the
/// search mixture (absent in evaluation networks).
#[derive(Module, Debug)]
pub struct DartsOp {
    pub op: usize,
    pub stride: usize,
    pub body: Option<OpBody>,
    pub bn: Option<BatchNorm2d>,
}

impl DartsOp {
    /// `search` adds BN after pools (the search MixedOp); `affine` is false in search cells.
    pub fn new(
        op: Op,
        c: usize,
        stride: usize,
        affine: bool,
        search: bool,
        device: &Device,
    ) -> Self {
        let body = match op {
            Op::SepConv3x3 => Some(OpBody::Sep(SepConv::new(
                c, c, 3, stride, 1, affine, device,
            ))),
            Op::SepConv5x5 => Some(OpBody::Sep(SepConv::new(
                c, c, 5, stride, 2, affine, device,
            ))),
            Op::DilConv3x3 => Some(OpBody::Dil(DilConv::new(
                c, c, 3, stride, 2, 2, affine, device,
            ))),
            Op::DilConv5x5 => Some(OpBody::Dil(DilConv::new(
                c, c, 5, stride, 4, 2, affine, device,
            ))),
            Op::Skip if stride == 2 => {
                Some(OpBody::Reduce(FactorizedReduce::new(c, c, affine, device)))
            }
            Op::Skip | Op::None | Op::MaxPool3x3 | Op::AvgPool3x3 => None,
        };
        let bn = (search && op.is_pool()).then(|| BatchNorm2d::new(c, false, device));
        Self {
            op: op as usize,
            stride,
            body,
            bn,
        }
    }

    pub fn kind(&self) -> Op {
        Op::from_index(self.op).unwrap_or_else(|| unreachable!("op {} built from Op", self.op))
    }

    /// The convs of a parametric op (built by [`DartsOp::new`] for exactly those).
    pub fn body(&self) -> &OpBody {
        self.body
            .as_ref()
            .unwrap_or_else(|| unreachable!("{} has its convs", self.kind().name()))
    }

    /// `None` for the `none` op (its output x·0 adds nothing, value or gradient).
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, ⌈H/s⌉, ⌈W/s⌉]`
    pub fn forward(&self, x: Tensor<4>) -> Option<Tensor<4>> {
        let s = self.stride;
        let y = match self.kind() {
            Op::None => return None,
            Op::MaxPool3x3 => crate::kernels::max_pool3(x, s),
            Op::AvgPool3x3 => avg_pool_3x3(x, s),
            // Identity at stride 1, FactorizedReduce at stride 2.
            Op::Skip if self.body.is_none() => x,
            Op::Skip | Op::SepConv3x3 | Op::SepConv5x5 | Op::DilConv3x3 | Op::DilConv5x5 => {
                match self.body() {
                    OpBody::Sep(m) => m.forward(x),
                    OpBody::Dil(m) => m.forward(x),
                    OpBody::Reduce(m) => m.forward(x),
                }
            }
        };
        Some(match &self.bn {
            Some(bn) => bn.forward(y),
            None => y,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn every_op_keeps_or_halves_the_size_for_odd_and_even_inputs() {
        let device = Device::flex();
        for &size in &[7usize, 8] {
            for &stride in &[1usize, 2] {
                let x = Tensor::<4>::random([2, 4, size, size], Distribution::Default, &device);
                for op in Op::ALL {
                    let m = DartsOp::new(op, 4, stride, false, true, &device);
                    let want = size.div_ceil(stride);
                    match m.forward(x.clone()) {
                        None => assert_eq!(op, Op::None),
                        Some(y) => assert_eq!(
                            y.dims(),
                            [2, 4, want, want],
                            "{} s{stride} {size}px",
                            op.name()
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn factorized_reduce_second_branch_sees_the_shifted_image() {
        // With identity-like 1×1 weights, branch 1 samples even pixels, branch 2 odd ones.
        let device = Device::flex();
        let mut fr = FactorizedReduce::new(1, 2, false, &device);
        fr.conv_1.weight = burn::module::Param::from_tensor(Tensor::ones([1, 1, 1, 1], &device));
        fr.conv_2.weight = burn::module::Param::from_tensor(Tensor::ones([1, 1, 1, 1], &device));
        let x: Vec<f32> = (0..16).map(|v| v as f32 + 1.0).collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, [1, 1, 4, 4]), &device);
        let relu_x = relu(x.clone());
        let a = fr
            .conv_1
            .forward(relu_x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let shifted = relu_x
            .slice(s![.., .., 1.., 1..])
            .pad((0, 1, 0, 1), PadMode::Constant(0.0));
        let b = fr
            .conv_2
            .forward(shifted)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a, vec![1.0, 3.0, 9.0, 11.0]);
        assert_eq!(b, vec![6.0, 8.0, 14.0, 16.0]);
        assert_eq!(fr.forward(x).dims(), [1, 2, 2, 2]);
    }

    #[test]
    fn op_sets() {
        assert_eq!(OpSet::Darts.names().len(), 8);
        assert_eq!(OpSet::BetaDarts.names(), PRIMITIVES[1..].to_vec());
        assert!(OpSet::parse("nb201").is_err());
    }
}
