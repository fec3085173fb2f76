#!/usr/bin/env bash
# Installs what the app needs (requirements.txt). torch is pinned: an unpinned torch
# pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt
