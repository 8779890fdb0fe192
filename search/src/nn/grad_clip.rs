//! Global gradient-norm clipping over a whole module, as `torch.nn.utils.clip_grad_norm_`
//! (burn's own clipping works per parameter tensor, which is not what DARTS does).

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredSum<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

struct Ids(Vec<(ParamId, usize)>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

/// Squared L2 norm of the gradients of `module`'s parameters, as a 1-element tensor
/// (no host sync), or `None` when there are no gradients.
pub fn grad_norm_squared<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut v = SquaredSum { grads, sum: None };
    module.visit(&mut v);
    v.sum
}

/// Scales the gradients in place so that their global norm (together with `extra_sq`, the
/// squared norm of gradients outside the module that the reference includes) is at most
/// `max_norm`. Returns the norm before clipping.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
    extra_sq: Option<Tensor<1>>,
) -> f64 {
    let sq = match (grad_norm_squared(module, grads), extra_sq) {
        (Some(a), Some(b)) => a + b,
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return 0.0,
    };
    let norm = (sq.into_scalar::<f32>() as f64).sqrt();
    // Same coefficient as PyTorch: max_norm / (norm + 1e-6), applied only when below 1.
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let mut ids = Ids(Vec::new());
        module.visit(&mut ids);
        for (id, dim) in ids.0 {
            match dim {
                1 => rescale::<1>(grads, id, coef),
                2 => rescale::<2>(grads, id, coef),
                3 => rescale::<3>(grads, id, coef),
                4 => rescale::<4>(grads, id, coef),
                _ => {}
            }
        }
    }
    norm
}

fn rescale<const D: usize>(grads: &mut GradientsParams, id: ParamId, coef: f64) {
    if let Some(g) = grads.remove::<D>(id) {
        grads.register::<D>(id, g * coef);
    }
}
