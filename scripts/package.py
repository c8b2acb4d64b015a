#!/usr/bin/env python3
"""Build the plugin zip (``make package``) and check it as the official QGIS plugin repository checks an
upload (plugins.qgis.org's validator, and its reviewers' rule of no compiled code), so a release is refused
here rather than there.

    python3 scripts/package.py              # dist/georsmllm-<version>.zip from the last commit, checked
    python3 scripts/package.py --worktree   # from the working tree as it would be committed (tests)
    python3 scripts/package.py --check ZIP  # check an existing zip

The zip holds the files ``git archive`` exports (``.gitattributes`` leaves tests and dev files out) under
one folder named after the plugin. Standard library only.
"""

from __future__ import annotations

import argparse
import configparser
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FOLDER = "georsmllm"

#: What the repository refuses (its defaults, as of the LICENSE rule of June 2024).
MAX_BYTES = 25_000_000
REQUIRED_METADATA = ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about", "tracker",
                     "repository")
URL_METADATA = ("tracker", "repository", "homepage")
FORBIDDEN_FOLDERS = ("__MACOSX", ".git", "__pycache__")
#: Compiled code: the validator refuses .pyc; the reviewers refuse binaries in general.
COMPILED_SUFFIXES = (".pyc", ".pyo", ".pyd", ".so", ".dll", ".dylib", ".exe", ".o", ".a", ".lib")
FOLDER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-_]+$")
CHANGELOG_ENTRY = re.compile(r"^(\d+\.\d+\.\d+)\s+-\s+\S")


def _git(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def worktree_tree() -> str:
    """A git tree of the working tree as ``git add -A`` would commit it (a private index; the repository's
    own index and history are untouched)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
        _git("read-tree", "HEAD", env=env)
        _git("add", "-A", env=env)
        return _git("write-tree", env=env)


def version(metadata_text: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(metadata_text)
    return parser["general"]["version"]


def build(out_dir: Path, tree: str = "HEAD") -> Path:
    """``git archive`` of ``tree`` (a commit, or a tree id) as ``<out_dir>/georsmllm-<version>.zip``."""
    metadata = _git("show", f"{tree}:metadata.txt")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{PLUGIN_FOLDER}-{version(metadata)}.zip"
    _git("archive", "--format=zip", f"--prefix={PLUGIN_FOLDER}/", "-o", str(path), tree)
    return path


def check(path: Path, max_bytes: int = MAX_BYTES) -> list[str]:
    """Why the plugin repository would refuse the zip at ``path`` (empty when it would accept it)."""
    size = path.stat().st_size
    if size > max_bytes:
        return [f"the zip is {size / 1e6:.1f} MB; the repository takes at most {max_bytes / 1e6:g} MB"]
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return ["the file is not a zip"]
    with archive:
        names = archive.namelist()
        problems = _check_names(names)
        bad = archive.testzip()
        if bad:
            problems.append(f"{bad} is corrupt in the zip")
        tops = sorted({name.split("/")[0] for name in names})
        if len(tops) != 1 or not names[0].count("/"):
            return problems + [f"the zip must hold exactly one folder, not {', '.join(tops) or 'nothing'}"]
        folder = tops[0]
        if not FOLDER_NAME.match(folder):
            problems.append(f"the folder name {folder!r} must start with an ASCII letter and hold only letters, "
                            "digits, '-' and '_'")
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{folder}/{required}" not in names:
                problems.append(f"{folder}/{required} is missing")
        if f"{folder}/metadata.txt" in names:
            text = archive.read(f"{folder}/metadata.txt").decode("utf-8")
            problems += _check_metadata(text, lambda member: f"{folder}/{member}" in names)
    return problems


def _check_names(names: list[str]) -> list[str]:
    problems = []
    for name in names:
        parts = name.split("/")
        if ".." in parts or name.startswith("/"):
            problems.append(f"{name}: paths in the zip must stay inside it")
        for forbidden in FORBIDDEN_FOLDERS:
            if forbidden in parts[:-1] or (name.endswith("/") and forbidden in parts):
                problems.append(f"{name}: a {forbidden} folder is not allowed")
        if ".pyc" in name or name.lower().endswith(COMPILED_SUFFIXES):
            problems.append(f"{name}: compiled files are not allowed")
    return sorted(set(problems))


def _check_metadata(text: str, has_member) -> list[str]:
    # The repository parses metadata.txt with ConfigParser's default interpolation: a stray "%" fails there.
    parser = configparser.ConfigParser()
    parser.optionxform = str
    try:
        parser.read_file(io.StringIO(text))
        meta = dict(parser.items("general"))
    except (configparser.Error, KeyError) as exc:
        return [f"metadata.txt cannot be read as the repository reads it: {exc}"]
    problems = [f"metadata.txt lacks {key}" for key in REQUIRED_METADATA if not meta.get(key, "").strip()]
    if "/" in meta.get("author", ""):
        problems.append("metadata.txt: the author cannot contain '/'")
    for key in URL_METADATA:
        url = urlparse(meta.get(key, "").strip())
        if key in meta and not (url.scheme in ("http", "https") and url.netloc):
            problems.append(f"metadata.txt: {key} is not a web address")
    icon = meta.get("icon", "").strip().removeprefix("./")
    if icon and not has_member(icon):
        problems.append(f"metadata.txt: the icon {icon} is not in the zip")
    entries = [m.group(1) for m in map(CHANGELOG_ENTRY.match, meta.get("changelog", "").strip().splitlines()) if m]
    if meta.get("version") and meta["version"] not in entries:
        problems.append(f"metadata.txt: the changelog has no entry for version {meta['version']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worktree", action="store_true", help="package the working tree, not the last commit")
    parser.add_argument("--out", default=str(ROOT / "dist"), help="folder for the zip (default dist/)")
    parser.add_argument("--check", metavar="ZIP", help="only check this zip")
    args = parser.parse_args(argv)
    path = Path(args.check) if args.check else build(Path(args.out), worktree_tree() if args.worktree else "HEAD")
    problems = check(path)
    for problem in problems:
        print(f"package: {problem}", file=sys.stderr)
    print(path)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
