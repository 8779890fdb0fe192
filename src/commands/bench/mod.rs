//! `betadarts bench`: step timings of our own (`search-step`, `train-step`), the side-by-side
//! comparison with the PyTorch references (`compare`), and the parity dump (`dump`).

mod args;
mod compare;
mod depthwise;
mod dump;
mod reference;
mod step;

use anyhow::Result;

pub use args::BenchArgs;
use args::BenchWhat;

pub fn bench(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchWhat::SearchStep(b) => step::search_step(b),
        BenchWhat::TrainStep(b) => step::train_step(b),
        BenchWhat::Compare(b) => compare::compare(b),
        BenchWhat::Dump(b) => dump::dump(b),
        BenchWhat::Depthwise(b) => depthwise::depthwise(b),
    }
}
