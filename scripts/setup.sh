#!/usr/bin/env bash
# Idempotent set-up on Debian 12: QGIS from Debian if missing, then .venv (from /usr/bin/python3 with
# --system-site-packages so it sees QGIS) with the pinned requirements. Safe to run again: each step
# checks before it acts. Usage: scripts/setup.sh [--no-ml]
set -euo pipefail
cd "$(dirname "$0")/.."

ML=1
[ "${1:-}" = "--no-ml" ] && ML=0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

need_apt=()
QT_QPA_PLATFORM=offscreen /usr/bin/python3 -c "import qgis.core" 2>/dev/null || need_apt+=(python3-qgis qgis-providers)
command -v Xvfb >/dev/null || need_apt+=(xvfb)
command -v qgis_process >/dev/null || need_apt+=(qgis)  # the desktop app: qgis_process and screenshots
/usr/bin/python3 -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
command -v lrelease >/dev/null || [ -x /usr/lib/qt5/bin/lrelease ] || need_apt+=(qttools5-dev-tools)
command -v pylupdate5 >/dev/null || need_apt+=(pyqt5-dev-tools)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install -q --upgrade pip
fi

stamp_of() { cat "$@" Makefile scripts/setup.sh | sha1sum | cut -c1-16; }

want="dev-$(stamp_of requirements/base.txt requirements/dev.txt)"
if [ "$(cat .venv/.stamp-dev 2>/dev/null)" != "$want" ]; then
    echo "setup: installing requirements/dev.txt"
    .venv/bin/pip install -q -r requirements/dev.txt
    echo "$want" > .venv/.stamp-dev
fi

if [ "$ML" = 1 ]; then
    want="ml-$(stamp_of requirements/base.txt requirements/ml.txt requirements/sam2.txt)"
    if [ "$(cat .venv/.stamp-ml 2>/dev/null)" != "$want" ]; then
        echo "setup: installing requirements/ml.txt (PyTorch is large: the first time takes a few minutes)"
        .venv/bin/pip install -q -r requirements/ml.txt
        # sam2 is a source package whose isolated build would pull another torch: build it against ours.
        SAM2_BUILD_CUDA=0 .venv/bin/pip install -q --no-build-isolation --no-deps -r requirements/sam2.txt
        echo "$want" > .venv/.stamp-ml
    fi
fi
echo "setup: ready (.venv)"
