//! The DARTS (NASNet-like) space (Liu et al., arXiv 1806.09055; spec §4): eight ops on the 14
//! edges of a cell with two inputs and four intermediate nodes, normal and reduction cells with
//! their own α, and genotypes (the discrete cells) as data.

mod batched_cell;
mod batched_supernet;
mod cell;
mod derive;
mod genotype;
pub mod ops;
mod perturb;
mod supernet;

pub use batched_cell::{BatchedCell, SourceOps, StackedConv};
pub use batched_supernet::BatchedSupernet;
pub(crate) use cell::node_or_zeros;
pub use cell::{MixedOp, Preprocess, SearchCell};
pub use derive::derive_genotype;
pub use genotype::{Genotype, STEPS};
pub use ops::{DartsOp, DilConv, FactorizedReduce, Op, OpSet, PRIMITIVES, SepConv};
pub use perturb::{perturb_epsilon, perturb_on_device, perturbation_noise, random_perturbation};
pub use supernet::DartsSupernet;

/// Edges per cell: node i (0..4) has i + 2 inputs.
pub const NUM_EDGES: usize = 14;
