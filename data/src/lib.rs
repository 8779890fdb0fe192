//! betadarts' dataset readers, free of any tensor library (the deploy side uses them too).
//! Datasets as in-memory u8 images: CIFAR-10/100 (binary files or torchvision's python pickles),
//! ImageNet16-120 (NAS-Bench-201's 16×16 pickles), MNIST/Fashion-MNIST IDX files (plain or .gz,
//! also in torchvision's `MNIST/raw/` layout), image folders decoded at a small size, and the
//! Fashion-MNIST subset compiled into the binary. Each dataset knows its class names and
//! normalisation constants (spec §7.2). `--data-dir` defaults to `$BETADARTS_DATA`.

mod cifar;
mod embedded;
pub mod files;
pub mod folder;
pub mod folder_subset;
mod idx;
mod imagenet16;
pub mod pickle;
mod pickled;
mod resize;
mod source;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use cifar::{CIFAR10_RECORD, CIFAR100_RECORD, read_cifar_file};
pub use idx::{read_idx_images, read_idx_labels};
pub use pickled::{read_batch as read_pickled_batch, read_test_batch as read_pickled_test_batch};
pub use resize::resize_area;
pub use source::Source;

mod error;
pub mod rng;

pub use error::{Error, Result};

/// Images stored planar `[N, C, H, W]` as bytes, with one label per image.
#[derive(Debug, Clone, Default)]
pub struct ImageSet {
    pub images: Vec<u8>,
    pub labels: Vec<u32>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }
}

/// A dataset: train and test sets, classes and normalisation.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: DatasetName,
    pub train: ImageSet,
    pub test: ImageSet,
    pub class_names: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
    pub fn channels(&self) -> usize {
        self.train.channels
    }
    pub fn image_size(&self) -> usize {
        self.train.height
    }

    /// Resizes both splits to `size`×`size` (area averaging) when it differs.
    pub fn resized(mut self, size: usize) -> Self {
        if size != self.train.height || size != self.train.width {
            self.train = resize_area(&self.train, size);
            self.test = resize_area(&self.test, size);
        }
        self
    }
}

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
    fn torchvision_folder(self) -> &'static str {
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

const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Loads a dataset by name. `data_dir` is required for the on-disk datasets except
/// Fashion-MNIST, which falls back to Debian's install location.
pub fn load(name: DatasetName, data_dir: Option<&Path>) -> Result<Dataset> {
    let (mean, std) = name.normalization();
    let dir = data_dir
        .map(Path::to_path_buf)
        .or_else(|| name.default_dir());
    let (train, test, class_names) = match name {
        DatasetName::FashionMnistMini => {
            let (train, test) = embedded::fashion_mnist_mini()?;
            (train, test, names(&FASHION_CLASSES))
        }
        DatasetName::FashionMnist | DatasetName::Mnist => {
            let dir = dir.ok_or_else(|| missing_idx(name, None))?;
            let torchvision = dir.join(name.torchvision_folder()).join("raw");
            let (train, test) = idx::load_idx_dir(&dir)
                .or_else(|e| match e {
                    Error::MissingData(_) => idx::load_idx_dir(&torchvision),
                    other => Err(other),
                })
                .map_err(|e| match e {
                    Error::MissingData(_) => missing_idx(name, Some(&dir)),
                    other => other,
                })?;
            let classes = if name == DatasetName::Mnist {
                (0..10).map(|d| d.to_string()).collect()
            } else {
                names(&FASHION_CLASSES)
            };
            (train, test, classes)
        }
        DatasetName::Cifar10 => {
            let dir = dir.ok_or_else(|| cifar::missing(name, None))?;
            let (train, test, classes) = cifar::load_cifar10(&dir)?;
            (
                train,
                test,
                classes.unwrap_or_else(|| names(&CIFAR10_CLASSES)),
            )
        }
        DatasetName::Imagefolder => {
            return Err(Error::Invalid(
                "imagefolder data is read with data::load_folder (search) or data::Source::load \
                 (training)"
                    .into(),
            ));
        }
        DatasetName::Cifar100 => {
            let dir = dir.ok_or_else(|| cifar::missing(name, None))?;
            let (train, test, classes) = cifar::load_cifar100(&dir)?;
            let fallback = || (0..100).map(|i| format!("class_{i}")).collect();
            (train, test, classes.unwrap_or_else(fallback))
        }
        DatasetName::Imagenet16_120 => {
            let dir = dir.ok_or_else(|| imagenet16::missing(None))?;
            imagenet16::load(&dir)?
        }
    };
    Ok(Dataset {
        name,
        train,
        test,
        class_names,
        mean,
        std,
    })
}

/// An image folder decoded into memory at `size`×`size` (see [`folder_subset`]), with ImageNet
/// normalisation. `dir` defaults to `$BETADARTS_DATA`.
pub fn load_folder(
    dir: Option<&Path>,
    classes: &folder_subset::ClassPick,
    per_class: Option<usize>,
    size: usize,
) -> Result<Dataset> {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| DatasetName::Imagefolder.default_dir())
        .ok_or_else(|| Error::MissingData(FOLDER_HINT.into()))?;
    if !dir.is_dir() {
        return Err(Error::MissingData(format!(
            "{}: {FOLDER_HINT}",
            dir.display()
        )));
    }
    let (train, test, class_names) = folder_subset::load(&dir, classes, per_class, size)?;
    let (mean, std) = DatasetName::Imagefolder.normalization();
    Ok(Dataset {
        name: DatasetName::Imagefolder,
        train,
        test,
        class_names,
        mean,
        std,
    })
}

pub(crate) const FOLDER_HINT: &str = "imagefolder needs --data-dir DIR with DIR/train/<class>/ and DIR/val/<class>/ (or DIR/<class>/)";

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn missing_idx(name: DatasetName, dir: Option<&Path>) -> Error {
    let place = match dir {
        Some(d) => format!("in {}", d.display()),
        None => "(no --data-dir given)".to_string(),
    };
    let hint = match name {
        DatasetName::FashionMnist => {
            "`apt-get install dataset-fashion-mnist` installs them in /usr/share/datasets/fashion-mnist"
        }
        _ => {
            "download the four IDX files of the MNIST database and pass their folder with --data-dir"
        }
    };
    Error::MissingData(format!(
        "{name} files not found {place}: expected train-images-idx3-ubyte, train-labels-idx1-ubyte, \
         t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each plain or .gz); {hint}"
    ))
}
