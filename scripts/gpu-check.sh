#!/usr/bin/env bash
# The GPU figures of issue 16, side by side with PyTorch on cuda:0, in one call of the lent
# machine (well under 9 minutes): NB201 search step, DARTS supernet search step and DARTS_V2
# training step, each at the reference batch size and two others, cuDNN benchmark mode on for
# both (betadarts turns it on for every cuda:N device). Prepare and run:
#
#   scripts/build-gpu-binary.sh                                  # here: target-gpu/betadarts
#   device run: scripts/gpu-check.sh   carry: ["target-gpu"]   timeout_s: 560
#
# Tables go to stdout and, one file per workload, to $OUT (the folder the device tool brings
# back) or target-gpu/out.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target-gpu/betadarts}
PY=${PY:-$(command -v python3)}
OUT=${OUT:-target-gpu/out}
mkdir -p "$OUT"

torch_lib=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
    || { echo "== no PyTorch for $PY"; exit 2; }
export LD_LIBRARY_PATH="$torch_lib:${LD_LIBRARY_PATH:-}"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$PY" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0))'
    nproc
} 2>&1 | tee "$OUT/machine.txt"

# 1. Does the carried binary load this libtorch, and run one tiny step on the GPU?
if ! "$BIN" --version > "$OUT/version.txt" 2>&1; then
    echo "== $BIN does not start against $torch_lib:"; cat "$OUT/version.txt"
    ldd "$BIN" | grep "not found"
    exit 3
fi
if ! timeout 120 "$BIN" bench search-step --device cuda:0 --channels 4 --cells 1 \
        --batch-size 2 --image-size 8 --repeats 1 --warmup 1 > "$OUT/smoke.txt" 2>&1; then
    echo "== one tiny search step on cuda:0 failed:"; tail -20 "$OUT/smoke.txt"
    exit 4
fi

# 2. The comparisons: ours and PyTorch alternated, two rounds, five timed steps per round.
status=0
compare() {
    local name=$1 limit=$2; shift 2
    echo "== $name"
    timeout "$limit" "$BIN" bench compare --device cuda:0 --cudnn-benchmark --python "$PY" \
        --rounds 2 --repeats 5 --warmup 2 "$@" 2> "$OUT/$name.log" | tee "$OUT/$name.txt"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || { echo "== $name: exit $rc"; tail -5 "$OUT/$name.log"; status=1; }
}
compare nb201 120 --workload nb201 --batch-size 64,8,256
compare darts 150 --workload darts --batch-size 64,16,128
compare darts-train 180 --workload darts-train --batch-size 96,32,192
exit $status
