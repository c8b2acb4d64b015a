"""``make package`` makes a zip the official QGIS plugin repository accepts: built here from the working tree
as it would be committed (the same ``git archive`` as ``make package``), then checked as plugins.qgis.org
checks an upload; and the checks refuse what the repository refuses."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_packager():
    spec = importlib.util.spec_from_file_location("package_script", ROOT / "scripts" / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


packager = load_packager()
in_git = shutil.which("git") is not None and subprocess.run(
    ["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    if not in_git:
        pytest.skip("not a git checkout: the package is built with git archive")
    return packager.build(tmp_path_factory.mktemp("dist"), packager.worktree_tree())


def test_the_package_passes_the_repository_checks(package):
    assert packager.check(package) == []
    names = zipfile.ZipFile(package).namelist()
    assert "georsmllm/LICENSE" in names and "georsmllm/resources/capabilities.json" in names
    assert not [n for n in names if n.startswith(("georsmllm/tests/", "georsmllm/scripts/", "georsmllm/.venv"))]
    assert package.stat().st_size < 5_000_000


def test_the_licence_file_is_the_licence_metadata_names():
    from plugin.about import read_metadata

    assert read_metadata()["license"] == "GPL-2.0-or-later"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 2, June 1991" in text
    assert "any later version" in text and "END OF TERMS AND CONDITIONS" in text


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


GOOD_METADATA = (ROOT / "metadata.txt").read_text(encoding="utf-8")


def plugin_files(folder: str = "georsmllm", metadata: str = GOOD_METADATA, **extra: str) -> dict[str, str]:
    files = {f"{folder}/": "", f"{folder}/__init__.py": "def classFactory(iface): ...\n",
             f"{folder}/metadata.txt": metadata, f"{folder}/LICENSE": "GPL",
             f"{folder}/resources/icons/georsmllm.svg": "<svg/>"}
    files.update(extra)
    return files


def test_a_good_minimal_zip_passes(tmp_path):
    assert packager.check(make_zip(tmp_path / "ok.zip", plugin_files())) == []


@pytest.mark.parametrize("files,problem", [
    ({k: v for k, v in plugin_files().items() if not k.endswith("LICENSE")}, "georsmllm/LICENSE is missing"),
    (plugin_files(**{"georsmllm/plugin/__pycache__/x.cpython-311.pyc": "x"}), "compiled files"),
    (plugin_files(**{"georsmllm/plugin/__pycache__/x.cpython-311.pyc": "x"}), "__pycache__ folder"),
    (plugin_files(**{"georsmllm/lib/fast.so": "x"}), "georsmllm/lib/fast.so: compiled files"),
    (plugin_files(**{"georsmllm/.git/config": "x"}), ".git folder"),
    (plugin_files("1plugin"), "must start with an ASCII letter"),
    ({**plugin_files(), "other/readme.txt": "x"}, "exactly one folder"),
    (plugin_files(metadata=GOOD_METADATA.replace("email=", "mail=")), "metadata.txt lacks email"),
    (plugin_files(metadata=GOOD_METADATA.replace("author=", "author=a/b\nx=")), "author cannot contain '/'"),
    (plugin_files(metadata=GOOD_METADATA.replace("tracker=https://", "tracker=")), "tracker is not a web address"),
    (plugin_files(metadata=GOOD_METADATA.replace("about=", "about=100% ")), "cannot be read as the repository"),
    (plugin_files(metadata=GOOD_METADATA.replace("0.1.0 - ", "0.0.9 - ")), "no entry for version 0.1.0"),
    (plugin_files(metadata=GOOD_METADATA.replace("icon=resources", "icon=missing")), "icon missing/icons"),
])
def test_what_the_repository_refuses_is_named(tmp_path, files, problem):
    problems = packager.check(make_zip(tmp_path / "bad.zip", files))
    assert any(problem in p for p in problems), problems


def test_a_zip_over_the_size_limit_is_refused(tmp_path):
    path = make_zip(tmp_path / "big.zip", plugin_files())
    assert "at most" in packager.check(path, max_bytes=path.stat().st_size - 1)[0]


def test_each_changelog_entry_names_one_version_newest_first():
    from plugin.about import read_metadata

    meta = read_metadata()
    lines = [line.strip() for line in meta["changelog"].strip().splitlines()]
    versions = [packager.CHANGELOG_ENTRY.match(line).group(1) for line in lines]
    assert versions[0] == meta["version"]
    assert versions == sorted(set(versions), key=lambda v: tuple(map(int, v.split("."))), reverse=True)
