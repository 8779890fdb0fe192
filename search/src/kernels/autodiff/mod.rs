//! [`Fused`] under burn's autodiff: each call is one graph node whose backward calls the
//! [`FusedGrad`] half of the backend beneath. A node has a fixed number of parents in burn, so
//! [`Fused::fused_mix`] and [`Fused::fused_batch_norm`] pick the node type by their arity.

use burn::backend::Backend;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::ops::{Backward, NodeGuard, OpsKind};
use burn::backend::tensor::FloatTensor;

use super::{Fused, FusedGrad, GammaLayout, Geometry, MixSpec};

mod backward;

use backward::{ConvBackward, MaxPoolBackward, MixBackward, NormBackward, NormState, PoolBackward};

/// burn-autodiff's tensor primitive (its own type is not exported; this alias names it).
type AutodiffTensor<B> = FloatTensor<Autodiff<B>>;

/// Most terms one mix node takes; longer mixes are split into partial sums.
const MAX_TERMS: usize = 15;

fn guards<B: Backend, const N: usize>(tensors: &[&AutodiffTensor<B>]) -> [NodeGuard; N] {
    let v: Vec<NodeGuard> = tensors.iter().map(|t| t.node()).collect();
    v.try_into()
        .unwrap_or_else(|_| unreachable!("arity chosen from the input count"))
}

fn norm_node<B: Fused + FusedGrad, C: CheckpointStrategy, const N: usize>(
    x: AutodiffTensor<B>,
    gamma: Option<(AutodiffTensor<B>, GammaLayout)>,
    beta: Option<AutodiffTensor<B>>,
    epsilon: f64,
) -> (AutodiffTensor<B>, AutodiffTensor<B>, AutodiffTensor<B>) {
    let inputs: Vec<&AutodiffTensor<B>> = std::iter::once(&x)
        .chain(gamma.as_ref().map(|(g, _)| g))
        .chain(beta.as_ref())
        .collect();
    let prep = NormBackward
        .prepare::<C>(guards::<B, N>(&inputs))
        .compute_bound()
        .stateful();
    let has_beta = beta.is_some();
    let xp = x.into_primitive();
    let gp = gamma.map(|(g, l)| (g.into_primitive(), l));
    let (y, mean, invstd) = B::fused_batch_norm(
        xp.clone(),
        gp.clone(),
        beta.map(AutodiffTensor::into_primitive),
        epsilon,
    );
    let stats = (
        AutodiffTensor::new(mean.clone()),
        AutodiffTensor::new(invstd.clone()),
    );
    let out = match prep {
        OpsKind::Tracked(prep) => {
            let state = NormState {
                x: xp,
                gamma: gp,
                mean,
                invstd,
                has_beta,
            };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    (out, stats.0, stats.1)
}

fn mix_node<B: Fused + FusedGrad, C: CheckpointStrategy, const N: usize>(
    terms: Vec<AutodiffTensor<B>>,
    weights: AutodiffTensor<B>,
    spec: MixSpec,
) -> AutodiffTensor<B> {
    let inputs: Vec<&AutodiffTensor<B>> = terms.iter().chain([&weights]).collect();
    let prep = MixBackward
        .prepare::<C>(guards::<B, N>(&inputs))
        .compute_bound()
        .stateful();
    let prims: Vec<_> = terms
        .into_iter()
        .map(AutodiffTensor::into_primitive)
        .collect();
    let w = weights.into_primitive();
    let y = B::fused_mix(prims.clone(), w.clone(), spec.clone());
    match prep {
        OpsKind::Tracked(prep) => prep.finish((prims, w, spec), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

fn conv_node<B: Fused + FusedGrad, C: CheckpointStrategy>(
    x: AutodiffTensor<B>,
    weight: AutodiffTensor<B>,
    g: Geometry,
    depthwise: bool,
) -> AutodiffTensor<B> {
    let prep = ConvBackward
        .prepare::<C>([x.node(), weight.node()])
        .compute_bound()
        .stateful();
    let (xp, wp) = (x.into_primitive(), weight.into_primitive());
    let y = if depthwise {
        B::fused_depthwise(xp.clone(), wp.clone(), g)
    } else {
        B::fused_conv2d(xp.clone(), wp.clone(), g)
    };
    match prep {
        OpsKind::Tracked(prep) => prep.finish((xp, wp, g, depthwise), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

/// Calls `$f::<N>` with N = `$n` + 1 for `$n` in 1..=MAX_TERMS.
macro_rules! by_arity {
    ($n:expr, $f:ident, $($arg:expr),*) => {
        match $n {
            1 => $f::<B, C, 2>($($arg),*),
            2 => $f::<B, C, 3>($($arg),*),
            3 => $f::<B, C, 4>($($arg),*),
            4 => $f::<B, C, 5>($($arg),*),
            5 => $f::<B, C, 6>($($arg),*),
            6 => $f::<B, C, 7>($($arg),*),
            7 => $f::<B, C, 8>($($arg),*),
            8 => $f::<B, C, 9>($($arg),*),
            9 => $f::<B, C, 10>($($arg),*),
            10 => $f::<B, C, 11>($($arg),*),
            11 => $f::<B, C, 12>($($arg),*),
            12 => $f::<B, C, 13>($($arg),*),
            13 => $f::<B, C, 14>($($arg),*),
            14 => $f::<B, C, 15>($($arg),*),
            _ => $f::<B, C, 16>($($arg),*),
        }
    };
}

impl<B: Fused + FusedGrad, C: CheckpointStrategy> Fused for Autodiff<B, C> {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        g: Geometry,
    ) -> FloatTensor<Self> {
        conv_node::<B, C>(x, weight, g, false)
    }

    fn fused_depthwise(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        g: Geometry,
    ) -> FloatTensor<Self> {
        conv_node::<B, C>(x, weight, g, true)
    }

    fn fused_max_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let prep = MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let xp = x.into_primitive();
        let y = B::fused_max_pool3(xp.clone(), stride);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((xp, stride), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn fused_avg_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let shape = x.primitive().shape();
        let hw = [shape[2], shape[3]];
        let prep = PoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let y = B::fused_avg_pool3(x.into_primitive(), stride);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((hw, stride), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        beta: Option<FloatTensor<Self>>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match (gamma.is_some(), beta.is_some()) {
            (false, false) => norm_node::<B, C, 1>(x, gamma, beta, epsilon),
            (true, true) => norm_node::<B, C, 3>(x, gamma, beta, epsilon),
            _ => norm_node::<B, C, 2>(x, gamma, beta, epsilon),
        }
    }

    fn fused_mix(
        terms: Vec<FloatTensor<Self>>,
        weights: FloatTensor<Self>,
        spec: MixSpec,
    ) -> FloatTensor<Self> {
        if terms.len() <= MAX_TERMS {
            return by_arity!(terms.len(), mix_node, terms, weights, spec);
        }
        // Too many parents for one node: sum the first MAX_TERMS, then mix that partial sum
        // (weight 1, whole tensor) with the rest.
        let mut terms = terms;
        let rest = terms.split_off(MAX_TERMS);
        let head = MixSpec {
            channels: spec.channels,
            offsets: spec.offsets[..MAX_TERMS].to_vec(),
            weights: spec.weights[..MAX_TERMS].to_vec(),
        };
        let partial = Self::fused_mix(terms, weights.clone(), head);
        let tail = MixSpec {
            channels: spec.channels,
            offsets: std::iter::once(0)
                .chain(spec.offsets[MAX_TERMS..].iter().copied())
                .collect(),
            weights: std::iter::once(None)
                .chain(spec.weights[MAX_TERMS..].iter().copied())
                .collect(),
        };
        Self::fused_mix(
            std::iter::once(partial).chain(rest).collect(),
            weights,
            tail,
        )
    }
}
