//! Building blocks shared by every space: batch norm with an optional affine part, the
//! ReLU→Conv→BN unit, parameter counting and global gradient-norm clipping.

mod batch_norm;
mod depthwise;
mod frozen;
mod grad_clip;
mod lazy_init;
mod madds;
mod mixing;
mod param_count;
mod relu_conv_bn;

pub use batch_norm::BatchNorm2d;
pub use depthwise::{depthwise_conv2d, depthwise_forward, is_depthwise};
pub use frozen::frozen;
pub use grad_clip::clip_grad_norm;
pub use lazy_init::draw_now;
pub use madds::{conv_fwd, count_madds, linear_fwd, relu_conv_fwd};
pub use mixing::{EdgeWeights, slice_weights};
pub use param_count::count_params;
pub use relu_conv_bn::{ReluConvBn, conv};
