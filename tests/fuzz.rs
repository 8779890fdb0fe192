//! Mutation fuzzing on stable Rust. Every reader of outside data (`fuzz_targets.rs`) has a
//! checked-in seed corpus, `tests/corpus/<target>/`; each seed must be accepted as it is, then
//! mutated inputs (bytes overwritten, cut, duplicated, inserted, length-like fields set huge,
//! two seeds spliced) are read for a bounded time per target: `BETADARTS_FUZZ_SECONDS` (1 s by
//! default; set it higher for a longer campaign). Every result must be Ok or an error: never a
//! panic, and never a case that runs longer than 20 s (a hang); `BETADARTS_FUZZ_TARGETS`
//! (comma-separated) picks targets. Seeded from the target's name,
//! so a failure reproduces; the failing input is written to `$CARGO_TARGET_TMPDIR`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use betadarts_search::rng::Rng;

/// A reader under test: true when it accepted the input, false for a clean error.
pub(crate) type Read<'a> = Box<dyn Fn(&[u8]) -> bool + 'a>;

pub(crate) fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target)
}

/// One to four random edits of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = rng.next_u64() as u8;
            }
            1 => v.truncate(at),
            2 => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                v.splice(at..at, piece);
            }
            3 => v.insert(at, [0u8, 0xff, b'9', b'(', b'|', b',', b'\n'][rng.below(7)]),
            _ if !v.is_empty() => {
                // A length-like field set huge: the classic allocation bomb.
                let i = at.min(v.len() - 1);
                let end = (i + 8).min(v.len());
                v[i..end].iter_mut().for_each(|b| *b = 0xff);
            }
            _ => {}
        }
    }
    v
}

/// The head of one seed joined to the tail of another.
fn splice(a: &[u8], b: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = a[..rng.below(a.len() + 1)].to_vec();
    v.extend_from_slice(&b[rng.below(b.len() + 1)..]);
    v
}

fn keep(name: &str, case: usize, input: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{name}-{case}"));
    let _ = std::fs::write(&path, input);
    path
}

/// The case being run, shared with the watchdog (kept in memory: a file per case was the
/// driver's main cost on the fast targets).
type Current = Arc<std::sync::Mutex<(usize, Vec<u8>)>>;

/// Exits the process when one case runs past `limit`, writing that case's input first: a hang
/// must fail the suite, not stall it.
fn watchdog(
    name: &'static str,
    started: Arc<AtomicU64>,
    current: Current,
    t0: Instant,
    limit: Duration,
) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let s = started.load(Ordering::Relaxed);
            if s == u64::MAX {
                return;
            }
            if t0.elapsed().as_millis() as u64 > s + limit.as_millis() as u64 {
                let (case, input) = current.lock().map(|c| c.clone()).unwrap_or_default();
                eprintln!(
                    "fuzz {name}: case {case} ran past {limit:?} (a hang); input kept in {}",
                    keep(name, case, &input).display()
                );
                std::process::exit(101);
            }
        }
    });
}

pub(crate) struct Outcome {
    pub cases: usize,
    pub accepted: usize,
}

/// Seeds, then mutations for `budget`; panics (with the input kept) on a panicking case.
pub(crate) fn run(name: &'static str, read: &Read<'_>, budget: Duration) -> Outcome {
    // A panicking reader fails the test at once, so no broken state is observed after it.
    let read = std::panic::AssertUnwindSafe(read);
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(corpus_dir(name))
        .unwrap_or_else(|e| panic!("corpus of {name}: {e}"))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{name}: empty corpus");
    for (path, bytes) in &seeds {
        let accepted = std::panic::catch_unwind(|| read(bytes));
        assert!(
            matches!(accepted, Ok(true)),
            "{name}: seed {} is not accepted as it is",
            path.display()
        );
    }
    let mut rng = Rng::new(
        name.bytes()
            .fold(0x5eed, |h, b| h.wrapping_mul(31) ^ b as u64),
    );
    let t0 = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let current: Current = Default::default();
    watchdog(
        name,
        started.clone(),
        current.clone(),
        t0,
        Duration::from_secs(20),
    );
    let (mut cases, mut accepted) = (0, 0);
    while t0.elapsed() < budget {
        let a = &seeds[rng.below(seeds.len())].1;
        let input = if rng.below(8) == 0 {
            let b = &seeds[rng.below(seeds.len())].1;
            mutate(&splice(a, b, &mut rng), &mut rng)
        } else {
            mutate(a, &mut rng)
        };
        if let Ok(mut c) = current.lock() {
            c.0 = cases;
            c.1.clone_from(&input);
        }
        started.store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        match std::panic::catch_unwind(|| read(&input)) {
            Ok(ok) => accepted += ok as usize,
            Err(_) => panic!(
                "{name}: case {cases} panicked; input kept in {}",
                keep(name, cases, &input).display()
            ),
        }
        cases += 1;
    }
    started.store(u64::MAX, Ordering::Relaxed);
    Outcome { cases, accepted }
}

pub(crate) fn budget() -> Duration {
    let secs = std::env::var("BETADARTS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

#[test]
fn readers_of_outside_data_never_panic() {
    let ctx = crate::fuzz_targets::Ctx::new();
    let budget = budget();
    // BETADARTS_FUZZ_TARGETS=onnx,http runs only those (for a longer campaign on a few).
    let only = std::env::var("BETADARTS_FUZZ_TARGETS").ok();
    let chosen = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|t| t == name))
    };
    for (name, read) in crate::fuzz_targets::targets(&ctx) {
        if !chosen(name) {
            continue;
        }
        let o = run(name, &read, budget);
        eprintln!(
            "fuzz {name:<14} {:>6} cases, {:>5} accepted",
            o.cases, o.accepted
        );
    }
    ctx.finish();
}
