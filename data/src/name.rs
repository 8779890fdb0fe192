//! The datasets `--dataset` accepts, where each looks for its files and how it is normalised.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::*;

/// The datasets `--dataset` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// The built-in 1,000/200-image Fashion-MNIST subset.
    #[default]
    FashionMnistMini,
    FashionMnist,
    Mnist,
    Cifar10,
    Cifar100,
    /// NAS-Bench-201's third dataset: downsampled ImageNet at 16×16, first 120 classes.
    #[serde(rename = "imagenet16-120")]
    Imagenet16_120,
    /// An ImageNet-style folder: `DIR/train/<class>/*`, `DIR/val/<class>/*` (streamed from disk
    /// for training; decoded into memory at a small size for search).
    Imagefolder,
}

/// The environment variable that names the default data root.
pub const DATA_ENV: &str = "BETADARTS_DATA";

impl DatasetName {
    pub const ALL: [DatasetName; 7] = [
        DatasetName::FashionMnistMini,
        DatasetName::FashionMnist,
        DatasetName::Mnist,
        DatasetName::Cifar10,
        DatasetName::Cifar100,
        DatasetName::Imagenet16_120,
        DatasetName::Imagefolder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::FashionMnistMini => "fashion-mnist-mini",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Mnist => "mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Imagenet16_120 => "imagenet16-120",
            DatasetName::Imagefolder => "imagefolder",
        }
    }

    /// Per-channel mean and std in [0, 1] units. CIFAR: the DARTS / β-DARTS constants (spec
    /// §7.2); (Fashion-)MNIST: the customary full-train-set statistics.
    pub fn normalization(self) -> (Vec<f32>, Vec<f32>) {
        match self {
            DatasetName::Cifar10 => (
                vec![0.491_399_68, 0.482_158_27, 0.446_531_24],
                vec![0.247_032_33, 0.243_485_05, 0.261_587_68],
            ),
            DatasetName::Cifar100 => (vec![0.5071, 0.4865, 0.4409], vec![0.2673, 0.2564, 0.2762]),
            // NB201 / AutoDL (spec §7.2), in [0, 1] units.
            DatasetName::Imagenet16_120 => (
                [122.68, 116.66, 104.01].map(|v: f32| v / 255.0).to_vec(),
                [63.22, 61.26, 65.09].map(|v: f32| v / 255.0).to_vec(),
            ),
            DatasetName::Mnist => (vec![0.1307], vec![0.3081]),
            DatasetName::Imagefolder => (
                folder::IMAGENET_MEAN.to_vec(),
                folder::IMAGENET_STD.to_vec(),
            ),
            DatasetName::FashionMnist | DatasetName::FashionMnistMini => {
                (vec![0.2860], vec![0.3530])
            }
        }
    }

    /// Where the data is looked for when `--data-dir` is not given: `$BETADARTS_DATA` (each
    /// reader also looks in its dataset's standard sub-folder there), else Debian's
    /// Fashion-MNIST.
    pub fn default_dir(self) -> Option<PathBuf> {
        if let Some(root) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(root));
        }
        match self {
            // Debian's `dataset-fashion-mnist` package installs the full set here.
            DatasetName::FashionMnist => Some(PathBuf::from("/usr/share/datasets/fashion-mnist")),
            _ => None,
        }
    }

    /// torchvision's folder for the IDX datasets (`ROOT/MNIST/raw/`).
    pub(crate) fn torchvision_folder(self) -> &'static str {
        match self {
            DatasetName::Mnist => "MNIST",
            _ => "FashionMNIST",
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = DatasetName::ALL.iter().map(|d| d.as_str()).collect();
                Error::Invalid(format!(
                    "unknown dataset {s:?}; choose one of {}",
                    names.join(", ")
                ))
            })
    }
}
