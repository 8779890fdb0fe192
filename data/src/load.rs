//! Loading a dataset by name from its files (or the built-in subset), and image folders.

use std::path::Path;

use crate::*;

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
