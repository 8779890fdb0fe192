"""Reads a run's `tb/` folder with TensorBoard's own event reader (EventAccumulator) and prints
every scalar and text series as JSON, for the Rust test to compare with history.jsonl.

usage: tb_events.py RUN_DIR/tb
"""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator

acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
out = {
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
    "texts": {
        t: [[e.step, e.tensor_proto.string_val[0].decode()] for e in acc.Tensors(t)]
        for t in tags["tensors"]
    },
}
print(json.dumps(out))
