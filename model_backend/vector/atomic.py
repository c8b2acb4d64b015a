"""Atomic file replacement: build a new version beside the target, then rename it into place.

The new version is written in a private temporary folder created in the target's own folder (same
file system, so ``os.replace`` is an atomic rename). Until that rename the target is never opened for
writing; on any failure, including ``KeyboardInterrupt``, the temporary folder is removed and the
target is left byte-identical. Readers that already hold the old file open (QGIS) keep reading the
old version until they reopen it.

One lock per target path serialises writers within this process; separate processes writing the
same file at the same moment are not coordinated (the last rename wins).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from typing import Iterator

from ..errors import OutputError

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def check_target(path: str | os.PathLike) -> str:
    """The absolute target path, or ``OutputError`` when it is a directory or its folder is missing."""
    target = os.path.abspath(os.fspath(path))
    if os.path.isdir(target):
        raise OutputError(f"output path {target} is a folder: give a file name inside it")
    folder = os.path.dirname(target)
    if not os.path.exists(folder):
        raise OutputError(f"output folder {folder} does not exist: create it or choose another")
    if not os.path.isdir(folder):
        raise OutputError(f"output folder {folder} is not a folder: choose another output path")
    return target


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_replace(path: str | os.PathLike, *, copy_existing: bool = False) -> Iterator[str]:
    """Yield a temporary file path to build the new version of ``path`` in; on normal exit it
    replaces ``path`` atomically. With ``copy_existing`` the temporary file starts as a copy of the
    existing target (to add to it). The temporary path keeps the target's file name (drivers pick
    their format by extension). Raises ``OutputError`` when the folder cannot be written."""
    target = check_target(path)
    folder, name = os.path.split(target)
    with _lock_for(target):
        try:
            tmp_dir = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(
                f"cannot write in folder {folder} ({exc.strerror or exc}): choose a writable folder"
            ) from exc
        try:
            tmp = os.path.join(tmp_dir, name)
            exists = os.path.exists(target)
            try:
                if exists and copy_existing:
                    shutil.copyfile(target, tmp)
            except OSError as exc:
                raise OutputError(f"cannot copy {target} to update it ({exc.strerror or exc})") from exc
            yield tmp
            if not os.path.exists(tmp):
                raise OutputError(f"nothing was written for {target}")
            try:
                mode = stat.S_IMODE(os.stat(target).st_mode) if exists else _default_mode()
                os.chmod(tmp, mode)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except OSError as exc:
                raise OutputError(
                    f"cannot replace {target} ({exc.strerror or exc}); if it is open in another "
                    "program (e.g. a layer in QGIS on Windows), close it or choose another file"
                ) from exc
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
