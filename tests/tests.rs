//! End-to-end tests of the `betadarts` binary (one integration binary, as ripgrep and uv do).

mod arm;
mod bench;
mod common;
mod darts;
mod datasets;
mod deploy;
mod export;
mod fuzz;
mod fuzz_targets;
mod hostile;
mod int8;
mod kserve;
mod nb201_script;
mod pictures;
mod regularizers;
mod run_dir;
mod search;
mod serve;
mod serve_hostile;
mod study;
mod tensorboard;
mod torch_weights;
mod train;
