//! Global gradient-norm clipping over a whole module, as `torch.nn.utils.clip_grad_norm_`
//! (burn's own clipping works per parameter tensor, which is not what DARTS does), computed on
//! the device: one square-sum over all gradients concatenated, the coefficient
//! `min(1, max/(norm + 1e-6))` applied as a tensor, no host round trip.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct Flattened<'a> {
    grads: &'a GradientsParams,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for Flattened<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let n = g.shape().num_elements();
            self.parts.push(g.reshape([n]));
        }
    }
}

struct Ids(Vec<(ParamId, usize)>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

/// L2 norm (`[1]`) of the gradients of `module`'s parameters together with `extra` (gradients
/// outside the module that the reference includes), or `None` when there are none.
pub fn grad_norm<M: Module>(
    module: &M,
    grads: &GradientsParams,
    extra: &[Tensor<1>],
) -> Option<Tensor<1>> {
    let mut v = Flattened {
        grads,
        parts: extra.to_vec(),
    };
    module.visit(&mut v);
    if v.parts.is_empty() {
        return None;
    }
    Some(Tensor::cat(v.parts, 0).square().sum().sqrt())
}

/// Scales the gradients in place so that their global norm (with `extra`, see [`grad_norm`])
/// is at most `max_norm`; returns the norm before clipping, still on the device.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
    extra: &[Tensor<1>],
) -> Option<Tensor<1>> {
    let norm = grad_norm(module, grads, extra)?;
    // PyTorch's coefficient, clamped at 1 and always applied (×1 leaves gradients as they are).
    let coef = ((norm.clone() + 1e-6).recip() * max_norm).clamp_max(1.0);
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    for (id, dim) in ids.0 {
        match dim {
            1 => rescale::<1>(grads, id, &coef),
            2 => rescale::<2>(grads, id, &coef),
            3 => rescale::<3>(grads, id, &coef),
            4 => rescale::<4>(grads, id, &coef),
            _ => {}
        }
    }
    Some(norm)
}

fn rescale<const D: usize>(grads: &mut GradientsParams, id: ParamId, coef: &Tensor<1>) {
    if let Some(g) = grads.remove::<D>(id) {
        let c = coef.clone().reshape([1; D]);
        grads.register::<D>(id, g * c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::Device;

    #[test]
    fn clips_to_the_global_norm_and_leaves_small_gradients_alone() {
        let device = Device::flex().autodiff();
        let lin = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::ones([4, 3], &device) * 10.0;
        let grads = lin.forward(x.clone()).sum().backward();
        let mut g = GradientsParams::from_grads(grads, &lin);
        // By hand: dW = 40 everywhere (3×2), db = 4 (2): norm = √(6·1600 + 2·16).
        let want = (6.0f64 * 1600.0 + 2.0 * 16.0).sqrt();
        let extra = [Tensor::<1>::from_floats([3.0f32], &device)];
        let norm = clip_grad_norm(&lin, &mut g, 5.0, &extra)
            .unwrap()
            .into_scalar::<f32>() as f64;
        let want_with_extra = (want * want + 9.0).sqrt();
        assert!((norm - want_with_extra).abs() < 1e-3);
        let after = grad_norm(&lin, &g, &[]).unwrap().into_scalar::<f32>() as f64;
        assert!(
            (after - 5.0 * want / (want_with_extra + 1e-6)).abs() < 1e-3,
            "{after}"
        );
        // Below the threshold (norm ≈ 98 < 100): unchanged.
        let grads = lin.forward(x.clone()).sum().backward();
        let mut g = GradientsParams::from_grads(grads, &lin);
        let before = grad_norm(&lin, &g, &[]).unwrap().into_scalar::<f32>();
        clip_grad_norm(&lin, &mut g, 100.0, &[]);
        let after = grad_norm(&lin, &g, &[]).unwrap().into_scalar::<f32>();
        assert_eq!(before, after);
    }
}
