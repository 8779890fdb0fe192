//! The contributor's recipe, proven: a stateful regularizer written in this one file and
//! registered by one row (in [`super::TEST_ROWS`], which only unit tests see) parses from its
//! name, runs in a search, records its own history field and resumes exactly from a checkpoint.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Entry, Regularizer, RegularizerKind, decay::beta_over_rows, logsumexp_rows};
use crate::bilevel::{SearchConfig, SilentObserver, read_history, resume, run_search};

/// β-decay whose strength grows with every α step it has seen: state that must survive resume.
#[derive(Serialize, Deserialize)]
struct GrowingDecay {
    steps: u64,
}

impl GrowingDecay {
    fn weight(&self) -> f64 {
        1.0 + 0.1 * self.steps as f64
    }
}

impl Regularizer for GrowingDecay {
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        logsumexp_rows(alpha).mean() * self.weight()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        let w = self.weight() as f32;
        beta_over_rows(alpha, k)
            .into_iter()
            .map(|g| g * w)
            .collect()
    }
    fn observe(&mut self, _: &[Vec<f32>], _: &[Vec<f32>], _: usize, _: f64) {
        self.steps += 1;
    }
    fn state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        *self = serde_json::from_value(state).map_err(|e| e.to_string())?;
        Ok(())
    }
    fn history(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![("alpha_steps", serde_json::json!(self.steps))]
    }
}

/// The one registry row.
pub(super) const ROW: Entry = Entry {
    name: "test-growing",
    about: "test only: β-decay growing with every α step",
    uses_lambda: true,
    build: |_| Box::new(GrowingDecay { steps: 0 }),
};

/// Copies a run directory (files and sub-folders).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

// Compared with itself resumed twice, not with an uninterrupted run: burn's generator is global
// to the process and other unit tests draw from it concurrently, so two fresh runs here need not
// start alike. (Resumed = uninterrupted is tested across processes in tests/regularizers.rs.)
#[test]
fn a_registered_stateful_regularizer_searches_records_and_resumes_its_state() {
    let kind: RegularizerKind = "test-growing".parse().unwrap();
    assert!(RegularizerKind::all().any(|k| k == kind));
    let config = SearchConfig {
        regularizer: kind,
        epochs: 2,
        steps_per_epoch: Some(2),
        batch_size: 4,
        channels: 2,
        cells: 1,
        image_size: Some(8),
        ..SearchConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let (part, again) = (dir.path().join("part"), dir.path().join("again"));
    let device = Device::flex();
    run_search(config, &part, &device, Some(1), &mut SilentObserver).unwrap();
    copy_dir(&part, &again);
    resume(&part, &device, None, &mut SilentObserver).unwrap();
    resume(&again, &device, None, &mut SilentObserver).unwrap();
    let strip = |mut h: Vec<crate::bilevel::EpochRecord>| {
        h.iter_mut().for_each(|r| r.seconds = 0.0);
        h
    };
    let a = strip(read_history(&part.join("history.jsonl")).unwrap());
    let b = strip(read_history(&again.join("history.jsonl")).unwrap());
    // The state came back from the checkpoint: the count goes on from 2, not from 0.
    let steps: Vec<_> = a
        .iter()
        .map(|r| r.regularizer["alpha_steps"].clone())
        .collect();
    assert_eq!(steps, [serde_json::json!(2), serde_json::json!(4)]);
    assert_eq!(a, b, "a resumed run depends on its checkpoint alone");
}
