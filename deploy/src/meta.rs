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

/// Largest input side a model may declare (ImageNet networks take 224).
pub const MAX_INPUT_SIZE: usize = 2048;

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
        let meta = ModelMeta {
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
        };
        meta.validate()?;
        Ok(meta)
    }

    /// What the deploy side relies on, checked once when a model is loaded (a hand-edited or
    /// damaged model would otherwise panic or allocate without bound per request).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Model(format!("metadata: {m}")));
        if self.class_names.is_empty() {
            return bad("class_names is empty (a classifier needs at least one class)".into());
        }
        if !(1..=4).contains(&self.input_channels) {
            return bad(format!(
                "input_channels {} is not 1..=4",
                self.input_channels
            ));
        }
        if !(1..=MAX_INPUT_SIZE).contains(&self.input_size) {
            return bad(format!(
                "input_size {} is not 1..={MAX_INPUT_SIZE}",
                self.input_size
            ));
        }
        for (k, v) in [("mean", &self.mean), ("std", &self.std)] {
            if v.len() != self.input_channels {
                return bad(format!(
                    "{k} has {} values for {} input channels",
                    v.len(),
                    self.input_channels
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return bad(format!("{k} {v:?} is not finite"));
            }
        }
        if self.std.iter().any(|&x| x <= 0.0) {
            return bad(format!("std {:?} must be > 0", self.std));
        }
        if !["resize", "center-crop"].contains(&self.preprocess.as_str()) {
            return bad(format!(
                "preprocess {:?} is not resize or center-crop",
                self.preprocess
            ));
        }
        Ok(())
    }

    /// Reads the metadata of an ONNX model held in memory.
    pub fn from_onnx(bytes: &[u8]) -> Result<Self> {
        // Protobuf decodes zero bytes as an empty message, which would read as "metadata missing".
        if bytes.is_empty() {
            return Err(Error::Model(
                "the file is empty (0 bytes): not an ONNX model".into(),
            ));
        }
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

/// The value of one `metadata_props` key of an ONNX model (`quantization` of INT8 exports, say).
pub fn prop(onnx: &[u8], key: &str) -> Option<String> {
    let proto = ModelProto::decode(onnx).ok()?;
    proto
        .metadata_props
        .into_iter()
        .find(|p| p.key == key)
        .map(|p| p.value)
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

/// A valid metadata record for tests: a 2-class, 3-channel, 32-pixel model.
#[cfg(test)]
pub(crate) fn example() -> ModelMeta {
    ModelMeta {
        network: "cifar".into(),
        dataset: "cifar10".into(),
        class_names: vec!["a".into(), "b".into()],
        input_size: 32,
        input_channels: 3,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
        genotype: None,
        arch: None,
        accuracy: None,
        tool_version: "0".into(),
        madds: None,
        preprocess: "resize".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ModelMeta {
        example()
    }

    #[test]
    fn metadata_the_deploy_side_cannot_use_is_refused_on_load() {
        assert_eq!(ModelMeta::from_props(&meta().to_props()).unwrap(), meta());
        let cases: Vec<(fn(&mut ModelMeta), &str)> = vec![
            (
                |m| m.mean = vec![0.5; 2],
                "mean has 2 values for 3 input channels",
            ),
            (|m| m.std = vec![0.0; 3], "must be > 0"),
            (|m| m.std[1] = f32::NAN, "metadata \"std\""), // NaN is written as null
            (|m| m.class_names.clear(), "class_names is empty"),
            (|m| m.input_size = 1 << 30, "input_size 1073741824"),
            (|m| m.input_size = 0, "input_size 0"),
            (|m| m.input_channels = 0, "input_channels 0"),
            (|m| m.preprocess = "warp".into(), "preprocess \"warp\""),
        ];
        for (edit, needle) in cases {
            let mut m = meta();
            edit(&mut m);
            let e = ModelMeta::from_props(&m.to_props())
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let e = ModelMeta::from_onnx(&[]).unwrap_err().to_string();
        assert!(e.contains("empty (0 bytes)"), "{e}");
    }
}
