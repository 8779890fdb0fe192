//! Static INT8 quantization in the QDQ format: every activation tensor passes through a
//! QuantizeLinear → DequantizeLinear pair (uint8, per tensor, asymmetric, from calibrated
//! ranges); convolution weights are int8 per output channel, symmetric (zero point 0), behind a
//! DequantizeLinear with `axis = 0`; their biases int32 at scale s_input·s_weight[c]. Runtimes
//! that know QDQ (ONNX Runtime) fuse each DQ → op → Q group into an integer kernel; the rest
//! run the float op between them, which is the per-op fallback.
//!
//! Ops that only move values (Slice, Pad with zeros, Flatten, MaxPool) keep their input's scale
//! and zero point, so a runtime can run them on uint8 as they are. The classifier (Gemm) keeps
//! float weights and the logits stay float.

use std::collections::HashMap;

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, NodeProto, StringStringEntryProto, TensorProto};

use crate::graph::int;
use crate::{Error, Result};

/// Calibrated (min, max) of each activation tensor, by name.
pub type Ranges = HashMap<String, (f32, f32)>;

/// Ops whose output holds values of their input: it keeps the input's quantization.
const VALUE_PRESERVING: [&str; 4] = ["Slice", "Pad", "Flatten", "MaxPool"];

/// uint8 affine parameters covering `[lo, hi]` and always 0 (so zero padding and ReLU's floor
/// are exact).
pub fn activation_params(lo: f32, hi: f32) -> (f32, u8) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let scale = ((hi - lo) / 255.0).max(1e-8);
    let zp = (-lo / scale).round().clamp(0.0, 255.0) as u8;
    (scale, zp)
}

/// int8 values and one scale per output channel (`per` values each), symmetric.
pub fn weight_params(w: &[f32], per: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::new();
    for chunk in w.chunks(per) {
        let m = chunk.iter().fold(0f32, |a, v| a.max(v.abs()));
        let s = if m > 0.0 { m / 127.0 } else { 1.0 };
        scales.push(s);
        q.extend(
            chunk
                .iter()
                .map(|v| (v / s).round().clamp(-127.0, 127.0) as i8),
        );
    }
    (q, scales)
}

fn scalar_f32(name: String, v: f32) -> TensorProto {
    TensorProto {
        name,
        data_type: DataType::Float as i32,
        float_data: vec![v],
        ..Default::default()
    }
}

/// A per-channel float vector (scales).
fn floats_init(name: String, data: Vec<f32>) -> TensorProto {
    TensorProto {
        name,
        dims: vec![data.len() as i64],
        data_type: DataType::Float as i32,
        float_data: data,
        ..Default::default()
    }
}

/// A per-channel int32 vector (biases and their zero points).
fn ints_init(name: String, data: Vec<i32>) -> TensorProto {
    TensorProto {
        name,
        dims: vec![data.len() as i64],
        data_type: DataType::Int32 as i32,
        int32_data: data,
        ..Default::default()
    }
}

fn bytes(name: String, dims: Vec<i64>, ty: DataType, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name,
        dims,
        data_type: ty as i32,
        raw_data: raw,
        ..Default::default()
    }
}

/// The float values of an initializer written by the exporter (`float_data` or raw).
fn floats(t: &TensorProto) -> Vec<f32> {
    if !t.float_data.is_empty() {
        return t.float_data.clone();
    }
    t.raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

struct Rewriter {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    /// Activation tensor → (scale, zero point, name of its dequantized copy).
    q: HashMap<String, (f32, u8, String)>,
}

impl Rewriter {
    fn node(&mut self, op: &str, name: &str, inputs: Vec<String>, output: &str, axis: Option<i64>) {
        self.nodes.push(NodeProto {
            op_type: op.into(),
            name: format!("{name}_{}", op.to_ascii_lowercase()),
            input: inputs,
            output: vec![output.into()],
            attribute: axis.map(|a| vec![int("axis", a)]).unwrap_or_default(),
            ..Default::default()
        });
    }

    /// Q → DQ after activation `t`; later consumers read the DQ output.
    fn quantize(&mut self, t: &str, scale: f32, zp: u8) {
        let (s, z) = (format!("{t}_scale"), format!("{t}_zero"));
        self.inits.push(scalar_f32(s.clone(), scale));
        self.inits
            .push(bytes(z.clone(), vec![], DataType::Uint8, vec![zp]));
        let (tq, tdq) = (format!("{t}_q"), format!("{t}_dq"));
        self.node(
            "QuantizeLinear",
            t,
            vec![t.into(), s.clone(), z.clone()],
            &tq,
            None,
        );
        self.node("DequantizeLinear", t, vec![tq, s, z], &tdq, None);
        self.q.insert(t.into(), (scale, zp, tdq));
    }

    /// A Conv's weight (and bias) as int8 (int32) initializers behind DequantizeLinear.
    fn conv_weights(
        &mut self,
        node: &NodeProto,
        init: &HashMap<&str, &TensorProto>,
    ) -> Result<Vec<String>> {
        let missing =
            |what: &str| Error::Unsupported(format!("{}: {what} is not a constant", node.name));
        let w = init
            .get(node.input[1].as_str())
            .ok_or_else(|| missing("weight"))?;
        let x_scale = self
            .q
            .get(&node.input[0])
            .map(|p| p.0)
            .ok_or_else(|| missing("input range"))?;
        let co = w.dims[0] as usize;
        let values = floats(w);
        let (wq, scales) = weight_params(&values, values.len() / co.max(1));
        let base = &node.input[1];
        let (qn, sn, zn) = (
            format!("{base}_int8"),
            format!("{base}_scale"),
            format!("{base}_zero"),
        );
        self.inits.push(bytes(
            qn.clone(),
            w.dims.clone(),
            DataType::Int8,
            wq.iter().map(|&v| v as u8).collect(),
        ));
        self.inits.push(floats_init(sn.clone(), scales.clone()));
        self.inits.push(bytes(
            zn.clone(),
            vec![co as i64],
            DataType::Int8,
            vec![0; co],
        ));
        let wd = format!("{base}_dq");
        self.node("DequantizeLinear", base, vec![qn, sn, zn], &wd, Some(0));
        let mut inputs = vec![self.renamed(&node.input[0]), wd];
        if let Some(b) = node.input.get(2) {
            let bias = floats(init.get(b.as_str()).ok_or_else(|| missing("bias"))?);
            let bs: Vec<f32> = scales.iter().map(|s| s * x_scale).collect();
            let bq: Vec<i32> = bias
                .iter()
                .zip(&bs)
                .map(|(v, s)| (v / s).round().clamp(i32::MIN as f32, i32::MAX as f32) as i32)
                .collect();
            let (qn, sn, zn) = (
                format!("{b}_int32"),
                format!("{b}_scale"),
                format!("{b}_zero"),
            );
            self.inits.push(ints_init(qn.clone(), bq));
            self.inits.push(floats_init(sn.clone(), bs));
            self.inits.push(ints_init(zn.clone(), vec![0; co]));
            let bd = format!("{b}_dq");
            self.node("DequantizeLinear", b, vec![qn, sn, zn], &bd, Some(0));
            inputs.push(bd);
        }
        Ok(inputs)
    }

    fn renamed(&self, t: &str) -> String {
        self.q.get(t).map_or_else(|| t.to_string(), |p| p.2.clone())
    }
}

/// The QDQ model of the float `model` (BN folded), with `ranges` for every activation that is
/// not the output of a value-preserving op; `info` (JSON) is recorded as metadata
/// `quantization`.
pub fn quantize(model: &ModelProto, ranges: &Ranges, info: &str) -> Result<ModelProto> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::Unsupported("model without a graph".into()))?;
    let outputs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let init: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    // Weights and biases of convs are replaced; every other initializer stays.
    let replaced: Vec<&str> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Conv")
        .flat_map(|n| n.input[1..].iter().map(String::as_str))
        .collect();
    let mut rw = Rewriter {
        nodes: vec![],
        inits: graph
            .initializer
            .iter()
            .filter(|t| !replaced.contains(&t.name.as_str()))
            .cloned()
            .collect(),
        q: HashMap::new(),
    };
    let range = |t: &str| {
        ranges
            .get(t)
            .copied()
            .ok_or_else(|| Error::Unsupported(format!("no calibrated range for tensor {t}")))
    };
    for input in &graph.input {
        let (lo, hi) = range(&input.name)?;
        let (s, z) = activation_params(lo, hi);
        rw.quantize(&input.name, s, z);
    }
    for node in &graph.node {
        let mut n = node.clone();
        n.input = if node.op_type == "Conv" {
            rw.conv_weights(node, &init)?
        } else {
            node.input.iter().map(|i| rw.renamed(i)).collect()
        };
        rw.nodes.push(n);
        let out = &node.output[0];
        if outputs.contains(&out.as_str()) {
            continue;
        }
        let (s, z) = match rw.q.get(&node.input[0]) {
            Some(&(s, z, _)) if VALUE_PRESERVING.contains(&node.op_type.as_str()) => (s, z),
            _ => {
                let (lo, hi) = range(out)?;
                activation_params(lo, hi)
            }
        };
        rw.quantize(out, s, z);
    }
    let mut m = model.clone();
    let g = m.graph.as_mut().expect("checked above");
    g.node = rw.nodes;
    g.initializer = rw.inits;
    m.metadata_props.retain(|p| p.key != "quantization");
    m.metadata_props.push(StringStringEntryProto {
        key: "quantization".into(),
        value: info.into(),
    });
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_parameters_cover_the_range_and_hold_zero_exactly() {
        let (s, z) = activation_params(-1.0, 3.0);
        assert!((s - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(z, 64); // round(1 / (4/255)) = round(63.75)
        // A ReLU output: zero point 0, scale max/255.
        let (s, z) = activation_params(0.0, 2.55);
        assert!((s - 0.01).abs() < 1e-8 && z == 0);
        // A range that excludes 0 is widened to include it.
        assert_eq!(activation_params(1.0, 2.55).1, 0);
        assert!(activation_params(0.0, 0.0).0 > 0.0);
    }

    #[test]
    fn weights_are_symmetric_per_channel_within_half_a_step() {
        let w = [
            0.5, -1.27, 0.0, 0.02, /* channel 1 */ 0.0, 0.0, 0.0, 0.0,
        ];
        let (q, s) = weight_params(&w, 4);
        assert_eq!(s, vec![0.01, 1.0]);
        assert_eq!(q, vec![50, -127, 0, 2, 0, 0, 0, 0]);
        for (v, (qi, si)) in w
            .iter()
            .zip(q.iter().zip([s[0]; 4].iter().chain([s[1]; 4].iter())))
        {
            assert!((v - *qi as f32 * si).abs() <= si / 2.0 + 1e-7);
        }
    }
}
