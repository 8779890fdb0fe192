#!/usr/bin/env bash
# Builds the libtorch (`tch`) betadarts binary that scripts/gpu-check.sh carries to a GPU
# machine. It must match the libtorch *there* (the lent H200 has PyTorch 2.11.0+cu130), so it is
# built against that wheel's headers and libraries, following README "GPU search": tch 0.22 is
# written for 2.9.0, so the version check is skipped, and the CUDA libraries (found at run time
# through torch's own RPATH) are left unresolved at link time.
#
#   scripts/build-gpu-binary.sh                        # PyTorch 2.11.0 (the H200's)
#   TORCH_VERSION=2.9.0 scripts/build-gpu-binary.sh    # a machine with PyTorch 2.9.0
#
# Output: target-gpu/betadarts, stripped (carry it with `carry: ["target-gpu"]`, ≤ 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
version=${TORCH_VERSION:-2.11.0}
root=target/torch-$version
if [ ! -d "$root/torch/lib" ]; then
    mkdir -p "$root"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.12 --dest "$root" "torch==$version"
    unzip -q "$root"/torch-"$version"-*.whl 'torch/include/*' 'torch/lib/*' -d "$root"
fi
[ "$version" = 2.9.0 ] || export LIBTORCH_BYPASS_VERSION_CHECK=1
LIBTORCH="$PWD/$root/torch" CARGO_TARGET_DIR="target/tch-$version" \
    cargo rustc --release --features tch --bin betadarts -- -C link-arg=-Wl,--allow-shlib-undefined
mkdir -p target-gpu
strip -o target-gpu/betadarts "target/tch-$version/release/betadarts"
ls -l target-gpu/betadarts
