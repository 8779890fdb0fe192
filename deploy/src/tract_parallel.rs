//! One image's plan with independent nodes on several threads (inter-op parallelism).
//!
//! A DARTS cell's edges are independent chains of small ops (five separable convs side by side
//! in DARTS_V2's normal cell); tract runs a plan's nodes one after another. Splitting each op
//! across threads instead did not pay: every op's map then crossed between the cores' caches
//! (`depthwise.rs`). Here each thread takes a whole node at a time, preferring a consumer of the
//! node it just ran, so a chain stays on one core and only the joins cross.
//!
//! Only for plans whose nodes keep no state between runs and whose shapes are concrete (the
//! engine's fixed-shape plans); [`Parallel::new`] says `None` otherwise. Each node runs the same
//! op on the same inputs as in tract's own loop, so the outputs are the same bits.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use anyhow::Context;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, bail, ensure};
use tract_onnx::tract_core::ops::konst::Const;

type Plan = Arc<TypedRunnableModel>;

/// Where a node's input comes from.
#[derive(Clone)]
enum From {
    /// Output `slot` of step `step`.
    Step(usize, usize),
    Const(TValue),
    /// The model's input `i`.
    Input(usize),
}

/// A node in plan order, with what it reads and who reads it.
struct Step {
    node: usize,
    inputs: Vec<From>,
    /// Steps that read one of its outputs (each once, in plan order).
    consumers: Vec<usize>,
    /// Distinct steps it waits for.
    waits: usize,
    /// Reads of each output (a model output counts one more, never taken).
    reads: Vec<usize>,
}

/// A plan, ready to run on `threads` threads.
pub struct Parallel {
    plan: Plan,
    steps: Vec<Step>,
    /// The model's outputs: (step, slot).
    outputs: Vec<(usize, usize)>,
    threads: usize,
}

/// What the threads share during one run.
struct Shared {
    values: Vec<Vec<Option<TValue>>>,
    reads: Vec<Vec<usize>>,
    waits: Vec<usize>,
    /// Ready steps, lowest (earliest in tract's order) first.
    ready: BinaryHeap<Reverse<usize>>,
    error: Option<TractError>,
}

struct Run<'a> {
    parallel: &'a Parallel,
    inputs: &'a [TValue],
    shared: Mutex<Shared>,
    /// Steps finished (successfully or not), and whether to stop.
    finished: AtomicUsize,
    stop: AtomicBool,
    /// Ready steps not yet taken: what idle threads watch without the lock.
    ready: AtomicUsize,
}

impl Parallel {
    /// `None` when the plan has a node that keeps state, or threads < 2.
    pub fn new(plan: Plan, threads: usize) -> TractResult<Option<Parallel>> {
        let model = plan.model();
        let order = plan.order_without_consts();
        if threads < 2 {
            return Ok(None);
        }
        let ctx = EvalContext::out_of_plan();
        let mut at = vec![usize::MAX; model.nodes().len()];
        let mut steps: Vec<Step> = Vec::with_capacity(order.len());
        for (i, &n) in order.iter().enumerate() {
            let node = model.node(n);
            if node.op.state(&ctx)?.is_some() {
                return Ok(None);
            }
            at[n] = i;
            let mut inputs = Vec::with_capacity(node.inputs.len());
            let mut producers: Vec<usize> = Vec::new();
            for o in &node.inputs {
                let from = model.node(o.node);
                if let Some(k) = from.op_as::<Const>() {
                    inputs.push(From::Const(k.val().clone().into_tvalue()));
                } else if at[o.node] != usize::MAX {
                    let p = at[o.node];
                    steps[p].reads[o.slot] += 1;
                    if !producers.contains(&p) {
                        producers.push(p);
                        steps[p].consumers.push(i);
                    }
                    inputs.push(From::Step(p, o.slot));
                } else {
                    bail!("node {} reads {} before it runs", node.name, from.name);
                }
            }
            let source = model.inputs.iter().position(|o| o.node == n);
            if let (true, Some(s)) = (node.inputs.is_empty(), source) {
                inputs.push(From::Input(s));
            }
            steps.push(Step {
                node: n,
                inputs,
                consumers: Vec::new(),
                waits: producers.len(),
                reads: vec![0; node.outputs.len()],
            });
        }
        let mut outputs = Vec::new();
        for o in model.output_outlets()? {
            let s = at.get(o.node).copied().filter(|&s| s != usize::MAX);
            let s = s.with_context(|| format!("model output {o:?} is no computed node"))?;
            steps[s].reads[o.slot] += 1;
            outputs.push((s, o.slot));
        }
        Ok(Some(Parallel {
            plan,
            steps,
            outputs,
            threads,
        }))
    }

    /// The model's outputs for `inputs`, computed on this thread and `threads − 1` others.
    pub fn run(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.run_with(inputs, &|| {})
    }

    /// [`Parallel::run`], with `setup` run first on each other thread (the engine's panic
    /// reporting is per thread).
    pub fn run_with(
        &self,
        inputs: TVec<TValue>,
        setup: &(dyn Fn() + Sync),
    ) -> TractResult<TVec<TValue>> {
        ensure!(
            inputs.len() == self.plan.model().inputs.len(),
            "{} inputs for a model of {}",
            inputs.len(),
            self.plan.model().inputs.len()
        );
        let ready: BinaryHeap<Reverse<usize>> = (0..self.steps.len())
            .filter(|&s| self.steps[s].waits == 0)
            .map(Reverse)
            .collect();
        let run = Run {
            parallel: self,
            inputs: &inputs,
            ready: AtomicUsize::new(ready.len()),
            shared: Mutex::new(Shared {
                values: self
                    .steps
                    .iter()
                    .map(|s| vec![None; s.reads.len()])
                    .collect(),
                reads: self.steps.iter().map(|s| s.reads.clone()).collect(),
                waits: self.steps.iter().map(|s| s.waits).collect(),
                ready,
                error: None,
            }),
            finished: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        };
        std::thread::scope(|scope| {
            for _ in 1..self.threads {
                scope.spawn(|| {
                    setup();
                    run.work()
                });
            }
            run.work();
        });
        let mut shared = run.shared.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = shared.error.take() {
            return Err(e);
        }
        self.outputs
            .iter()
            .map(|&(s, slot)| {
                shared.values[s][slot]
                    .clone()
                    .with_context(|| format!("output {slot} of step {s} not computed"))
            })
            .collect()
    }
}

impl Run<'_> {
    /// Takes ready steps until all have run (or one failed).
    fn work(&self) {
        // A panic here (in an op) stops the others too; the scope passes it on.
        struct StopOnPanic<'a>(&'a AtomicBool);
        impl Drop for StopOnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(true, SeqCst);
                }
            }
        }
        let _guard = StopOnPanic(&self.stop);
        let total = self.parallel.steps.len();
        let mut next = None;
        let mut spins = 0u32;
        while !self.stop.load(SeqCst) && self.finished.load(SeqCst) < total {
            let step = match next.take() {
                Some(s) => s,
                None => match self.take_ready() {
                    Some(s) => s,
                    None => {
                        // Waiting for another thread's node: usually a few µs.
                        spins = spins.wrapping_add(1);
                        if spins.is_multiple_of(64) {
                            std::thread::yield_now();
                        } else {
                            std::hint::spin_loop();
                        }
                        continue;
                    }
                },
            };
            next = self.run_step(step);
        }
    }

    fn take_ready(&self) -> Option<usize> {
        if self.ready.load(SeqCst) == 0 {
            return None;
        }
        let mut shared = self.lock();
        let s = shared.ready.pop()?.0;
        self.ready.fetch_sub(1, SeqCst);
        Some(s)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `step`; returns a consumer it made ready, to run next on this thread.
    fn run_step(&self, s: usize) -> Option<usize> {
        let step = &self.parallel.steps[s];
        let inputs: TVec<TValue> = {
            let mut shared = self.lock();
            step.inputs
                .iter()
                .map(|from| match from {
                    From::Const(v) => v.clone(),
                    From::Input(i) => self.inputs[*i].clone(),
                    // The last reader takes the value: an op may then reuse its memory.
                    From::Step(p, slot) => {
                        shared.reads[*p][*slot] -= 1;
                        if shared.reads[*p][*slot] == 0 {
                            shared.values[*p][*slot].take()
                        } else {
                            shared.values[*p][*slot].clone()
                        }
                        .expect("a step's inputs are computed before it is ready")
                    }
                })
                .collect()
        };
        let node = self.parallel.plan.model().node(step.node);
        let ctx = EvalContext {
            node_id: step.node,
            ..EvalContext::out_of_plan()
        };
        let out = node
            .op
            .eval(&ctx, inputs)
            .with_context(|| format!("Evaluating {node}"));
        let mut shared = self.lock();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                shared.error.get_or_insert(e);
                self.stop.store(true, SeqCst);
                self.finished.fetch_add(1, SeqCst);
                return None;
            }
        };
        for (slot, v) in out.into_iter().enumerate() {
            if shared.reads[s].get(slot).is_some_and(|&r| r > 0) {
                shared.values[s][slot] = Some(v);
            }
        }
        let mut next = None;
        for &c in &step.consumers {
            shared.waits[c] -= 1;
            if shared.waits[c] == 0 {
                match next {
                    None => next = Some(c),
                    Some(_) => {
                        shared.ready.push(Reverse(c));
                        self.ready.fetch_add(1, SeqCst);
                    }
                }
            }
        }
        self.finished.fetch_add(1, SeqCst);
        next
    }
}

#[cfg(test)]
#[path = "tract_parallel_tests.rs"]
mod tests;
