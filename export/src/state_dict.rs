//! A trained network's weights under the names and layouts of the PyTorch reference networks,
//! so that `load_state_dict(strict=True)` of the reference module takes them as they are:
//! DARTS `NetworkCIFAR` / `NetworkImageNet` (quark0/darts `cnn/model.py`, `operations.py`) and
//! NAS-Bench-201's `TinyNetwork` (AutoDL-Projects `cell_infers`). Conv weights are
//! `[out, in/groups, k, k]` in both; burn keeps Linear weights `[in, out]`, PyTorch `[out, in]`.
//! BN `num_batches_tracked` is left out: PyTorch fills it in for a state dict without version
//! metadata, which is what a safetensors file is.

use betadarts_search::darts::ops::OpBody;
use betadarts_search::darts::{DartsOp, DilConv, FactorizedReduce, Op, Preprocess};
use betadarts_search::nb201::{Nb201Network, ResBlock};
use betadarts_search::nn::{BatchNorm2d, ReluConvBn};
use betadarts_search::retrain::{AuxHead, EvalNetwork, Stem, TrainNet};
use burn::nn::Linear;
use burn::nn::conv::Conv2d;

use crate::emit::host;
use crate::{Error, Result};

/// Named f32 tensors in module order: (name, shape, values).
#[derive(Default)]
pub struct StateDict {
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl StateDict {
    fn put(&mut self, name: String, shape: Vec<usize>, values: Vec<f32>) {
        self.tensors.push((name, shape, values));
    }

    fn conv(&mut self, name: &str, c: &Conv2d) {
        self.put(
            format!("{name}.weight"),
            c.weight.dims().to_vec(),
            host(c.weight.val()),
        );
        if let Some(b) = &c.bias {
            self.put(format!("{name}.bias"), b.dims().to_vec(), host(b.val()));
        }
    }

    fn bn(&mut self, name: &str, bn: &BatchNorm2d) {
        let c = vec![bn.channels];
        if let (Some(g), Some(b)) = (&bn.gamma, &bn.beta) {
            self.put(format!("{name}.weight"), c.clone(), host(g.val()));
            self.put(format!("{name}.bias"), c.clone(), host(b.val()));
        }
        self.put(
            format!("{name}.running_mean"),
            c.clone(),
            host(bn.running_mean.value()),
        );
        self.put(
            format!("{name}.running_var"),
            c,
            host(bn.running_var.value()),
        );
    }

    fn linear(&mut self, name: &str, l: &Linear) {
        let [d_in, d_out] = l.weight.dims();
        let w = host(l.weight.val().transpose());
        self.put(format!("{name}.weight"), vec![d_out, d_in], w);
        if let Some(b) = &l.bias {
            self.put(format!("{name}.bias"), vec![d_out], host(b.val()));
        }
    }

    /// `ReLUConvBN`: `op = Sequential(ReLU, Conv2d, BatchNorm2d)`.
    fn relu_conv_bn(&mut self, name: &str, m: &ReluConvBn) {
        self.conv(&format!("{name}.op.1"), &m.conv);
        self.bn(&format!("{name}.op.2"), &m.bn);
    }

    /// `DilConv`: `op = Sequential(ReLU, depthwise, pointwise, BN)`; `SepConv` is two of them in
    /// one Sequential, so the second starts at index `first + 4`.
    fn dil_conv(&mut self, name: &str, m: &DilConv, first: usize) {
        self.conv(&format!("{name}.op.{first}"), &m.depthwise);
        self.conv(&format!("{name}.op.{}", first + 1), &m.pointwise);
        self.bn(&format!("{name}.op.{}", first + 2), &m.bn);
    }

    fn factorized_reduce(&mut self, name: &str, m: &FactorizedReduce) {
        self.conv(&format!("{name}.conv_1"), &m.conv_1);
        self.conv(&format!("{name}.conv_2"), &m.conv_2);
        self.bn(&format!("{name}.bn"), &m.bn);
    }

    fn darts_op(&mut self, name: &str, op: &DartsOp) -> Result<()> {
        if op.bn.is_some() {
            return Err(Error::Unsupported(format!(
                "{name}: an op with its own BN (a search-cell pool) has no place in the reference \
                 evaluation network"
            )));
        }
        match (op.kind(), &op.body) {
            (_, Some(OpBody::Sep(m))) => {
                self.dil_conv(name, &m.first, 1);
                self.dil_conv(name, &m.second, 5);
            }
            (_, Some(OpBody::Dil(m))) => self.dil_conv(name, m, 1),
            (_, Some(OpBody::Reduce(m))) => self.factorized_reduce(name, m),
            (Op::None | Op::MaxPool3x3 | Op::AvgPool3x3 | Op::Skip, None) => {}
            (k, None) => {
                return Err(Error::Unsupported(format!(
                    "{name}: {k:?} without its weights"
                )));
            }
        }
        Ok(())
    }

    fn stems(&mut self, stems: &[Stem]) -> Result<()> {
        match stems {
            // NetworkCIFAR: stem = Sequential(Conv, BN).
            [s] => {
                self.conv("stem.0", &s.conv_a);
                self.bn("stem.1", &s.bn_a);
            }
            // NetworkImageNet: stem0 = (Conv, BN, ReLU, Conv, BN), stem1 = (ReLU, Conv, BN).
            [s0, s1] => {
                let (Some(c), Some(bn)) = (&s0.conv_b, &s0.bn_b) else {
                    return Err(Error::Unsupported(
                        "ImageNet stem0 without its second conv".into(),
                    ));
                };
                self.conv("stem0.0", &s0.conv_a);
                self.bn("stem0.1", &s0.bn_a);
                self.conv("stem0.3", c);
                self.bn("stem0.4", bn);
                self.conv("stem1.1", &s1.conv_a);
                self.bn("stem1.2", &s1.bn_a);
            }
            _ => {
                return Err(Error::Unsupported(
                    "a network with other than 1 or 2 stems".into(),
                ));
            }
        }
        Ok(())
    }

    /// `AuxiliaryHead*.features = Sequential(ReLU, AvgPool, Conv, BN, ReLU, Conv, [BN,] ReLU)`.
    fn aux(&mut self, a: &AuxHead) {
        self.conv("auxiliary_head.features.2", &a.conv1);
        self.bn("auxiliary_head.features.3", &a.bn1);
        self.conv("auxiliary_head.features.5", &a.conv2);
        if let Some(bn) = &a.bn2 {
            self.bn("auxiliary_head.features.6", bn);
        }
        self.linear("auxiliary_head.classifier", &a.classifier);
    }

    fn darts(&mut self, net: &EvalNetwork) -> Result<()> {
        self.stems(&net.stems)?;
        for (i, cell) in net.cells.iter().enumerate() {
            let p = format!("cells.{i}");
            match &cell.preprocess0 {
                Preprocess::Reduce(m) => self.factorized_reduce(&format!("{p}.preprocess0"), m),
                Preprocess::Conv(m) => self.relu_conv_bn(&format!("{p}.preprocess0"), m),
            }
            self.relu_conv_bn(&format!("{p}.preprocess1"), &cell.preprocess1);
            for (j, op) in cell.ops.iter().enumerate() {
                self.darts_op(&format!("{p}._ops.{j}"), op)?;
            }
        }
        if let Some(a) = &net.aux {
            self.aux(a);
        }
        self.linear("classifier", &net.classifier);
        Ok(())
    }

    /// `ResNetBasicblock`: conv_a, conv_b (ReLUConvBN), downsample = (AvgPool 2, Conv 1×1).
    fn res_block(&mut self, name: &str, b: &ResBlock) {
        self.relu_conv_bn(&format!("{name}.conv_a"), &b.conv_a);
        self.relu_conv_bn(&format!("{name}.conv_b"), &b.conv_b);
        self.conv(&format!("{name}.downsample.1"), &b.shortcut);
    }

    /// `TinyNetwork`: `cells` holds N cells, a residual block, N cells, a block, N cells; an
    /// `InferCell`'s `layers` are its six edges in order (1←0, 2←0, 2←1, 3←0, 3←1, 3←2).
    fn nb201(&mut self, net: &Nb201Network) {
        self.conv("stem.0", &net.stem_conv);
        self.bn("stem.1", &net.stem_bn);
        let n = net.cells_per_stage;
        let mut at = 0;
        for (i, cell) in net.cells.iter().enumerate() {
            if i > 0 && i % n == 0 {
                self.res_block(&format!("cells.{at}"), &net.reductions[i / n - 1]);
                at += 1;
            }
            for (e, edge) in cell.edges.iter().enumerate() {
                for op in &edge.ops {
                    if let Some(c) = &op.conv {
                        self.relu_conv_bn(&format!("cells.{at}.layers.{e}"), c);
                    }
                }
            }
            at += 1;
        }
        self.bn("lastact.0", &net.head_bn);
        self.linear("classifier", &net.classifier);
    }
}

/// The network's state dict under the reference's names, and the reference's constructor
/// arguments: (C, layers: DARTS cells or NB201 N per stage, auxiliary head present).
pub fn state_dict(net: &TrainNet) -> Result<(StateDict, usize, usize, bool)> {
    let mut sd = StateDict::default();
    let shape = match net {
        TrainNet::Darts(n) => {
            sd.darts(n)?;
            // NetworkCIFAR's stem has 3C channels; NetworkImageNet's stem0 ends with C.
            let c = match n.stems.as_slice() {
                [s] => s.bn_a.channels / 3,
                _ => n.stems[0].bn_b.as_ref().map_or(0, |b| b.channels),
            };
            (c, n.cells.len(), n.aux.is_some())
        }
        TrainNet::Nb201(n) => {
            sd.nb201(n);
            (n.stem_bn.channels, n.cells_per_stage, false)
        }
    };
    Ok((sd, shape.0, shape.1, shape.2))
}

/// The network as a safetensors file for PyTorch: its state dict (above) and, as string
/// metadata, `format: pt`, the model metadata the ONNX export carries (genotype or arch, classes,
/// input size, mean/std …) and the reference constructor's arguments (`channels`, `layers`,
/// `auxiliary`), which `python/betadarts_torch.py` builds the network from.
pub fn to_safetensors(net: &TrainNet, meta: &betadarts_deploy::ModelMeta) -> Result<Vec<u8>> {
    let (sd, c, layers, aux) = state_dict(net)?;
    let mut info: std::collections::HashMap<String, String> = meta.to_props().into_iter().collect();
    info.insert("format".into(), "pt".into());
    info.insert("channels".into(), c.to_string());
    info.insert("layers".into(), layers.to_string());
    info.insert("auxiliary".into(), aux.to_string());
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = sd
        .tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, b)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b);
            v.map(|v| (n.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Unsupported(format!("safetensors: {e}")))?;
    let bytes = safetensors::serialize(views, Some(info))
        .map_err(|e| Error::Unsupported(format!("safetensors: {e}")))?;
    Ok(with_sorted_header(bytes))
}

/// The same file with its JSON header's keys sorted: safetensors writes `__metadata__` from a
/// `HashMap`, so without this two exports of one network differ byte for byte. The sorted header
/// has the same characters, hence the same length and padding.
fn with_sorted_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(n) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    else {
        return bytes;
    };
    let end = 8usize.saturating_add(n as usize).min(bytes.len());
    let sorted = serde_json::from_slice::<serde_json::Value>(&bytes[8..end])
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    if let Some(h) = sorted.filter(|h| h.len() <= end - 8) {
        bytes[8..8 + h.len()].copy_from_slice(&h);
        bytes[8 + h.len()..end].fill(b' ');
    }
    bytes
}
