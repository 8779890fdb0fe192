//! The inner loops of betadarts' own tract ops (1×1 convolution, depthwise convolution and
//! pooling in register tiles, strided copies, QDQ activations' 8-bit round trip), in a crate of
//! their own: no dependencies, and compiled at full speed even in the size-optimised
//! `device-min` build (Cargo's per-package opt-level). The tract ops around them are in `betadarts-deploy` (`pointwise.rs`,
//! `depthwise.rs`, `pool.rs`, `subsample.rs`, `quant_pair.rs`).

pub mod depthwise;
#[cfg(test)]
mod depthwise_tests;
mod point_tiles;
pub mod pointwise;
#[cfg(test)]
mod pointwise_tests;
pub mod quant;
pub mod strided;
mod tiles;
