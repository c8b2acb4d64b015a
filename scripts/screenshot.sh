#!/usr/bin/env bash
# Save docs/screenshot.png, docs/screenshot-running.png and docs/screenshot-refine.png: a real (Xvfb) window with
# the map canvas, the layer tree and the GeoRSMLLM panel during and after runs against a local backend the plugin
# starts, and while a segmented pond is refined by clicking (scripted demo engine and a colour flood fill standing
# in for SAM2: no model download; the pictures label the results as demo answers).
# Usage: scripts/screenshot.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/screenshot.png}
PY=${PY:-.venv/bin/python}
command -v xvfb-run >/dev/null || { echo "screenshot: xvfb-run not found (apt-get install xvfb)" >&2; exit 1; }
# A real X display, not Qt's offscreen platform that `make` exports for the tests.
QT_QPA_PLATFORM=xcb timeout 300 xvfb-run -a -s "-screen 0 1600x1000x24" "$PY" scripts/screenshot.py "$OUT"
