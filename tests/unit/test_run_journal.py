"""The run journal (a SQLite file beside the output): tiles durable as they are added, runs listed and found
for resuming, the file gone with its last run, foreign files refused; geometry objects stored exactly."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys

import pytest

from model_backend.errors import ConfigError, OutputError
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget
from model_backend.geometry.codec import object_from_dict, object_to_dict
from model_backend.pipeline.journal import JournalRun, RunJournal, iter_journal_runs, journal_path
from model_backend.pipeline.resume import find_resumable, recipe_differences


@pytest.mark.parametrize("obj", [
    RotatedBox(((0.1, 0.2), (10.5, 0.2), (10.5, 5.25), (0.1, 5.25)), label="plane", score=0.8125),
    SegTarget((1, 2, 30, 40), ((5.5, 6.5), (7, 8)), label="lake"),
    PolygonRegion(((0, 0), (10, 0), (10, 10), (0, 10)), holes=(((2, 2), (4, 2), (4, 4)),), score=1 / 3),
    GeoPoint(47.123456789, -99.987654321, label="location"),
])
def test_geometry_objects_round_trip_exactly(obj):
    import json

    back = object_from_dict(json.loads(json.dumps(object_to_dict(obj))))
    assert back == obj and back.label == obj.label and back.score == obj.score


def test_malformed_object_is_a_value_error():
    with pytest.raises(ValueError, match="unknown"):
        object_from_dict({"kind": "circle"})
    with pytest.raises(ValueError, match="rotated_box"):
        object_from_dict({"kind": "rotated_box"})


def _run(run_id: str, name: str = "ships", **recipe) -> JournalRun:
    return JournalRun(run_id=run_id, run_name=name, recipe=recipe or {"instruction": "ships"},
                      settings={"instruction": "ships", "api_key": "***"}, extra={"plan": {}}, tiles_total=4)


def test_tiles_are_durable_as_added_and_read_back_in_tile_order(tmp_path):
    out = tmp_path / "out.gpkg"
    journal = RunJournal(journal_path(out))
    journal.begin_run(_run("r1"))
    journal.add_tile("r1", 3, (300, 0, 128, 128), {"candidates": [], "warnings": ["w"]})
    journal.add_tile("r1", 1, (100, 0, 128, 128), {"candidates": [{"kind": "geo_point", "lat": 1.0, "lon": 2.0}]})
    # another connection (another process) sees both tiles while the writer is still open
    other = sqlite3.connect(journal_path(out))
    assert other.execute("SELECT count(*) FROM tiles").fetchone()[0] == 2
    other.close()
    tiles = journal.tiles("r1")
    assert [t.index for t in tiles] == [1, 3] and tiles[0].window == (100, 0, 128, 128)
    assert tiles[1].payload == {"candidates": [], "warnings": ["w"]}
    journal.close()
    [run] = list(iter_journal_runs(out))
    assert (run.run_id, run.state, run.tiles_done, run.tiles_total) == ("r1", "running", 2, 4)


def test_the_file_goes_with_its_last_run_but_not_while_another_run_has_it_open(tmp_path):
    out = tmp_path / "out.gpkg"
    first, second = RunJournal(journal_path(out)), RunJournal(journal_path(out))
    first.begin_run(_run("r1"))
    first.delete_run("r1")
    first.close(remove_if_empty=True)
    assert (tmp_path / "out.gpkg.georsmllm").exists()  # the second journal is still open
    second.close(remove_if_empty=True)
    assert not any(p.name.startswith("out.gpkg.georsmllm") for p in tmp_path.iterdir())


def test_a_new_run_under_the_same_name_replaces_those_nobody_works_on(tmp_path):
    from model_backend.pipeline.resume import _replaceable

    out = tmp_path / "out.gpkg"
    with RunJournal(journal_path(out)) as journal:
        journal.begin_run(_run("old"))
        journal.set_state("old", "stopped", "cancelled")
        journal.begin_run(_run("busy"))
        journal.begin_run(_run("killed"))
        journal.begin_run(_run("other", "planes"))
    db = sqlite3.connect(journal_path(out))
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        host = socket.gethostname()
        db.execute("UPDATE runs SET owner = ? WHERE run_id = 'busy'", (f"{host}:{child.pid}",))
        db.execute("UPDATE runs SET owner = ? WHERE run_id = 'killed'", (f"{host}:{dead.stdout.strip()}",))
        db.commit()
        with RunJournal(journal_path(out)) as journal:
            journal.begin_run(_run("new"), replaceable=_replaceable)
            # the stopped run and the one whose process is gone make way; the one a live process runs stays
            assert sorted(r.run_id for r in journal.runs()) == ["busy", "new", "other"]
    finally:
        child.kill()
        child.wait()
        db.close()


def test_another_sqlite_file_with_the_journal_name_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "out.gpkg"
    db = sqlite3.connect(journal_path(out))
    db.execute("CREATE TABLE mine (x)")
    db.commit()
    db.close()
    before = (tmp_path / "out.gpkg.georsmllm").read_bytes()
    with pytest.raises(OutputError, match="not a GeoRSMLLM run journal"):
        RunJournal(journal_path(out))
    assert (tmp_path / "out.gpkg.georsmllm").read_bytes() == before


def test_find_resumable_says_what_there_is(tmp_path):
    out = tmp_path / "out.gpkg"
    with pytest.raises(ConfigError, match="no run journal"):
        find_resumable(str(out))
    with RunJournal(journal_path(out)) as journal:
        journal.begin_run(_run("a1", "ships"))
        journal.begin_run(_run("b2", "planes"))
    with pytest.raises(ConfigError, match="several unfinished runs.*a1 \\(ships.*b2 \\(planes"):
        find_resumable(str(out))
    assert find_resumable(str(out), run_name="planes").run_id == "b2"
    assert find_resumable(str(out), run_id="a1").run_name == "ships"
    with pytest.raises(ConfigError, match="no run zz"):
        find_resumable(str(out), run_id="zz")


def test_recipe_differences_name_each_changed_item():
    stored = {"instruction": "ships", "tile_size": 512, "raster": {"path": "/a.tif", "bytes": 10}}
    now = {"instruction": "planes", "tile_size": 512, "raster": {"path": "/a.tif", "bytes": 11}}
    diffs = recipe_differences(stored, now)
    assert diffs == ['instruction: "ships" in the journal, "planes" now',
                     'raster: {"bytes": 10, "path": "/a.tif"} in the journal, {"bytes": 11, "path": "/a.tif"} now']
    assert recipe_differences(stored, dict(stored)) == []
