//! betadarts' dataset readers, free of any tensor library (the deploy side uses them too).
//! Datasets as in-memory u8 images: CIFAR-10/100 (binary files or torchvision's python pickles),
//! ImageNet16-120 (NAS-Bench-201's 16×16 pickles), MNIST/Fashion-MNIST IDX files (plain or .gz,
//! also in torchvision's `MNIST/raw/` layout), image folders decoded at a small size, and the
//! Fashion-MNIST subset compiled into the binary. Each dataset knows its class names and
//! normalisation constants (spec §7.2). `--data-dir` defaults to `$BETADARTS_DATA`.

mod cifar;
mod dataset;
mod embedded;
pub mod files;
pub mod folder;
pub mod folder_subset;
mod idx;
mod imagenet16;
mod load;
mod name;
pub mod pickle;
mod pickled;
mod resize;
mod source;

pub use cifar::{CIFAR10_RECORD, CIFAR100_RECORD, read_cifar_file};
pub use dataset::{Dataset, ImageSet};
pub use idx::{read_idx_images, read_idx_labels};
pub(crate) use load::FOLDER_HINT;
pub use load::{load, load_folder};
pub use name::{DATA_ENV, DatasetName};
pub use pickled::{read_batch as read_pickled_batch, read_test_batch as read_pickled_test_batch};
pub use resize::resize_area;
pub use source::Source;

mod error;
pub mod rng;

pub use error::{Error, Result};
