#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
ldconfig -p | grep -q libseccomp.so.2 || need_apt+=(libseccomp2)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python -m pip install -q -r requirements.txt -r requirements-test.txt
export LITELLM_LOCAL_MODEL_COST_MAP=True
python -m pytest "$@"
