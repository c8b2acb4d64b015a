"""The server's job table on disk (SQLite, ``jobs.sqlite`` in the work folder), so that jobs outlive the server
process: after a restart they are listed with their state, finished results stay downloadable, and jobs that
were queued or running are marked ``interrupted`` (resumable from their run journal, see ``pipeline.resume``).

One row per job: the summary of its request that listings show, state, times (Unix seconds), result summary,
error, tile counters, and the whole checked request it is resumed with (JSON). Written with write-ahead logging
and ``synchronous=NORMAL``: a committed row survives the server being killed at any moment. Events (with their
live features) are not kept: a job read back from disk has one event, its ending.

One server per work folder (``claim_work_dir``): a second server started on a folder in use (a second QGIS with
its own local server) takes a sibling folder instead of marking the first one's running jobs interrupted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    result TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    tiles_done INTEGER NOT NULL DEFAULT 0,
    tiles_total INTEGER NOT NULL DEFAULT 0,
    spec TEXT NOT NULL DEFAULT '{}'
);
"""


@dataclass
class StoredJob:
    """A job as the table holds it."""

    id: str
    request: dict[str, Any]
    state: str
    created: float
    finished: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    tiles_done: int = 0
    tiles_total: int = 0
    spec: dict[str, Any] = field(default_factory=dict)


class JobStore:
    """The job table. Thread-safe (one connection, a lock around each call)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)

    def save(self, job: StoredJob) -> None:
        """Insert or update a job's row (one transaction)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (id, request, state, created, finished, result, error, tiles_done,"
                " tiles_total, spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.id, _dumps(job.request), job.state, job.created, job.finished, _dumps(job.result), job.error,
                 job.tiles_done, job.tiles_total, _dumps(job.spec)))

    def progress(self, job_id: str, tiles_done: int, tiles_total: int) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET tiles_done = ?, tiles_total = ? WHERE id = ?",
                             (tiles_done, tiles_total, job_id))

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def load(self) -> list[StoredJob]:
        """Every job, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, request, state, created, finished, result, error, tiles_done,"
                                    " tiles_total, spec FROM jobs ORDER BY created").fetchall()
        return [StoredJob(row[0], json.loads(row[1]), row[2], row[3], row[4], json.loads(row[5]), row[6], row[7],
                          row[8], json.loads(row[9])) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class WorkDirLock:
    """An exclusive lock on a work folder (``.lock`` in it), held while the server runs; the operating system
    drops it when the process ends, however it ends."""

    def __init__(self, handle: IO[bytes]):
        self._handle = handle

    def release(self) -> None:
        if not self._handle.closed:
            self._handle.close()  # closing the file releases the lock


def _try_lock(path: Path) -> WorkDirLock | None:
    handle = open(path, "a+b")
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return WorkDirLock(handle)


def claim_work_dir(base: Path, tries: int = 50) -> tuple[Path, WorkDirLock]:
    """``base``, or when another running server holds it, the first free sibling ``<base>-2``, ``<base>-3``...
    (created as needed), locked for this process."""
    for n in range(1, tries + 1):
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        folder.mkdir(parents=True, exist_ok=True)
        lock = _try_lock(folder / ".lock")
        if lock is not None:
            return folder, lock
    raise OSError(f"{tries} servers already use {base} and its siblings: give another --work-dir")
