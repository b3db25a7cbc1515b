#!/usr/bin/env bash
# tools/setup.sh (make setup): install what `make test` needs and is missing, from Debian apt, npm
# and the Go module proxy only, saying what it installs. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Debian packages: Chromium for the browser tests; ffmpeg for collect propose on a video
# (make test-collect-video); PyTorch, ONNX, Pillow and numpy for the training tests
# (/usr/bin/python3: the recipe uses Debian's Python, not one earlier on PATH).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1 || need+=(python3-torchvision)
/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || need+=(python3-onnx)
/usr/bin/python3 -c 'import PIL, numpy' >/dev/null 2>&1 || need+=(python3-pil python3-numpy)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  echo "setup: Debian packages present (chromium, ffmpeg, python3-torch, -torchvision, -onnx, -pil, -numpy)"
fi

# Node packages, pinned by package-lock.json, when node_modules is missing or older than the lock.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
   [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci (package-lock.json)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  touch node_modules/.package-lock.json
else
  echo "setup: node_modules up to date"
fi

# Go: the Makefile's GOTOOLCHAIN makes the go command fetch go1.27.3 from the module proxy.
echo "setup: $(go version)"
