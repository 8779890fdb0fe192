#!/usr/bin/env bash
# Builds the deploy-only binary for 64-bit ARM (Raspberry Pi 4/5, Jetson):
#   target/aarch64-unknown-linux-gnu/<profile>/betadarts-deploy
# Needs `rustup target add aarch64-unknown-linux-gnu` and Debian's `gcc-aarch64-linux-gnu`
# (`qemu-user` to run it here). PROFILE=device (default: LTO, stripped) or release (faster build).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-device}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
cargo build --profile "$profile" --target aarch64-unknown-linux-gnu -p betadarts-deploy-cli
bin=target/aarch64-unknown-linux-gnu/$profile/betadarts-deploy
ls -l "$bin"
