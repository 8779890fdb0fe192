//! β-DARTS search: search spaces, supernets, α regularizers, the bilevel loop and derivation.
//!
//! The method is DARTS (Liu et al., arXiv 1806.09055) with the Beta-Decay regularizer of β-DARTS
//! (Ye et al., CVPR 2022): the α step minimises `CE(val) + λ(epoch)·L_beta(α)` where
//! `L_beta(α) = mean_e logsumexp_k α[e,k]`. Every number follows `shared/spec/betadarts.md`.
//!
//! Model code never names a backend: the [`burn::tensor::Device`] passed in decides
//! (pure-Rust `flex` by default, libtorch with the `tch` feature). See [`device`].

pub mod arch_params;
pub mod bilevel;
pub mod bounds;
pub mod darts;
pub mod data;
pub mod device;
pub mod error;
pub mod guard;
pub mod kernels;
pub mod loss;
pub mod nb201;
pub mod nn;
mod op_table;
pub mod regularizer;
pub mod retrain;
pub mod run_dir;
pub mod schedule;
pub mod space;
pub mod temperature;
#[cfg(test)]
mod testing;
pub mod viz;

pub use betadarts_data::rng;
pub use error::{Error, Result};
