"""Following a backend job (plugin side): events, reconnects from the right index, cancel, errors, a dead
or silent backend. A fake client stands in for the HTTP layer; every wait is bounded."""

from __future__ import annotations

import json
import threading
import time

import pytest

from plugin.logic.client import BackendUnreachable
from plugin.logic.follow import FollowLimits, JobCancelled, JobFailed, JobSucceeded, follow_job
from plugin.logic.sse import SseEvent

FAST = FollowLimits(poll=0.02, cancel_grace=0.5, reconnect_tries=2, reconnect_pause=0.01)


def ev(index, kind, **payload):
    return SseEvent(event=kind, data=json.dumps({"kind": kind, **payload}), id=str(index))


class FakeStream:
    """Yields ``items`` (an exception item is raised); then ends, or blocks until closed if ``hang``."""

    def __init__(self, items, hang=False):
        self.items = items
        self.hang = hang
        self.closed = threading.Event()

    def __iter__(self):
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            yield item
        if self.hang:
            self.closed.wait(10)

    def close(self):
        self.closed.set()


class FakeClient:
    """``streams``: one list per connection; ``after_cancel``: events served once cancel was called."""

    def __init__(self, *streams, hang=False, after_cancel=None):
        self.streams = list(streams)
        self.hang = hang
        self.after_cancel = after_cancel
        self.starts = []
        self.cancels = 0
        self.opened = []

    def events(self, job_id, start=0):
        self.starts.append(start)
        if self.cancels and self.after_cancel is not None:
            stream = FakeStream([e for e in self.after_cancel if int(e.id) >= start])
        elif not self.streams:
            raise BackendUnreachable("connection refused")
        else:
            stream = FakeStream(self.streams.pop(0), hang=self.hang)
        self.opened.append(stream)
        return stream

    def cancel(self, job_id):
        self.cancels += 1
        for stream in self.opened:  # the server's reaction: the open stream gets the cancelled event
            stream.close()
        self.streams = []


def test_events_then_done():
    client = FakeClient([ev(0, "plan", message="p"), ev(1, "tile", tiles_done=1, tiles_total=2,
                                                         features=[{"type": "Feature"}]),
                         ev(2, "tile", tiles_done=2, tiles_total=2), ev(3, "done", data={"counts": {"a": 2}})])
    seen = []
    outcome = follow_job(client, "j", on_event=seen.append, limits=FAST)
    assert outcome == JobSucceeded("j", {"counts": {"a": 2}})
    assert [(e.kind, e.tiles_done, e.index) for e in seen] == [("plan", 0, 0), ("tile", 1, 1), ("tile", 2, 2)]
    assert seen[1].features == ({"type": "Feature"},)


def test_a_broken_stream_resumes_from_the_next_event_without_duplicates():
    first = [ev(0, "plan"), ev(1, "tile", tiles_done=1), BackendUnreachable("reset")]
    second = [ev(1, "tile", tiles_done=1), ev(2, "tile", tiles_done=2), ev(3, "done", data={})]
    client = FakeClient(first, second)
    seen = []
    outcome = follow_job(client, "j", on_event=seen.append, limits=FAST)
    assert isinstance(outcome, JobSucceeded)
    assert client.starts == [0, 2]
    assert [e.index for e in seen] == [0, 1, 2]


def test_a_resumed_job_is_followed_from_its_first_new_event():
    client = FakeClient([ev(5, "tile", tiles_done=4, tiles_total=5), ev(6, "done", data={"partial": False})])
    seen = []
    outcome = follow_job(client, "j", on_event=seen.append, limits=FAST, start=5)
    assert client.starts == [5] and outcome == JobSucceeded("j", {"partial": False})
    assert [e.index for e in seen] == [5]


def test_a_job_the_server_stopped_is_a_failure_naming_how_to_resume():
    client = FakeClient([ev(0, "interrupted", message="the server stopped ... resume it")])
    outcome = follow_job(client, "j", on_event=lambda e: None, limits=FAST)
    assert outcome == JobFailed("the server stopped ... resume it", "j")


def test_error_event_fails_with_the_servers_message():
    client = FakeClient([ev(0, "plan"), ev(1, "error", message="raster is corrupt")])
    outcome = follow_job(client, "j", on_event=lambda e: None, limits=FAST)
    assert outcome == JobFailed("raster is corrupt", "j")


def test_cancel_asks_the_server_once_and_returns_its_partial_result():
    cancelled = ev(2, "cancelled", data={"partial": True, "tiles_done": 1})
    client = FakeClient([ev(0, "plan"), ev(1, "tile", tiles_done=1)], hang=True,
                        after_cancel=[ev(0, "plan"), ev(1, "tile"), cancelled])
    seen = []
    outcome = follow_job(client, "j", on_event=seen.append, is_cancelled=lambda: len(seen) >= 2, limits=FAST)
    assert outcome == JobCancelled("j", {"partial": True, "tiles_done": 1})
    assert client.cancels == 1 and client.starts[-1] == 2


def test_an_unconfirmed_cancel_gives_up_after_the_grace_period():
    client = FakeClient([ev(0, "plan")], hang=True)
    client.cancel = lambda job_id: None  # the server never answers the cancel with an event
    started = time.monotonic()
    outcome = follow_job(client, "j", on_event=lambda e: None, is_cancelled=lambda: True, limits=FAST)
    assert isinstance(outcome, JobCancelled) and "did not confirm" in outcome.result["message"]
    assert time.monotonic() - started < 3


def test_a_backend_that_went_away_fails_after_bounded_retries():
    client = FakeClient([ev(0, "plan"), BackendUnreachable("reset")])
    started = time.monotonic()
    outcome = follow_job(client, "j", on_event=lambda e: None, limits=FAST)
    assert isinstance(outcome, JobFailed) and "stopped answering" in outcome.message
    assert time.monotonic() - started < 3


def test_a_silent_stream_with_a_dead_process_reports_the_process():
    client = FakeClient([ev(0, "plan")], hang=True)
    deaths = iter([None, None, "the local backend exited with status -9"])
    outcome = follow_job(client, "j", on_event=lambda e: None, liveness=lambda: next(deaths, "dead"), limits=FAST)
    assert outcome == JobFailed("the local backend exited with status -9", "j")


def test_no_stream_at_all_fails_at_once():
    outcome = follow_job(FakeClient(), "j", on_event=lambda e: None, limits=FAST)
    assert isinstance(outcome, JobFailed) and "refused" in outcome.message


@pytest.mark.parametrize("module", ["sse", "client", "follow", "local_server", "service"])
def test_pure_plugin_modules_import_without_qgis(module):
    import subprocess
    import sys

    code = (f"import sys; import plugin.logic.{module}; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5')]; assert not bad, bad")
    out = subprocess.run([sys.executable, "-c", code], cwd=__file__.rsplit("/tests/", 1)[0],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
