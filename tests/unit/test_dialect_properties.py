"""Property tests of every dialect: format -> parse round trips on each dialect's integer grid, and
parsers that never crash nor return invalid geometry on random or damaged answers."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from model_backend.dialects import Florence2Dialect, available_dialects, get_dialect
from model_backend.dialects.geochat import rotate_box
from model_backend.geometry import GeoPoint, ParseResult, PolygonRegion, RotatedBox, SegTarget, box_corners
from model_backend.geometry.rings import sanitize_ring
from model_backend.tasks import Task

SETTINGS = dict(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.tuples(st.integers(1, 4000), st.integers(1, 4000))
words = st.lists(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6), min_size=1, max_size=3).map(
    " ".join
)
maybe_label = st.none() | words


# -- grids: integer coordinates of each dialect and their pixel values ------------------------------
class Grid:
    """Integer model coordinates 0..(fx, fy) (Florence: bins 0..999) and their pixel positions."""

    def __init__(self, dialect, size, kind="norm"):
        self.size = size
        self.kind = kind
        if kind == "florence":
            self.fx = self.fy = 999
        elif kind == "geochat":
            self.fx = self.fy = 100
        else:
            self.fx, self.fy = dialect.frame(size) if hasattr(dialect, "frame") else (1000, 1000)

    def px(self, nx: int, ny: int) -> tuple[float, float]:
        w, h = self.size
        if self.kind == "florence":
            return ((nx + 0.5) / 1000 * w, (ny + 0.5) / 1000 * h)
        return (nx / self.fx * w, ny / self.fy * h)


def grid_point(draw, g: Grid):
    return g.px(draw(st.integers(0, g.fx)), draw(st.integers(0, g.fy)))


def grid_box(draw, g: Grid):
    x1, x2 = sorted(draw(st.lists(st.integers(0, g.fx), min_size=2, max_size=2, unique=True)))
    y1, y2 = sorted(draw(st.lists(st.integers(0, g.fy), min_size=2, max_size=2, unique=True)))
    (a, b), (c, d) = g.px(x1, y1), g.px(x2, y2)
    return (a, b, c, d)


def grid_ring(draw, g: Grid, n_min: int, n_max: int):
    """A valid simple ring (star-shaped about its centroid) on the grid."""
    grid_xy = st.tuples(st.integers(0, g.fx), st.integers(0, g.fy))
    pts = draw(st.lists(grid_xy, min_size=n_min, max_size=n_max, unique=True))
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    pts.sort(key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    ring = [g.px(*p) for p in pts]
    poly = Polygon(ring)
    assume(poly.is_valid and poly.area > 0 and sanitize_ring(ring) == (ring, None))
    return ring


# -- what each dialect can express -----------------------------------------------------------------
def _objects(draw, name: str, kind: str, g: Grid):
    label = draw(maybe_label)
    if kind == "hbox_det":
        return RotatedBox(tuple(box_corners(grid_box(draw, g))), label=label)
    if kind == "hbox_change":
        return PolygonRegion(box_corners(grid_box(draw, g)), label=label)
    if kind == "seg":
        kps = ()
        if name in ("georsmllm", "qwen2.5-vl", "qwen3-vl"):
            kps = tuple(grid_point(draw, g) for _ in range(draw(st.integers(0, 3))))
        return SegTarget(grid_box(draw, g), kps, label=label)
    if kind == "rbox":
        return RotatedBox(tuple(grid_ring(draw, g, 4, 4)), label=label)
    if kind == "polygon":
        return PolygonRegion(grid_ring(draw, g, 3, 7), label=label)
    if kind == "gps":
        lat = draw(st.integers(-90_000_000, 90_000_000)) / 1e6
        lon = draw(st.integers(-180_000_000, 180_000_000)) / 1e6
        return GeoPoint(lat, lon)
    raise AssertionError(kind)


@st.composite
def _object_lists(draw, name: str, kind: str, g: Grid, n_max: int = 4):
    return [_objects(draw, name, kind, g) for _ in range(draw(st.integers(0, n_max)))]


CASES = [
    # (dialect name, geometry kind, task)
    ("georsmllm", "rbox", Task.DETECTION),
    ("georsmllm", "hbox_det", Task.DETECTION),
    ("georsmllm", "polygon", Task.CHANGE),
    ("georsmllm", "seg", Task.SEGMENTATION),
    ("georsmllm", "gps", Task.GEOLOCATION),
    *[(n, k, t) for n in ("qwen2-vl", "qwen2.5-vl", "qwen3-vl", "internvl")
      for k, t in (("hbox_det", Task.DETECTION), ("seg", Task.SEGMENTATION), ("hbox_change", Task.CHANGE),
                   ("gps", Task.GEOLOCATION))],
    ("florence-2", "hbox_det", Task.DETECTION),
    ("florence-2", "seg", Task.SEGMENTATION),
    ("florence-2", "hbox_change", Task.CHANGE),
    ("florence-2", "polygon", Task.SEGMENTATION),
    ("florence-2", "polygon", Task.DETECTION),
    ("florence-2-quad", "rbox", Task.DETECTION),
    ("geochat", "hbox_det", Task.DETECTION),
    ("geochat", "seg", Task.SEGMENTATION),
]


def _dialect(name: str):
    return Florence2Dialect(quad_boxes=True) if name == "florence-2-quad" else get_dialect(name)


def _grid(name: str, dialect, size) -> Grid:
    kind = "florence" if name.startswith("florence") else "geochat" if name == "geochat" else "norm"
    return Grid(dialect, size, kind)


# -- comparison ----------------------------------------------------------------------------------------
def _close(a, b, tol):
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def same_ring(a, b, tol) -> bool:
    """Same ring up to start point and direction."""
    a, b = list(a), list(b)
    if len(a) != len(b):
        return False
    n = len(a)
    for seq in (b, b[::-1]):
        for k in range(n):
            if all(_close(a[i], seq[(i + k) % n], tol) for i in range(n)):
                return True
    return False


def assert_same(expected, got, size):
    tol = 1e-6 * max(size)
    assert type(got) is type(expected), (expected, got)
    assert got.label == expected.label
    if isinstance(expected, GeoPoint):
        assert math.isclose(got.lat, expected.lat, abs_tol=1e-9) and math.isclose(got.lon, expected.lon, abs_tol=1e-9)
    elif isinstance(expected, SegTarget):
        assert all(abs(a - b) <= tol for a, b in zip(got.bbox, expected.bbox)), (expected, got)
        assert len(got.keypoints) == len(expected.keypoints)
        assert all(_close(a, b, tol) for a, b in zip(got.keypoints, expected.keypoints))
    else:
        assert same_ring(expected.ring, got.ring, tol), (expected, got)


# -- invariants of any parse -----------------------------------------------------------------------
def check_invariants(result: ParseResult, text: str, size) -> None:
    w, h = size
    assert isinstance(result, ParseResult)
    assert result.text == text
    assert all(isinstance(x, str) for x in result.warnings)
    for obj in result.objects:
        assert obj.span is not None and 0 <= obj.span[0] < obj.span[1] <= len(text), (obj, len(text))
        if isinstance(obj, GeoPoint):
            assert -90 <= obj.lat <= 90 and -180 <= obj.lon <= 180
            continue
        for x, y in obj.points():
            assert 0.0 <= x <= w and 0.0 <= y <= h, (obj, size)
        poly = Polygon(obj.ring)
        assert poly.is_valid and poly.area > 0, obj


# -- round trips ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kind,task", CASES, ids=[f"{n}-{k}-{t.value}" for n, k, t in CASES])
@settings(**SETTINGS)
@given(data=st.data())
def test_format_then_parse_gives_back_the_same_geometry(name, kind, task, data):
    dialect = _dialect(name)
    size = data.draw(sizes, label="image size")
    g = _grid(name, dialect, size)
    if name == "geochat" and kind == "hbox_det":
        objects = data.draw(_geochat_rboxes(size), label="objects")
    else:
        objects = data.draw(_object_lists(name, kind, g), label="objects")
    if name.startswith("florence") and len(objects) > 1:
        # a Florence label covers its whole run of locs: objects must be told apart by labels
        objects = [o.with_(label=o.label or f"thing {i}") for i, o in enumerate(objects)]
    text = dialect.format_objects(objects, task, size)
    result = dialect.parse(text, task, size)
    assert not result.warnings, (text, result.warnings)
    assert len(result.objects) == len(objects), (text, objects, result.objects)
    for exp, got in zip(objects, result.objects):
        assert_same(exp, got, size)
    check_invariants(result, text, size)


@st.composite
def _geochat_rboxes(draw, size):
    """GeoChat rotated boxes: 0..100 grid, integer θ in [0, 90), kept only if inside the image."""
    g = Grid(None, size, "geochat")
    out = []
    for _ in range(draw(st.integers(0, 4))):
        box = grid_box(draw, g)
        theta = draw(st.integers(0, 89))
        corners = rotate_box(box, theta)
        w, h = size
        if all(-1e-9 <= x <= w + 1e-9 and -1e-9 <= y <= h + 1e-9 for x, y in corners):
            corners = [(min(max(x, 0.0), w), min(max(y, 0.0), h)) for x, y in corners]
            if theta == 0:
                corners = box_corners(box)
            out.append(RotatedBox(tuple(corners), label=draw(maybe_label)))
    return out


# -- random and damaged answers -------------------------------------------------------------------
TOKENS = [
    "<ref>", "</ref>", "{", "}", "(", ")", ",", ";", "\n", " ", "[", "]", "<", ">", "|", "-", ".",
    "<box>", "</box>", "<keypoint>", "</keypoint>", "<rbox>", "</rbox>", "<gps>", "</gps>", "None",
    "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
    '"bbox_2d"', '"point_2d"', '"label"', ":", '"', "```json", "<loc_", "<poly>", "</poly>", "<sep>",
    "<p>", "</p>", "plane", "</s>", "<s>", "1e5",
]
coords = st.integers(-50, 1500)


def _joined(strategy, sep=",", **kw):
    return st.lists(strategy, **kw).map(lambda xs: sep.join(str(x) for x in xs))


_pairs = _joined(st.builds("({},{})".format, coords, coords), max_size=7)
# object markup of every dialect with random, often wrong, numbers (counts, ranges, order)
snippets = st.one_of(
    _pairs.map("{{{}}}".format),
    _joined(coords, max_size=5).map("<box>[{}]</box>".format),
    _pairs.map("<keypoint>[{}]</keypoint>".format),
    _joined(st.builds("<{},{}>".format, coords, coords), sep="", max_size=6).map("<rbox>({{{}}})</rbox>".format),
    st.builds("<gps>[{}, {}]</gps>".format, st.integers(-200, 200), st.integers(-200, 200)),
    _pairs.map("<|box_start|>{}<|box_end|>".format),
    _joined(_joined(coords, sep=", ", min_size=3, max_size=5).map("[{}]".format), sep=", ", max_size=3).map(
        "<box>[{}]</box>".format
    ),
    _joined(coords, sep=", ", max_size=5).map('{{"bbox_2d": [{}], "label": "x"}}'.format),
    st.builds('{{"point_2d": [{}, {}]}}'.format, coords, coords),
    _joined(st.builds("<loc_{}>".format, coords), sep="", max_size=10),
    st.builds("{{<{}><{}><{}><{}>|<{}>}}".format, coords, coords, coords, coords, st.integers(-400, 400)),
    words.map("<ref>{}</ref>".format),
    words.map("<p>{}</p>".format),
    words.map("<|object_ref_start|>{}<|object_ref_end|>".format),
)
soup = st.lists(
    st.one_of(snippets, st.sampled_from(TOKENS), coords.map(str), st.text(max_size=3)), max_size=30
).map("".join)
tasks = st.sampled_from(list(Task))
dialect_names = [*available_dialects(), "florence-2-quad"]


@pytest.mark.parametrize("name", dialect_names)
@settings(max_examples=150, deadline=None)
@given(text=soup, task=tasks, size=sizes)
def test_random_text_never_crashes_nor_gives_invalid_geometry(name, text, task, size):
    dialect = _dialect(name)
    check_invariants(dialect.parse(text, task, size), text, size)


# any geometry (not on the grid), for damaging valid answers
real = st.floats(-0.2, 1.2, allow_nan=False)


@st.composite
def any_objects(draw, size):
    w, h = size
    out = []
    for _ in range(draw(st.integers(1, 4))):
        pts = [(draw(real) * w, draw(real) * h) for _ in range(draw(st.integers(3, 7)))]
        label = draw(maybe_label)
        kind = draw(st.sampled_from(["rbox", "seg", "poly", "gps"]))
        if kind == "rbox":
            pts = (pts * 2)[:4]
            out.append(RotatedBox(tuple(pts), label=label))
        elif kind == "seg":
            out.append(SegTarget((*pts[0], *pts[1]), tuple(pts[2:]), label=label))
        elif kind == "poly":
            try:
                out.append(PolygonRegion(pts, label=label))
            except ValueError:
                pass  # fewer than 3 distinct points
        else:
            out.append(GeoPoint(draw(st.floats(-90, 90)), draw(st.floats(-180, 180))))
    return out


@st.composite
def damaged(draw, text):
    how = draw(st.sampled_from(["truncate", "delete", "insert", "big", "none"]))
    if not text or how == "none":
        return text
    i = draw(st.integers(0, len(text)))
    if how == "truncate":
        return text[:i]
    if how == "delete":
        j = draw(st.integers(i, min(len(text), i + 8)))
        return text[:i] + text[j:]
    if how == "insert":
        return text[:i] + draw(st.sampled_from(TOKENS + ["-7", "99999", "1000", "0"])) + text[i:]
    return text[:i] + draw(st.sampled_from(["99999", "-3", "1" * 400, "1001"])) + text[i:]


@pytest.mark.parametrize("name", dialect_names)
@settings(max_examples=120, deadline=None)
@given(data=st.data(), task=tasks, size=sizes)
def test_damaged_answers_give_valid_objects_and_no_exception(name, data, task, size):
    dialect = _dialect(name)
    objects = data.draw(any_objects(size))
    text = data.draw(damaged(dialect.format_objects(objects, task, size)))
    check_invariants(dialect.parse(text, task, size), text, size)


@pytest.mark.parametrize("name", dialect_names)
def test_non_text_answer_is_tolerated(name):
    result = _dialect(name).parse(None, Task.DETECTION, (10, 10))  # type: ignore[arg-type]
    assert result.objects == [] and result.text == ""


@pytest.mark.parametrize("name", ["qwen2.5-vl", "qwen3-vl"])
@settings(max_examples=40, deadline=None)
@given(label=st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s), size=sizes)
def test_json_dialects_keep_any_label(name, label, size):
    dialect = get_dialect(name)
    box = RotatedBox(tuple(box_corners((0.0, 0.0, float(size[0]), float(size[1])))), label=label)
    result = dialect.parse(dialect.format_objects([box], Task.DETECTION, size), Task.DETECTION, size)
    assert [o.label for o in result.objects] == [label]
