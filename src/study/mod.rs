//! Regularizer studies: a TOML plan expanded into a grid of searches (regularizers × λ schedules
//! × temperatures × seeds), run locally or as a Slurm array, and reported side by side.

pub mod plan;
pub mod report;
pub mod runner;
pub mod slurm;
