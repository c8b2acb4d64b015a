"""The set-up's state file inside the venv: which steps are done, with the hash of their inputs, so a
re-run after a failure or a cancel skips them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

STATE_FILE = "georsmllm-env.json"
STATE_VERSION = 1


class SetupState:
    """``steps[name] = {"status": "done"|"failed", "hash": ..., "time": ..., "error": ...}``."""

    def __init__(self, env_dir: str | os.PathLike) -> None:
        self.path = Path(env_dir) / STATE_FILE
        self.data: dict[str, Any] = {"version": STATE_VERSION, "steps": {}}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = None  # a damaged state file only costs re-running steps
            if isinstance(loaded, dict) and loaded.get("version") == STATE_VERSION:
                self.data = loaded
                self.data.setdefault("steps", {})

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        return self.data["steps"]

    def is_done(self, step: str, digest: str) -> bool:
        entry = self.steps.get(step)
        return bool(entry and entry.get("status") == "done" and entry.get("hash") == digest)

    def mark(self, step: str, status: str, digest: str, error: str | None = None, **extra: Any) -> None:
        entry = {"status": status, "hash": digest, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if error:
            entry["error"] = error
        entry.update(extra)
        self.steps[step] = entry
        self.save()

    def forget(self, step: str) -> None:
        if self.steps.pop(step, None) is not None:
            self.save()

    def save(self) -> None:
        if not self.path.parent.is_dir():
            return  # no venv yet: nothing to record in
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a kill mid-write leaves the old state
