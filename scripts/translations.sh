#!/usr/bin/env bash
# Update the translation sources (i18n/georsmllm_<locale>.ts) from the plugin's tr("...") calls with
# pylupdate5 (Debian: pyqt5-dev-tools), then compile them to .qm with lrelease (qttools5-dev-tools).
# Existing translations are kept; strings no longer in the code are dropped (-noobsolete).
set -euo pipefail
cd "$(dirname "$0")/.."

LOCALES=(en zh_CN)
PYLUPDATE=${PYLUPDATE:-pylupdate5}
LRELEASE=${LRELEASE:-$(command -v lrelease || echo /usr/lib/qt5/bin/lrelease)}
for tool in "$PYLUPDATE" "$LRELEASE"; do
    if ! command -v "$tool" >/dev/null && [ ! -x "$tool" ]; then
        echo "translations: $tool not found (apt-get install pyqt5-dev-tools qttools5-dev-tools)" >&2
        exit 1
    fi
done

mapfile -t SOURCES < <(find plugin -name '*.py' | sort)
TS_FILES=()
for locale in "${LOCALES[@]}"; do TS_FILES+=("i18n/georsmllm_${locale}.ts"); done

# pylupdate5 prints a locale DeprecationWarning under Python 3.11: harmless.
PYTHONWARNINGS=ignore "$PYLUPDATE" -noobsolete "${SOURCES[@]}" -ts "${TS_FILES[@]}"
for ts in "${TS_FILES[@]}"; do
    "$LRELEASE" -silent "$ts" -qm "${ts%.ts}.qm"
done
echo "translations: ${TS_FILES[*]} -> .qm"
