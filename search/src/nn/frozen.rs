//! A view of a module whose parameters take no gradient, leaving the module itself untouched.
//! (`Module::no_grad` on a clone changes the shared parameters too, which would freeze the
//! real network.)

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;

struct Detach;

impl ModuleMapper for Detach {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        Param::initialized(param.id, param.val().detach().set_require_grad(false))
    }
}

/// `module` with every float parameter detached; running statistics stay shared.
pub fn frozen<M: Module + Clone>(module: &M) -> M {
    module.clone().map(&mut Detach)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::Device;

    #[test]
    fn frozen_copy_takes_no_gradient_and_the_original_still_does() {
        let device = Device::flex().autodiff();
        let lin = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::ones([1, 3], &device).require_grad();
        let f = frozen(&lin);
        assert!(!f.weight.val().is_require_grad() && lin.weight.val().is_require_grad());
        let grads = f.forward(x.clone()).sum().backward();
        assert!(f.weight.val().grad(&grads).is_none());
        assert!(
            x.grad(&grads).is_some(),
            "gradient still flows to the input"
        );
        let grads = lin.forward(x).sum().backward();
        assert!(lin.weight.val().grad(&grads).is_some());
    }
}
