//! The architecture parameters α, kept in their own module so that the α optimizer (Adam) and
//! the weight optimizer (SGD) each step only their own parameters. NB201 has one `[6, 5]`
//! tensor shared by all cells; the DARTS space has `alphas_normal` and `alphas_reduce`.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

#[derive(Module, Debug)]
pub struct ArchParams {
    pub alphas: Vec<Param<Tensor<2>>>,
}

impl ArchParams {
    /// α ~ 1e-3·N(0, 1), as the reference code initialises them.
    pub fn new(shapes: &[[usize; 2]], device: &Device) -> Self {
        let alphas = shapes
            .iter()
            .map(|&s| {
                Param::from_tensor(Tensor::random(s, Distribution::Normal(0.0, 1e-3), device))
            })
            .collect();
        Self { alphas }
    }

    /// From host values (tests, hand-built α).
    pub fn from_values(values: &[(Vec<f32>, [usize; 2])], device: &Device) -> Self {
        let alphas = values
            .iter()
            .map(|(v, s)| {
                Param::from_tensor(Tensor::from_data(TensorData::new(v.clone(), *s), device))
            })
            .collect();
        Self { alphas }
    }

    pub fn tensors(&self) -> Vec<Tensor<2>> {
        self.alphas.iter().map(|p| p.val()).collect()
    }

    /// β = softmax(α / T) per row, for every tensor.
    pub fn betas(&self, temperature: f64) -> Vec<Tensor<2>> {
        self.tensors()
            .into_iter()
            .map(|a| {
                softmax(
                    if temperature == 1.0 {
                        a
                    } else {
                        a / temperature
                    },
                    1,
                )
            })
            .collect()
    }

    /// Host copies: one row-major `Vec<f32>` per tensor.
    pub fn to_host(&self) -> Vec<Vec<f32>> {
        self.tensors()
            .into_iter()
            .map(|t| t.into_data().try_to_vec::<f32>().unwrap_or_default())
            .collect()
    }

    pub fn shapes(&self) -> Vec<[usize; 2]> {
        self.alphas.iter().map(|p| p.val().dims()).collect()
    }
}

/// Row-wise softmax of a host `[rows, k]` matrix (for records and derivation).
pub fn softmax_rows(values: &[f32], k: usize, temperature: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(values.len());
    for row in values.chunks(k) {
        let t = temperature as f32;
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b / t));
        let e: Vec<f32> = row.iter().map(|&v| (v / t - m).exp()).collect();
        let s: f32 = e.iter().sum();
        out.extend(e.iter().map(|v| v / s));
    }
    out
}
