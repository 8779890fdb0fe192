//! Datasets (re-exported from the burn-free `betadarts-data` crate) and their assembly into
//! device batches.

mod batch;

pub use batch::{Augment, Batch, Cutout, apply_cutout, make_batch, make_batch_cutout, upload};
pub use betadarts_data::*;
