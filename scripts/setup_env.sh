#!/usr/bin/env bash
# Create ./.venv and install the pinned requirements (skipped when requirements.txt has not changed).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
stamp="$VENV/.requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setting up $VENV (a few minutes the first time)..."
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip 'setuptools<81' wheel
# torch first, from the pins; visdom builds from source and needs the old setuptools without build isolation
"${pip[@]}" "$(grep '^torch==' requirements.txt)" "$(grep '^torchvision==' requirements.txt)"
"${pip[@]}" --no-build-isolation "$(grep '^visdom' requirements.txt)"
"${pip[@]}" -r requirements.txt
echo "$want" > "$stamp"
echo "$VENV is ready"
