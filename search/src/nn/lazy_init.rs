//! burn draws a layer's initial weights lazily, on the parameter's first use. Models that are
//! rebuilt from another (the batched supernets from the per-edge ones) draw them first, in
//! module order, so that a seed keeps meaning the same network.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

struct Draw;

impl ModuleVisitor for Draw {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Initialises every lazily initialised parameter of `module` now, in module order.
pub fn draw_now<M: Module>(module: &M) {
    module.visit(&mut Draw);
}
