//! Retraining the discretized network (spec §5): the CIFAR and ImageNet networks built from a
//! genotype (BN with affine, no BN after pools), their auxiliary heads, drop-path, and model
//! summaries (parameters, multiply-adds). The NB201 network of an arch string is
//! [`crate::nb201::Nb201Network::discrete`].

mod aux_head;
mod cell;
mod checkpoint;
mod config;
mod drop_path;
mod epochs;
mod evaluate;
mod model;
mod network;
mod summary;
mod trainer;

pub use aux_head::AuxHead;
pub use cell::EvalCell;
pub use checkpoint::{LoadedModel, TrainHeader, load_trained};
pub use config::{CutoutProb, LrSchedule, TrainConfig, TrainNetwork};
pub use drop_path::drop_path;
pub use evaluate::evaluate;
pub use model::TrainNet;
pub use network::{EvalNetwork, NetworkKind, Stem};
pub use summary::{ModelSummary, summarize};
pub use trainer::{
    BEST_CKPT, LAST_CKPT, Silent, TrainObserver, TrainOutcome, TrainRecord, optimizer,
    read_train_history, resume_training, train,
};
