//! NAS-Bench-201 space (Dong & Yang, ICLR 2020): five ops on the six edges of a 4-node cell,
//! cells stacked in the ResNet-like macro. One network type serves both the supernet (every
//! edge mixes all five ops, BN without affine) and the discrete network of an arch string;
//! the search itself runs the batched [`Nb201Supernet`], checked against the per-edge form.

mod arch;
mod cell;
mod network;
pub mod ops;
mod search_cell;
mod supernet;
pub mod table;

pub use arch::{Arch, NUM_EDGES, OPS, edge_index, edge_nodes};
pub use cell::{Cell, Edge};
pub use network::{Nb201Network, ResBlock};
pub use ops::{Nb201Op, Op};
pub use search_cell::{SearchCell, SourceConvs};
pub use supernet::Nb201Supernet;
