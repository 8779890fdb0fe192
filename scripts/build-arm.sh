#!/usr/bin/env bash
# Builds the deploy-only binary for 64-bit ARM (Raspberry Pi 4/5, Jetson):
#   target/aarch64-unknown-linux-gnu/<profile>/betadarts-deploy
# Needs `rustup target add aarch64-unknown-linux-gnu` and Debian's `gcc-aarch64-linux-gnu`
# (`qemu-user` to run it here). PROFILE=device (default: LTO, stripped), device-min (smallest:
# size-optimised, panic = abort, no env-filter) or release (faster build).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-device}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
extra=()
[ "$profile" = device-min ] && extra=(--no-default-features)
cargo build --profile "$profile" --target aarch64-unknown-linux-gnu -p betadarts-deploy-cli "${extra[@]}"
bin=target/aarch64-unknown-linux-gnu/$profile/betadarts-deploy
ls -l "$bin"
