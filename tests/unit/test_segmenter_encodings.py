"""Kept SAM2 encodings (``segmenters.encodings``) and click prompts (``Segmenter.segment_prompt``): the cache's
bounds and LRU order, and on a random-weight tiny SAM2 that a kept encoding decodes exactly as a fresh one,
that a run's encodings serve later clicks, and that an evicted image is encoded again."""

import numpy as np
import pytest

from model_backend.geometry import SegTarget
from model_backend.segmenters.encodings import EncodingCache, image_key

# --- the cache alone ----------------------------------------------------------------------------


def test_lru_order_and_entry_bound():
    cache = EncodingCache(max_entries=2, max_mb=1)
    cache.put("a", "A", 10)
    cache.put("b", "B", 10)
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("c", "C", 10)
    assert "b" not in cache and cache.get("a") == "A" and cache.get("c") == "C"
    assert cache.evictions == 1 and len(cache) == 2 and cache.nbytes == 20


def test_memory_bound_evicts_until_the_new_entry_fits():
    cache = EncodingCache(max_entries=10, max_mb=1)  # 1 MiB
    for key in "abc":
        cache.put(key, key, 400 * 1024)
    assert list(k for k in "abc" if k in cache) == ["b", "c"] and cache.nbytes == 800 * 1024
    assert cache.put("huge", "H", 2 * 2**20) is False  # larger than the whole cache: not kept
    assert "huge" not in cache and len(cache) == 2


def test_counters_clear_and_describe():
    cache = EncodingCache(max_entries=3, max_mb=8)
    assert cache.get("x") is None
    cache.put("x", 1, 2**20)
    assert cache.get("x") == 1
    info = cache.describe()
    assert info == {"entries": 1, "mb": 1.0, "max_entries": 3, "max_mb": 8.0, "hits": 1, "misses": 1, "evictions": 0}
    cache.put("x", 2, 2**20)  # replacing does not count twice
    assert cache.nbytes == 2**20
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
    disabled = EncodingCache(max_entries=0)
    assert disabled.put("x", 1, 1) is False and len(disabled) == 0


@pytest.mark.parametrize("bad", [{"max_entries": -1}, {"max_entries": 1.5}, {"max_mb": -3}])
def test_bad_bounds_are_refused(bad):
    with pytest.raises(ValueError):
        EncodingCache(**bad)


def test_image_key_depends_on_every_pixel_and_the_shape():
    image = np.zeros((8, 8, 3), np.uint8)
    other = image.copy()
    other[7, 7, 2] = 1
    assert image_key(image) == image_key(image.copy()) != image_key(other)
    assert image_key(image) != image_key(np.zeros((4, 16, 3), np.uint8))  # same bytes, other shape
    assert image_key(image[:, ::2]) == image_key(np.ascontiguousarray(image[:, ::2]))


# --- with a tiny random-weight SAM2 -----------------------------------------------------------------

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")

SIZE = 256


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory):
    from model_backend.segmenters import Sam2Segmenter
    from tests.helpers.tiny_models import build_sam2_tiny

    checkpoint = build_sam2_tiny(tmp_path_factory.mktemp("sam2") / "tiny.pt", SIZE)
    seg = Sam2Segmenter(checkpoint, size="tiny", image_size=SIZE, device="cpu")
    seg.load()
    yield seg
    seg.close()


def images(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        img = rng.integers(0, 80, (120, 160, 3), dtype=np.uint8)
        img[30:90, 40:120] = (220, 200, 60)
        out.append(img)
    return out


def test_a_kept_encoding_decodes_exactly_as_a_fresh_one(segmenter):
    image, other = images(2)
    prompt = dict(points_xy=[(60, 50), (100, 70)], point_labels=[1, 0], box_xyxy=(30, 20, 130, 100))
    segmenter.encodings = None
    fresh = segmenter.segment_prompt(image, **prompt)
    try:
        segmenter.encodings = EncodingCache(max_entries=4, max_mb=64)
        first = segmenter.segment_prompt(image, **prompt)
        segmenter.segment_prompt(other, points_xy=[(10, 10)], point_labels=[1])  # another image in between
        again = segmenter.segment_prompt(image, **prompt)
    finally:
        segmenter.encodings = None
    assert (fresh.reused_encoding, first.reused_encoding, again.reused_encoding) == (False, False, True)
    np.testing.assert_array_equal(again.mask, fresh.mask)
    assert again.predicted_iou == pytest.approx(fresh.predicted_iou, abs=1e-6)
    assert again.mask.shape == (120, 160)


@pytest.mark.slow
def test_a_run_s_encodings_serve_later_clicks_and_eviction_encodes_again(segmenter):
    tiles = images(3)
    segmenter.encodings = cache = EncodingCache(max_entries=2, max_mb=64)
    try:
        enc0, dec0 = segmenter.n_image_encodings, segmenter.n_decoder_calls
        for tile in tiles:  # a run: one encoding and one decoder call per tile
            segmenter.segment_masks(tile, [SegTarget((40, 30, 120, 90), keypoints=((80, 60),))])
        assert segmenter.n_image_encodings - enc0 == 3 and len(cache) == 2 and cache.evictions == 1
        last = segmenter.segment_prompt(tiles[2], [(80, 60)], [1])
        assert last.reused_encoding and segmenter.n_image_encodings - enc0 == 3
        first = segmenter.segment_prompt(tiles[0], [(80, 60)], [1])  # evicted: encoded again, then kept
        assert not first.reused_encoding and segmenter.n_image_encodings - enc0 == 4
        assert segmenter.segment_prompt(tiles[0], box_xyxy=(40, 30, 120, 90)).reused_encoding
        assert segmenter.n_decoder_calls - dec0 == 6
        assert segmenter.describe()["encoding_cache"]["entries"] == 2
    finally:
        segmenter.encodings = None


@pytest.mark.slow
def test_close_forgets_the_encodings(segmenter):
    image = images(1)[0]
    segmenter.encodings = cache = EncodingCache()
    try:
        segmenter.segment_prompt(image, [(80, 60)], [1])
        assert len(cache) == 1
        segmenter.close()
        assert len(cache) == 0
        segmenter.load()
        assert not segmenter.segment_prompt(image, [(80, 60)], [1]).reused_encoding
    finally:
        segmenter.encodings = None


@pytest.mark.parametrize("bad, message", [
    ({"points_xy": [(1, 1)], "point_labels": [2]}, "labels are 1"),
    ({"points_xy": [(1, 1)], "point_labels": []}, "1 points but 0 labels"),
    ({}, "points or a box"),
])
def test_bad_click_prompts(segmenter, bad, message):
    with pytest.raises(ValueError, match=message):
        segmenter.segment_prompt(images(1)[0], **bad)
