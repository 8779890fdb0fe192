//! Progress bars for long jobs (indicatif), fed by the search loop's observer.

use betadarts_search::bilevel::{EpochRecord, Observer, Running};
use indicatif::{ProgressBar, ProgressStyle};

/// A bar for one epoch of `steps` steps.
fn epoch_bar(epoch: usize, epochs: usize, steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {}/{}", epoch + 1, epochs));
    bar
}

/// One bar per epoch, with running loss and accuracy of both steps.
pub struct EpochBars {
    bar: Option<ProgressBar>,
    hidden: bool,
}

impl EpochBars {
    pub fn new(hidden: bool) -> Self {
        Self { bar: None, hidden }
    }
}

impl Observer for EpochBars {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        if self.hidden {
            return;
        }
        self.bar = Some(epoch_bar(epoch, epochs, steps));
    }

    fn step(&mut self, step: usize, train: &Running, arch: &Running) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(format!(
                "w: loss {:.3} acc {:.1}% | α: loss {:.3} acc {:.1}%",
                train.loss(),
                train.acc(),
                arch.loss(),
                arch.acc()
            ));
        }
    }

    fn epoch_end(&mut self, _record: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// One bar per training epoch with running loss and accuracy.
pub struct TrainBars {
    bar: Option<ProgressBar>,
    hidden: bool,
}

impl TrainBars {
    pub fn new(hidden: bool) -> Self {
        Self { bar: None, hidden }
    }
}

impl betadarts_search::retrain::TrainObserver for TrainBars {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        if self.hidden {
            return;
        }
        self.bar = Some(epoch_bar(epoch, epochs, steps));
    }

    fn step(&mut self, step: usize, loss: f64, acc: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(format!("loss {loss:.3} acc {acc:.1}%"));
        }
    }

    fn epoch_end(&mut self, _record: &betadarts_search::retrain::TrainRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
