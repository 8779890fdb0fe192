//! The five NB201 ops, in α column order: none, skip_connect, nor_conv_1x1, nor_conv_3x3,
//! avg_pool_3x3 (count_include_pad = False, no BN after the pool).

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::nn::ReluConvBn;

crate::op_table! {
    /// An NB201 candidate operation.
    pub enum Op {
        None => "none",
        Skip => "skip_connect",
        Conv1x1 => "nor_conv_1x1",
        Conv3x3 => "nor_conv_3x3",
        AvgPool3x3 => "avg_pool_3x3",
    }
}

/// One op instance on one edge. Parameter-free ops hold no module.
#[derive(Module, Debug)]
pub struct Nb201Op {
    pub op: usize,
    pub conv: Option<ReluConvBn>,
}

impl Nb201Op {
    pub fn new(op: Op, channels: usize, affine: bool, device: &Device) -> Self {
        let conv = match op {
            Op::Conv1x1 => Some(ReluConvBn::new(
                channels, channels, 1, 1, 0, 1, affine, device,
            )),
            Op::Conv3x3 => Some(ReluConvBn::new(
                channels, channels, 3, 1, 1, 1, affine, device,
            )),
            Op::None | Op::Skip | Op::AvgPool3x3 => None,
        };
        Self {
            op: op.index(),
            conv,
        }
    }

    pub fn kind(&self) -> Op {
        Op::from_index(self.op).unwrap_or_else(|| unreachable!("op {} built from Op", self.op))
    }

    /// The ReLU-Conv-BN of a conv op (built by [`Nb201Op::new`] for exactly those).
    pub fn conv(&self) -> &ReluConvBn {
        self.conv
            .as_ref()
            .unwrap_or_else(|| unreachable!("{} has its conv", self.kind().name()))
    }

    /// `None` for the `none` op: it contributes exactly zero (value and gradient), so the
    /// caller skips it instead of multiplying a tensor by 0.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Option<Tensor<4>> {
        match self.kind() {
            Op::None => None,
            Op::Skip => Some(x),
            Op::Conv1x1 | Op::Conv3x3 => Some(self.conv().forward(x)),
            Op::AvgPool3x3 => Some(avg_pool_3x3(x, 1)),
        }
    }
}

/// 3×3 average pool, padding 1, padded cells excluded from the mean (the fused kernel).
pub fn avg_pool_3x3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    crate::kernels::avg_pool3(x, stride)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn avg_pool_excludes_padding() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 1, 3, 3], &device);
        // With count_include_pad = false a constant image stays constant, corners included.
        let y = avg_pool_3x3(x, 1).into_data();
        y.assert_approx_eq::<f32>(&TensorData::from([[[[1.0f32; 3]; 3]]]), Default::default());
    }

    #[test]
    fn names_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("sep_conv_3x3"), None);
    }
}
