//! Trainable-parameter count as PyTorch reports it: running BN statistics are state, not
//! parameters (burn visits them like parameters, so they are skipped by name here).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

struct Counter {
    path: Vec<String>,
    total: usize,
}

impl ModuleVisitor for Counter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let is_state = self.path.iter().any(|p| p.starts_with("running_"));
        if !is_state {
            self.total += param.lazy_shape().num_elements();
        }
    }
}

/// Number of trainable scalars in `module`.
pub fn count_params<M: Module>(module: &M) -> usize {
    let mut c = Counter {
        path: Vec::new(),
        total: 0,
    };
    module.visit(&mut c);
    c.total
}
