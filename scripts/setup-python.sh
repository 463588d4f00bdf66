#!/usr/bin/env bash
# Creates training/.venv and installs training/requirements.txt into it, only when needed.
#
#   bash scripts/setup-python.sh        # progress on stderr; the venv's python path on stdout
#   PY=$(bash scripts/setup-python.sh)  # then: "$PY" training/train.py ... (or -m pytest training/tests)
#
# Idempotent: a stamp file inside the venv holds a hash of requirements.txt and of the base
# interpreter's version; pip runs again only when either changed (or the venv is broken).
# Non-interactive (CI=true, no TTY): pip never prompts. Serialized with flock when available,
# so two callers at once don't install into the same venv.
# Environment: PYTHON (base interpreter, default python3), FRAUD_VENV_DIR (default training/.venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/training/requirements.txt"
VENV="${FRAUD_VENV_DIR:-$ROOT/training/.venv}"
BASE_PY="${PYTHON:-python3}"
STAMP="$VENV/.requirements.stamp"

log() { echo "setup-python: $*" >&2; }

command -v "$BASE_PY" >/dev/null 2>&1 || { log "'$BASE_PY' not found (set PYTHON=...)"; exit 1; }
"$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { log "Python >= 3.10 required, got $("$BASE_PY" --version 2>&1)"; exit 1; }
[[ -f "$REQ" ]] || { log "missing $REQ"; exit 1; }

mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
  exec 9<"$REQ"   # lock the requirements file itself: no extra file left in the tree
  flock 9
fi

want="$( { cat "$REQ"; "$BASE_PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
VPY="$VENV/bin/python"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && "$VPY" -c 'import lightgbm, onnxmltools, onnx, pytest' >/dev/null 2>&1; then
  log "up to date ($VENV)"
  echo "$VPY"
  exit 0
fi

start=$SECONDS
# A venv made by another interpreter version (or left half-made) is rebuilt from scratch.
if [[ -x "$VPY" ]] && [[ "$("$VPY" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$("$BASE_PY" -c 'import sys; print(sys.version)')" ]]; then
  log "venv python differs from $BASE_PY: recreating"
  rm -rf "$VENV"
fi
if [[ ! -x "$VPY" ]]; then
  log "creating venv at $VENV"
  rm -rf "$VENV"
  "$BASE_PY" -m venv "$VENV"
fi

rm -f "$STAMP"
log "installing $(grep -cE '^[A-Za-z0-9]' "$REQ") pinned packages (first time: a minute or so)"
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
"$VPY" -m pip install --quiet -r "$REQ" >&2
"$VPY" -c 'import lightgbm, onnxmltools, onnx, onnxruntime, sklearn, numpy, pytest' >&2
echo "$want" >"$STAMP"
log "done in $((SECONDS - start))s"
echo "$VPY"
