//! Sends a fused op to the backend its tensors live on: flex or libtorch, with or without
//! autodiff (either checkpointing strategy). Tensors of any other backend, or of several
//! backends at once, take [`super::reference`].
// burn marks burn-tch deprecated; it is still the libtorch path.
#![cfg_attr(feature = "tch", allow(deprecated))]

use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, DispatchAutodiffContext, DispatchKindConversion, DispatchTensor,
    DispatchTensorKind, Flex, GradientCheckpointingStrategy,
};
use burn::tensor::Tensor;

use super::{Fused, GammaLayout, Geometry, MixSpec, Normalized, reference};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Flex,
    #[cfg(feature = "tch")]
    LibTorch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Plain(Engine),
    Autodiff(Engine, bool), // bool: balanced checkpointing
    Other,
}

fn route_of<const D: usize>(t: &Tensor<D>) -> Route {
    if reference::forced() {
        return Route::Other;
    }
    let d = t.clone().into_dispatch();
    let kind = match &d.kind {
        DispatchTensorKind::Autodiff(inner) => &**inner,
        k => k,
    };
    #[allow(unreachable_patterns)] // one arm per backend compiled in
    let engine = match kind {
        DispatchTensorKind::Flex(_) => Engine::Flex,
        #[cfg(feature = "tch")]
        DispatchTensorKind::LibTorch(_) => Engine::LibTorch,
        _ => return Route::Other,
    };
    match d.autodiff {
        DispatchAutodiffContext::Disabled => Route::Plain(engine),
        DispatchAutodiffContext::Enabled(s) => {
            Route::Autodiff(engine, s == GradientCheckpointingStrategy::Balanced)
        }
    }
}

/// The route shared by all `tensors`, or `Other` when they differ.
fn common<'a, const D: usize>(
    first: Route,
    rest: impl IntoIterator<Item = &'a Tensor<D>>,
) -> Route {
    if rest.into_iter().all(|t| route_of(t) == first) {
        first
    } else {
        Route::Other
    }
}

fn prim<B: Backend, const D: usize>(t: Tensor<D>) -> FloatTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    t.try_into_primitive::<B>()
        .unwrap_or_else(|e| unreachable!("route checked the backend: {e:?}"))
}

fn wrap<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<D>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    Tensor::from_primitive::<B>(p)
}

/// Runs `$body` with the type `$B` bound to the backend of `$route`, or `$other`.
macro_rules! on_backend {
    ($route:expr, $B:ident => $body:expr, other => $other:expr) => {
        match $route {
            Route::Plain(Engine::Flex) => {
                type $B = Flex;
                $body
            }
            Route::Autodiff(Engine::Flex, false) => {
                type $B = Autodiff<Flex, NoCheckpointing>;
                $body
            }
            Route::Autodiff(Engine::Flex, true) => {
                type $B = Autodiff<Flex, BalancedCheckpointing>;
                $body
            }
            #[cfg(feature = "tch")]
            Route::Plain(Engine::LibTorch) => {
                type $B = burn::backend::LibTorch;
                $body
            }
            #[cfg(feature = "tch")]
            Route::Autodiff(Engine::LibTorch, false) => {
                type $B = Autodiff<burn::backend::LibTorch, NoCheckpointing>;
                $body
            }
            #[cfg(feature = "tch")]
            Route::Autodiff(Engine::LibTorch, true) => {
                type $B = Autodiff<burn::backend::LibTorch, BalancedCheckpointing>;
                $body
            }
            Route::Other => $other,
        }
    };
}

pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, g: Geometry) -> Tensor<4> {
    let first = route_of(&x);
    on_backend!(common(first, [&weight]), B => {
        wrap::<B, 4>(B::fused_conv2d(prim::<B, 4>(x), prim::<B, 4>(weight), g))
    }, other => reference::conv2d(x, weight, g))
}

pub fn depthwise(x: Tensor<4>, weight: Tensor<4>, g: Geometry) -> Tensor<4> {
    let first = route_of(&x);
    on_backend!(common(first, [&weight]), B => {
        wrap::<B, 4>(B::fused_depthwise(prim::<B, 4>(x), prim::<B, 4>(weight), g))
    }, other => reference::depthwise(x, weight, g))
}

pub fn max_pool3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    on_backend!(route_of(&x), B => wrap::<B, 4>(B::fused_max_pool3(prim::<B, 4>(x), stride)),
        other => reference::max_pool3(x, stride))
}

pub fn avg_pool3(x: Tensor<4>, stride: usize) -> Tensor<4> {
    on_backend!(route_of(&x), B => wrap::<B, 4>(B::fused_avg_pool3(prim::<B, 4>(x), stride)),
        other => reference::avg_pool3(x, stride))
}

pub fn batch_norm(
    x: Tensor<4>,
    gamma: Option<(Tensor<1>, GammaLayout)>,
    beta: Option<Tensor<1>>,
    epsilon: f64,
) -> Normalized {
    let first = route_of(&x);
    let params = gamma.iter().map(|(g, _)| g).chain(beta.iter());
    on_backend!(common(first, params), B => {
        let (y, mean, invstd) = B::fused_batch_norm(
            prim::<B, 4>(x),
            gamma.map(|(g, l)| (prim::<B, 1>(g), l)),
            beta.map(prim::<B, 1>),
            epsilon,
        );
        Normalized { output: wrap::<B, 4>(y), mean: wrap::<B, 1>(mean), invstd: wrap::<B, 1>(invstd) }
    }, other => reference::batch_norm(x, gamma, beta, epsilon))
}

pub fn mix(terms: Vec<Tensor<4>>, weights: Tensor<1>, spec: MixSpec) -> Tensor<4> {
    let first = route_of(&terms[0]);
    let same = common(first, terms.iter());
    let route = if same != Route::Other && route_of(&weights) == first {
        first
    } else {
        Route::Other
    };
    on_backend!(route, B => {
        let prims = terms.into_iter().map(prim::<B, 4>).collect();
        wrap::<B, 4>(B::fused_mix(prims, prim::<B, 1>(weights), spec))
    }, other => reference::mix(terms, weights, &spec))
}
