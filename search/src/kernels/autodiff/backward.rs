//! The backward halves of the fused nodes: each calls the [`FusedGrad`] kernel of the backend
//! beneath and registers the parents' gradients.

use burn::backend::Backend;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, unary};

use super::super::{FusedGrad, GammaLayout, Geometry, MixSpec};

/// Convolution node with parents `[x, weight]`; the state's flag picks the depthwise kernel.
#[derive(Debug)]
pub(super) struct ConvBackward;

impl<B: Backend + FusedGrad> Backward<B, 2> for ConvBackward {
    type State = (
        B::FloatTensorPrimitive,
        B::FloatTensorPrimitive,
        Geometry,
        bool,
    );

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, w, g, depthwise) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [px, pw] = ops.parents;
        let (nx, nw) = (px.is_some(), pw.is_some());
        let (dx, dw) = if depthwise {
            B::fused_depthwise_backward(x, w, grad, g, nx, nw)
        } else {
            B::fused_conv2d_backward(x, w, grad, g, nx, nw)
        };
        if let (Some(node), Some(d)) = (px, dx) {
            grads.register::<B>(node.id, d);
        }
        if let (Some(node), Some(d)) = (pw, dw) {
            grads.register::<B>(node.id, d);
        }
    }
}

#[derive(Debug)]
pub(super) struct MaxPoolBackward;

impl<B: Backend + FusedGrad> Backward<B, 1> for MaxPoolBackward {
    type State = (B::FloatTensorPrimitive, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, stride) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |g| {
            B::fused_max_pool3_backward(x, g, stride)
        });
    }
}

#[derive(Debug)]
pub(super) struct PoolBackward;

impl<B: Backend + FusedGrad> Backward<B, 1> for PoolBackward {
    type State = ([usize; 2], usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (hw, stride) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |g| {
            B::fused_avg_pool3_backward(g, hw, stride)
        });
    }
}

/// Batch norm node with parents `[x, γ?, β?]` (N = 1 + present parameters).
#[derive(Debug)]
pub(super) struct NormBackward;

#[derive(Debug, Clone)]
pub(super) struct NormState<T> {
    pub(super) x: T,
    pub(super) gamma: Option<(T, GammaLayout)>,
    pub(super) mean: T,
    pub(super) invstd: T,
    pub(super) has_beta: bool,
}

impl<B: Backend + FusedGrad, const N: usize> Backward<B, N> for NormBackward {
    type State = NormState<B::FloatTensorPrimitive>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let s = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let has_gamma = s.gamma.is_some();
        let (dx, dgamma, dbeta) =
            B::fused_batch_norm_backward(s.x, s.gamma, s.mean, s.invstd, grad);
        let mut parents = ops.parents.into_iter();
        if let Some(Some(node)) = parents.next() {
            grads.register::<B>(node.id, dx);
        }
        if has_gamma
            && let Some(Some(node)) = parents.next()
            && let Some(dg) = dgamma
        {
            grads.register::<B>(node.id, dg);
        }
        if s.has_beta
            && let Some(Some(node)) = parents.next()
        {
            grads.register::<B>(node.id, dbeta);
        }
    }
}

/// Mix node with parents `[terms…, weights]`.
#[derive(Debug)]
pub(super) struct MixBackward;

impl<B: Backend + FusedGrad, const N: usize> Backward<B, N> for MixBackward {
    type State = (
        Vec<B::FloatTensorPrimitive>,
        B::FloatTensorPrimitive,
        MixSpec,
    );

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (terms, weights, spec) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parents @ .., weight_parent] = &ops.parents[..] else {
            return;
        };
        let needs: Vec<bool> = parents.iter().map(Option::is_some).collect();
        let (dterms, dweights) = B::fused_mix_backward(
            &terms,
            weights,
            grad,
            &spec,
            &needs,
            weight_parent.is_some(),
        );
        for (node, d) in parents.iter().zip(dterms) {
            if let (Some(node), Some(d)) = (node, d) {
                grads.register::<B>(node.id, d);
            }
        }
        if let (Some(node), Some(d)) = (weight_parent, dweights) {
            grads.register::<B>(node.id, d);
        }
    }
}
