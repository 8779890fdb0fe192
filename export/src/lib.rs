//! ONNX export of trained betadarts networks (CIFAR, ImageNet and NB201 networks; the auxiliary
//! head is dropped), written with tract-onnx's protobuf types, optionally with BN folded into
//! the preceding convolutions, and checked for parity against the burn network in tract and
//! ONNX Runtime; statically quantized INT8 models (QDQ, calibrated in tract); and the weights
//! as a PyTorch state dict.
//!
//! Target: **opset 17, IR version 8**. Opset 17 is the newest opset that both tract 0.23 and
//! every ONNX Runtime release since 1.13 implement fully for the operators used here (Conv,
//! BatchNormalization, MaxPool, AveragePool with `count_include_pad`, Relu, Add, Mul, Concat,
//! Slice, Pad, GlobalAveragePool, Flatten, Gemm); IR 8 is the IR version that opset 17 ships
//! with, so older runtimes that accept opset 17 accept the file.

pub mod calibrate;
pub mod emit;
pub mod error;
pub mod graph;
pub mod model;
pub mod parity;
pub mod quantize;
pub mod state_dict;

pub use error::{Error, Result};
pub use model::{ExportOptions, export_network};
pub use parity::{ParityReport, check_parity};
pub use state_dict::{state_dict, to_safetensors};
/// The ONNX model message (what `export_network` returns), for readers of exported files.
pub use tract_onnx::pb::ModelProto;

pub const OPSET: i64 = 17;
pub const IR_VERSION: i64 = 8;
