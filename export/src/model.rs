//! Assembling the ONNX model: graph, named input `image` `[N, C, S, S]` (symbolic batch),
//! output `logits` `[N, K]`, opset/IR, and the metadata the deploy side serves from.

use betadarts_deploy::ModelMeta;
use betadarts_search::retrain::TrainNet;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
use tract_onnx::pb::type_proto::{Tensor as TensorType, Value};
use tract_onnx::pb::{
    GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};

use crate::emit::Emitter;
use crate::{IR_VERSION, OPSET};

#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    /// Fold BN into the preceding convolutions (on by default in the CLI).
    pub fold: bool,
}

fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => dimension::Value::DimValue(*v as i64),
                None => dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(TensorType {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The eval-mode network (its auxiliary head is never emitted) as an ONNX model.
pub fn export_network(net: &TrainNet, meta: &ModelMeta, opts: ExportOptions) -> ModelProto {
    let mut e = Emitter::new(opts.fold).with_side(meta.input_size);
    let out = e.network("image", net);
    // Name the final output `logits` (rename rather than add an Identity node).
    if let Some(last) =
        e.g.nodes
            .iter_mut()
            .rev()
            .find(|n| n.output.first() == Some(&out))
    {
        last.output[0] = "logits".into();
    }
    let c = meta.input_channels;
    let s = meta.input_size;
    let graph = GraphProto {
        name: format!("betadarts_{}", meta.network),
        node: e.g.nodes,
        initializer: e.g.initializers,
        input: vec![value_info("image", &[None, Some(c), Some(s), Some(s)])],
        output: vec![value_info("logits", &[None, Some(meta.class_names.len())])],
        ..Default::default()
    };
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "betadarts".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph),
        metadata_props: meta
            .to_props()
            .into_iter()
            .map(|(key, value)| StringStringEntryProto { key, value })
            .collect(),
        doc_string: format!(
            "{} network exported by betadarts {}",
            meta.network,
            env!("CARGO_PKG_VERSION")
        ),
        ..Default::default()
    }
}
