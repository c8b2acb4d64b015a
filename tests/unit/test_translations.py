"""Translations are complete: every string the plugin shows (``tr("...")`` in plugin/) is in each
``i18n/*.ts`` with a finished translation that keeps the source's placeholders, and the committed ``.qm``
files are what ``make translations`` builds from them."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_CN",)  # en is the source language: its .ts needs no translations
PLACEHOLDER = re.compile(r"\{(\w+)\}")
#: placeholders a translation may use instead of the source's (plugin/logic/wording.py passes both)
ALIASES = {"labels": {"label"}}


def messages(ts: Path) -> dict[str, ET.Element]:
    return {m.findtext("source"): m.find("translation") for m in ET.parse(ts).iter("message")}


def pylupdate_sources(tmp_path: Path) -> set[str]:
    tool = shutil.which("pylupdate5")
    if tool is None:
        pytest.skip("pylupdate5 not installed (apt-get install pyqt5-dev-tools)")
    sources = sorted(str(p) for p in (ROOT / "plugin").rglob("*.py"))
    out = tmp_path / "extracted.ts"
    subprocess.run([tool, "-noobsolete", *sources, "-ts", str(out)], check=True, capture_output=True, timeout=120,
                   env={"PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin"})
    return set(messages(out))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_of_the_code_is_translated(locale, tmp_path):
    found = messages(ROOT / "i18n" / f"georsmllm_{locale}.ts")
    missing = pylupdate_sources(tmp_path) - set(found)
    assert not missing, f"not in georsmllm_{locale}.ts (run make translations and translate): {sorted(missing)}"
    unfinished = [s for s, t in found.items() if t.get("type") in ("unfinished", "obsolete", "vanished")
                  or not (t.text or "").strip()]
    assert not unfinished, f"untranslated in georsmllm_{locale}.ts: {unfinished}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale):
    for source, translation in messages(ROOT / "i18n" / f"georsmllm_{locale}.ts").items():
        wanted = set(PLACEHOLDER.findall(source))
        allowed = wanted.union(*(ALIASES.get(name, set()) for name in wanted))
        used = set(PLACEHOLDER.findall(translation.text or ""))
        assert used <= allowed, f"{source!r}: the translation uses {used - allowed}"
        assert used >= wanted - set(ALIASES), f"{source!r}: the translation drops {wanted - used}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_committed_qm_is_built_from_the_ts(locale, tmp_path):
    tool = shutil.which("lrelease") or "/usr/lib/qt5/bin/lrelease"
    if not Path(tool).exists():
        pytest.skip("lrelease not installed (apt-get install qttools5-dev-tools)")
    built = tmp_path / "built.qm"
    subprocess.run([tool, "-silent", str(ROOT / "i18n" / f"georsmllm_{locale}.ts"), "-qm", str(built)], check=True,
                   timeout=60)
    assert built.read_bytes() == (ROOT / "i18n" / f"georsmllm_{locale}.qm").read_bytes(), "run make translations"
