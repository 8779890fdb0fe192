//! Fused operations the supernets are built from, each one backend operation with a
//! hand-written backward instead of burn's composition of small operations:
//!
//! | op | forward | backward |
//! |---|---|---|
//! | [`avg_pool3`] | 3×3 mean, padding 1, padded cells excluded | box filter of grad/count |
//! | [`max_pool3`] | 3×3 maximum, padding 1, separable | grad to each window's winner, recomputed from x |
//! | [`batch_norm`] | batch statistics, optional γ/β, γ optionally gathered from mixing weights | two per-channel sums, one pass |
//! | [`mix`] | `Σ_m w_m·t_m[channel block]` | `w_m·g` per term, `Σ g·t_m` per weight |
//! | [`conv2d`] | im2col + matrix products per image (and group) | two products (+ col2im), dW only when wanted |
//! | [`depthwise`] | per tap a shifted row × a scalar; several filters per channel (edge-major) | the same loops transposed; per-filter dot products |
//!
//! [`Fused`] (forward) and [`FusedGrad`] (backward) are the table: flex runs them as the
//! slice kernels of [`cpu`], libtorch as native torch calls, [`autodiff`] records one graph
//! node per call, and [`route`] sends each call to the backend its tensors live on (any other
//! backend gets [`reference`], the same maths in burn's own operations, which the tests also
//! use as the oracle). Why: a search step was ~27k tensor operations, and per-operation cost
//! (host time on CPU, a launch on GPU) dominated it.

pub mod autodiff;
pub mod cpu;
mod flex;
#[cfg(feature = "tch")]
mod libtorch;
pub mod reference;
mod route;

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Tensor;

pub use cpu::conv::Geometry;

/// Where each term of a [`mix`] reads from and which weight scales it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixSpec {
    /// Output channels C.
    pub channels: usize,
    /// Per term: first channel of its block in the term's tensor.
    pub offsets: Vec<usize>,
    /// Per term: index into the flat weight vector, or `None` for weight 1.
    pub weights: Vec<Option<usize>>,
}

/// γ of a [`batch_norm`]: per channel, or gathered per channel block from flat weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GammaLayout {
    /// `γ[c]`, one value per channel.
    PerChannel,
    /// Channel `c` of `blocks.len()` equal blocks takes `γ[blocks[c / block]]`.
    Blocks(Vec<usize>),
}

/// The fused forward operations, per backend.
pub trait Fused: Backend {
    /// Bias-free 2-D convolution (groups 1) of `[N, Ci, H, W]` with `[Co, Ci, kh, kw]`.
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;

    /// Depthwise convolution of `[N, C, H, W]` with `[m·C, 1, kh, kw]`: output channel `o`
    /// filters input channel `o mod C` (m filters per channel, edge-major).
    fn fused_depthwise(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;

    /// 3×3 average pool, padding 1, `count_include_pad = false`, at `stride`.
    fn fused_avg_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self>;

    /// 3×3 max pool, padding 1 (padding never wins), at `stride`.
    fn fused_max_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self>;

    /// Batch norm with batch statistics over `[N, C, H, W]`: `(y, mean, invstd)`.
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        beta: Option<FloatTensor<Self>>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// `y[:, c] = Σ_m w[spec.weights[m]]·terms[m][:, spec.offsets[m] + c]`, `c < spec.channels`.
    fn fused_mix(
        terms: Vec<FloatTensor<Self>>,
        weights: FloatTensor<Self>,
        spec: MixSpec,
    ) -> FloatTensor<Self>;
}

/// The backward halves, called by [`autodiff`] on the backend under it.
pub trait FusedGrad: Backend {
    /// `(dx, dW)` of [`Fused::fused_conv2d`], each only when asked for.
    fn fused_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: Geometry,
        need_x: bool,
        need_weight: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>);

    /// `(dx, dW)` of [`Fused::fused_depthwise`], each only when asked for.
    fn fused_depthwise_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: Geometry,
        need_x: bool,
        need_weight: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>);

    /// Input gradient of [`Fused::fused_max_pool3`]: `grad` to each window's first maximum.
    fn fused_max_pool3_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;

    /// Input gradient of [`Fused::fused_avg_pool3`] for an input of spatial size `hw`.
    fn fused_avg_pool3_backward(
        grad: FloatTensor<Self>,
        hw: [usize; 2],
        stride: usize,
    ) -> FloatTensor<Self>;

    /// `(dx, dγ, dβ)` of [`Fused::fused_batch_norm`]; dγ has γ's shape (block gradients
    /// folded into the flat weights), dβ is per channel.
    fn fused_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        mean: FloatTensor<Self>,
        invstd: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
    );

    /// Per term the gradient of its whole tensor (when `needs[m]`), and the gradient of the
    /// flat weight vector (when `need_weights`).
    fn fused_mix_backward(
        terms: &[FloatTensor<Self>],
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: &MixSpec,
        needs: &[bool],
        need_weights: bool,
    ) -> (Vec<Option<FloatTensor<Self>>>, Option<FloatTensor<Self>>);
}

/// Bias-free 2-D convolution with symmetric padding, groups 1.
///
/// # Shapes
/// `x: [N, Ci, H, W]`, `weight: [Co, Ci, kh, kw]` → `[N, Co, Ho, Wo]`
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, geometry: Geometry) -> Tensor<4> {
    // The ReLU is fused into the depthwise kernels only; here it is its own operation.
    if geometry.relu_input {
        let g = Geometry {
            relu_input: false,
            ..geometry
        };
        return route::conv2d(burn::tensor::activation::relu(x), weight, g);
    }
    route::conv2d(x, weight, geometry)
}

/// Depthwise convolution with m filters per input channel (`weight: [m·C, 1, kh, kw]`; output
/// channel `e·C + c` is filter `e` of channel `c`), of `relu(x)` when `geometry.relu_input`
/// (fused). `geometry.groups` is ignored.
///
/// # Shapes
/// `x: [N, C, H, W]` → `[N, m·C, Ho, Wo]`
pub fn depthwise(x: Tensor<4>, weight: Tensor<4>, geometry: Geometry) -> Tensor<4> {
    route::depthwise(x, weight, geometry)
}

/// 3×3 average pool, padding 1, padded cells excluded (NB201's and DARTS' `avg_pool_3x3`).
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, ⌈H/s⌉, ⌈W/s⌉]`
pub fn avg_pool3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    route::avg_pool3(x, stride)
}

/// 3×3 max pool, padding 1 (DARTS' `max_pool_3x3`).
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, ⌈H/s⌉, ⌈W/s⌉]`
pub fn max_pool3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    route::max_pool3(x, stride)
}

/// Output of [`batch_norm`]: the normalised tensor and the batch statistics it used.
pub struct Normalized {
    pub output: Tensor<4>,
    pub mean: Tensor<1>,
    pub invstd: Tensor<1>,
}

impl Normalized {
    /// Biased batch variance, from `invstd = 1/√(var + ε)`.
    pub fn variance(&self, epsilon: f64) -> Tensor<1> {
        self.invstd.clone().powf_scalar(-2.0) - epsilon
    }
}

/// Batch norm with batch statistics (ε inside the square root, biased variance, as PyTorch).
///
/// # Shapes
/// `x: [N, C, H, W]`, `gamma`: `[C]` (or flat weights with [`GammaLayout::Blocks`]), `beta`:
/// `[C]` → `[N, C, H, W]`
pub fn batch_norm(
    x: Tensor<4>,
    gamma: Option<(Tensor<1>, GammaLayout)>,
    beta: Option<Tensor<1>>,
    epsilon: f64,
) -> Normalized {
    route::batch_norm(x, gamma, beta, epsilon)
}

/// Weighted sum of channel blocks (see [`MixSpec`]); `weights` is a flat vector.
///
/// # Shapes
/// `terms[m]: [N, C_m, H, W]`, `weights: [K]` → `[N, spec.channels, H, W]`
pub fn mix(terms: Vec<Tensor<4>>, weights: Tensor<1>, spec: MixSpec) -> Tensor<4> {
    assert!(
        !terms.is_empty() && terms.len() == spec.offsets.len() && terms.len() == spec.weights.len(),
        "mix: one offset and one weight index per term"
    );
    route::mix(terms, weights, spec)
}

#[cfg(test)]
mod tests;
