"""The run journal: each finished tile of a run, durable the moment it finishes, in a SQLite file beside the
output GeoPackage (``<output>.georsmllm``).

Why a separate file: the GeoPackage is only ever replaced whole (``vector.atomic``), so that a reader never
sees a half-written file and a failed run never damages earlier layers; appending a tile there would mean
rewriting every layer of the run. The journal takes one small transaction per tile instead (O(tile), whatever
the run's size), and the run's layers are written from what it holds.

Durability: write-ahead logging with ``synchronous=NORMAL``: a committed tile survives the process being
killed at any moment (``kill -9``, a crash); after a power cut the last few tiles may be lost (they are
redone on resume), never the file. Where WAL is not available (some network file systems) the default
rollback journal is used.

Contents: ``runs`` (one row per unfinished run: id, run name, state, the recipe it must be resumed with, its
settings, tile count) and ``tiles`` (one row per finished tile: its index, its window in raster pixels
``(col_off, row_off, width, height)``, and a JSON payload the task runner wrote). A run that completes is
deleted, and the file with its last run, so a journal beside an output means unfinished work.

Separate processes may share a journal (SQLite locks it); this process never deletes a journal file another
of its own runs still has open.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..errors import OutputError

#: Appended to the output GeoPackage's path to name its journal.
JOURNAL_SUFFIX = ".georsmllm"
#: SQLite ``application_id`` of a journal ("GRMJ"): another SQLite file with the journal's name is refused.
APPLICATION_ID = 0x47524D4A
SCHEMA_VERSION = 1

#: Run states: working (or killed while working), stopped on request (cancel, SIGTERM, server shutdown),
#: or stopped by an error. All can be resumed; a completed run leaves the journal.
STATES = ("running", "stopped", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    run_name TEXT NOT NULL,
    state TEXT NOT NULL,
    recipe TEXT NOT NULL,
    settings TEXT NOT NULL,
    extra TEXT NOT NULL,
    tiles_total INTEGER NOT NULL,
    owner TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS tiles (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    tile INTEGER NOT NULL,
    window_px TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (run_id, tile)
);
"""

# Journals open in this process, by path: a file is only deleted when no other run here holds it.
_open_counts: dict[str, int] = {}
_open_guard = threading.Lock()


def journal_path(output: str | os.PathLike) -> str:
    """The journal file of an output GeoPackage (absolute path)."""
    return os.path.abspath(os.fspath(output)) + JOURNAL_SUFFIX


@dataclass(frozen=True)
class JournalRun:
    """One run as the journal holds it. ``recipe``: what the run must be resumed with (see ``resume``);
    ``settings``: its ``RunConfig`` (secrets masked); ``extra``: what else it needs to go on (plan, area);
    ``owner``: ``host:pid`` of the process that last worked on it; times are Unix seconds."""

    run_id: str
    run_name: str
    state: str = "running"
    recipe: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    tiles_total: int = 0
    tiles_done: int = 0
    owner: str = ""
    created: float = 0.0
    updated: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class JournalTile:
    """A finished tile: ``index`` in the run's tile plan, ``window`` in raster pixels, the runner's payload."""

    index: int
    window: tuple[int, int, int, int]
    payload: Mapping[str, Any]


def owner_tag() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RunJournal:
    """One open journal file. Thread-safe (one connection, a lock around each call); ``close`` when done."""

    def __init__(self, path: str, *, create: bool = True):
        """Open (``create``: or create) the journal at ``path``. ``OutputError`` when it cannot be written, or
        when a file of that name is not a journal."""
        self.path = os.path.abspath(path)
        self._lock = threading.Lock()
        if not create and not os.path.exists(self.path):
            raise FileNotFoundError(self.path)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise OutputError(f"cannot open the run journal {self.path} ({exc}): choose a writable folder") from None
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise OutputError(f"{self.path} is not a GeoRSMLLM run journal ({exc}): move it away") from None
        except BaseException:
            self._db.close()
            raise
        with _open_guard:
            _open_counts[self.path] = _open_counts.get(self.path, 0) + 1
        self._closed = False

    @classmethod
    def existing(cls, output: str | os.PathLike) -> "RunJournal | None":
        """The journal of ``output`` when there is one, else ``None`` (nothing is created)."""
        path = journal_path(output)
        if not os.path.isfile(path):
            return None
        return cls(path, create=False)

    def _setup(self) -> None:
        db = self._db
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and app_id != APPLICATION_ID:
            raise sqlite3.DatabaseError("another program's SQLite database")
        if app_id == APPLICATION_ID and db.execute("PRAGMA user_version").fetchone()[0] > SCHEMA_VERSION:
            raise sqlite3.DatabaseError("written by a newer version of GeoRSMLLM")
        db.execute("PRAGMA journal_mode = WAL")  # falls back to the rollback journal where WAL is impossible
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        if not tables:
            db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + f"PRAGMA application_id = {APPLICATION_ID};"
                             f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    def _transaction(self):
        """A context manager: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""
        return _Transaction(self._db)

    # -- runs ----------------------------------------------------------------------------------------

    def begin_run(self, run: JournalRun, *, replaceable: Callable[[str, str], bool] | None = None) -> None:
        """Record ``run`` as running by this process (insert, or update a resumed run's row). Earlier runs
        under the same run name for which ``replaceable(state, owner)`` holds are dropped: their layers are
        about to be replaced by this run's (give it for a fresh run; e.g. "not running in a live process")."""
        now = time.time()
        with self._lock, self._transaction():
            if replaceable is not None:
                for other, state, owner in self._db.execute(
                        "SELECT run_id, state, owner FROM runs WHERE run_name = ? AND run_id != ?",
                        (run.run_name, run.run_id)).fetchall():
                    if replaceable(state, owner):
                        self._db.execute("DELETE FROM runs WHERE run_id = ?", (other,))
            self._db.execute(
                "INSERT INTO runs (run_id, run_name, state, recipe, settings, extra, tiles_total, owner, created,"
                " updated, message) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, '')"
                " ON CONFLICT (run_id) DO UPDATE SET state = 'running', tiles_total = excluded.tiles_total,"
                " owner = excluded.owner, updated = excluded.updated, message = ''",
                (run.run_id, run.run_name, _dumps(run.recipe), _dumps(run.settings), _dumps(run.extra),
                 int(run.tiles_total), owner_tag(), run.created or now, now))

    def set_state(self, run_id: str, state: str, message: str = "") -> None:
        if state not in STATES:
            raise ValueError(f"journal state must be one of {STATES}, got {state!r}")
        with self._lock, self._transaction():
            self._db.execute("UPDATE runs SET state = ?, message = ?, updated = ? WHERE run_id = ?",
                             (state, message[:2000], time.time(), run_id))

    def runs(self) -> list[JournalRun]:
        """Every run in the journal, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT r.run_id, r.run_name, r.state, r.recipe, r.settings, r.extra, r.tiles_total,"
                " (SELECT count(*) FROM tiles t WHERE t.run_id = r.run_id), r.owner, r.created, r.updated,"
                " r.message FROM runs r ORDER BY r.created").fetchall()
        return [JournalRun(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]), json.loads(row[5]),
                           *row[6:]) for row in rows]

    def run(self, run_id: str) -> JournalRun | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def delete_run(self, run_id: str) -> None:
        """Forget a run and its tiles (it completed, or was replaced)."""
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

    # -- tiles ---------------------------------------------------------------------------------------

    def add_tile(self, run_id: str, index: int, window: Sequence[int], payload: Mapping[str, Any]) -> None:
        """Record a finished tile (one transaction; durable when this returns)."""
        with self._lock, self._transaction():
            self._db.execute("INSERT OR REPLACE INTO tiles (run_id, tile, window_px, payload) VALUES (?, ?, ?, ?)",
                             (run_id, int(index), json.dumps([int(v) for v in window]), _dumps(payload)))

    def tiles(self, run_id: str) -> list[JournalTile]:
        """The run's finished tiles, by tile index."""
        with self._lock:
            rows = self._db.execute("SELECT tile, window_px, payload FROM tiles WHERE run_id = ? ORDER BY tile",
                                    (run_id,)).fetchall()
        return [JournalTile(index, tuple(json.loads(window)), json.loads(payload)) for index, window, payload in rows]

    # -- the file ------------------------------------------------------------------------------------

    def close(self, *, remove_if_empty: bool = False) -> None:
        """Close; with ``remove_if_empty`` also delete the file when it holds no run and no other run in this
        process has it open (a journal beside an output then always means unfinished work)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            empty = remove_if_empty and self._db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
            self._db.close()
        with _open_guard:
            left = _open_counts.get(self.path, 1) - 1
            if left:
                _open_counts[self.path] = left
            else:
                _open_counts.pop(self.path, None)
            if empty and not left:
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.remove(self.path + suffix)
                    except FileNotFoundError:
                        pass
                    except OSError:
                        break  # e.g. held open by another program on Windows: an empty journal is harmless

    def __enter__(self) -> "RunJournal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error as err:
                exc = err
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        if isinstance(exc, sqlite3.Error):  # e.g. a full disk: say what could not be written
            raise OutputError(f"cannot write the run journal ({exc})") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def iter_journal_runs(output: str | os.PathLike) -> Iterator[JournalRun]:
    """The runs in ``output``'s journal (none when it has no journal)."""
    journal = RunJournal.existing(output)
    if journal is None:
        return
    try:
        yield from journal.runs()
    finally:
        journal.close()
