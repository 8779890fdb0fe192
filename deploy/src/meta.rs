//! The metadata betadarts writes into `metadata_props`, read back so that a model can be served
//! with no other file.

use std::collections::BTreeMap;

use prost::Message;
use serde::{Deserialize, Serialize};
use tract_onnx::pb::ModelProto;

use crate::{Error, Result};

/// Keys of `metadata_props` (values are strings; lists are JSON).
pub const KEYS: [&str; 11] = [
    "betadarts.version",
    "network",
    "genotype",
    "arch",
    "dataset",
    "class_names",
    "input_size",
    "input_channels",
    "mean",
    "std",
    "accuracy",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub network: String,
    pub dataset: String,
    pub class_names: Vec<String>,
    pub input_size: usize,
    pub input_channels: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Genotype JSON (DARTS networks) or NB201 arch string.
    pub genotype: Option<String>,
    pub arch: Option<String>,
    /// Free-form training summary (JSON).
    pub accuracy: Option<String>,
    pub tool_version: String,
    /// Multiply-adds of one image, when the exporter recorded them.
    pub madds: Option<u64>,
    /// How images are brought to the input size: `resize` (the whole image, area-averaged, as
    /// for CIFAR/MNIST-style datasets) or `center-crop` (shorter side to S·256/224, centre crop
    /// S: the ImageNet eval transform).
    pub preprocess: String,
}

impl ModelMeta {
    pub fn to_props(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let json = |v: &dyn erased::Json| v.json();
        m.insert("betadarts.version".into(), self.tool_version.clone());
        m.insert("network".into(), self.network.clone());
        m.insert("dataset".into(), self.dataset.clone());
        m.insert("class_names".into(), json(&self.class_names));
        m.insert("input_size".into(), self.input_size.to_string());
        m.insert("input_channels".into(), self.input_channels.to_string());
        m.insert("mean".into(), json(&self.mean));
        m.insert("std".into(), json(&self.std));
        if let Some(g) = &self.genotype {
            m.insert("genotype".into(), g.clone());
        }
        if let Some(a) = &self.arch {
            m.insert("arch".into(), a.clone());
        }
        if let Some(a) = &self.accuracy {
            m.insert("accuracy".into(), a.clone());
        }
        if let Some(n) = self.madds {
            m.insert("madds".into(), n.to_string());
        }
        m.insert("preprocess".into(), self.preprocess.clone());
        m
    }

    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self> {
        let get = |k: &str| {
            props.get(k).ok_or_else(|| {
                Error::Model(format!(
                    "metadata key {k:?} missing: not exported by betadarts"
                ))
            })
        };
        let parse_json = |k: &str| -> Result<serde_json::Value> {
            serde_json::from_str(get(k)?).map_err(|e| Error::Model(format!("metadata {k:?}: {e}")))
        };
        let floats = |k: &str| -> Result<Vec<f32>> {
            serde_json::from_value(parse_json(k)?)
                .map_err(|e| Error::Model(format!("metadata {k:?}: {e}")))
        };
        let num = |k: &str| -> Result<usize> {
            get(k)?
                .parse()
                .map_err(|_| Error::Model(format!("metadata {k:?} is not a number")))
        };
        Ok(ModelMeta {
            network: get("network")?.clone(),
            dataset: get("dataset")?.clone(),
            class_names: serde_json::from_value(parse_json("class_names")?)
                .map_err(|e| Error::Model(format!("class_names: {e}")))?,
            input_size: num("input_size")?,
            input_channels: num("input_channels")?,
            mean: floats("mean")?,
            std: floats("std")?,
            genotype: props.get("genotype").cloned(),
            arch: props.get("arch").cloned(),
            accuracy: props.get("accuracy").cloned(),
            tool_version: get("betadarts.version")?.clone(),
            madds: props.get("madds").and_then(|v| v.parse().ok()),
            preprocess: props
                .get("preprocess")
                .cloned()
                .unwrap_or_else(|| "resize".into()),
        })
    }

    /// Reads the metadata of an ONNX model held in memory.
    pub fn from_onnx(bytes: &[u8]) -> Result<Self> {
        let proto = ModelProto::decode(bytes)
            .map_err(|e| Error::Model(format!("not an ONNX model (protobuf: {e})")))?;
        let props: BTreeMap<String, String> = proto
            .metadata_props
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect();
        ModelMeta::from_props(&props)
    }
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
