"""Pure parts of the SAM2 segmenter: prompt batching and the NumPy image operations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_backend.geometry import SegTarget
from model_backend.segmenters.image_ops import preprocess_image, resize_logits
from model_backend.segmenters.prompts import LABEL_PADDING, LABEL_POSITIVE, build_prompts


def test_box_and_keypoint_go_to_model_pixel_indices():
    # image 300 wide, 200 high, model input 256: x scale 256/300, y scale 256/200
    target = SegTarget((30, 20, 150, 100), keypoints=((60, 50),))
    prompts = build_prompts([target], (200, 300), 256)
    sx, sy = 256 / 300, 256 / 200
    np.testing.assert_allclose(
        prompts.boxes_xyxy_model[0], [30 * sx, 20 * sy, 150 * sx - 1, 100 * sy - 1], rtol=1e-6
    )
    np.testing.assert_allclose(prompts.points_xy_model[0, 0], [60 * sx - 0.5, 50 * sy - 0.5], rtol=1e-6)
    assert prompts.point_labels.tolist() == [[LABEL_POSITIVE]]


def test_whole_image_box_covers_every_model_index():
    prompts = build_prompts([SegTarget((0, 0, 300, 200))], (200, 300), 256)
    np.testing.assert_allclose(prompts.boxes_xyxy_model[0], [0, 0, 255, 255], atol=1e-4)
    assert prompts.points_xy_model is None and prompts.point_labels is None


def test_shorter_keypoint_lists_are_padded_with_minus_one():
    targets = [
        SegTarget((0, 0, 10, 10), keypoints=((1, 1), (2, 2), (3, 3))),
        SegTarget((0, 0, 10, 10)),
        SegTarget((0, 0, 10, 10), keypoints=((5, 5),)),
    ]
    prompts = build_prompts(targets, (64, 64), 64)
    assert prompts.points_xy_model.shape == (3, 3, 2)
    assert prompts.point_labels.tolist() == [[1, 1, 1], [-1, -1, -1], [1, -1, -1]]
    coords, labels = prompts.decoder_inputs()
    # box corners first (labels 2, 3), as SAM2ImagePredictor merges them
    assert coords.shape == (3, 5, 2) and labels.shape == (3, 5)
    assert labels[:, :2].tolist() == [[2, 3]] * 3
    np.testing.assert_array_equal(coords[:, :2].reshape(3, 4), prompts.boxes_xyxy_model)
    np.testing.assert_array_equal(coords[:, 2:], prompts.points_xy_model)


def test_prompts_outside_the_image_are_clipped():
    prompts = build_prompts([SegTarget((-50, -5, 400, 90), keypoints=((-3, 500),))], (100, 200), 100)
    x1, y1, x2, y2 = prompts.boxes_xyxy_model[0]
    assert (x1, y1) == (0, 0) and x2 == pytest.approx(99) and y2 == pytest.approx(89)
    np.testing.assert_allclose(prompts.points_xy_model[0, 0], [-0.5, 99.5])


def test_build_prompts_rejects_no_targets():
    with pytest.raises(ValueError):
        build_prompts([], (10, 10), 16)


coord = st.floats(-20, 120, allow_nan=False)


@st.composite
def targets(draw):
    n = draw(st.integers(1, 6))
    out = []
    for _ in range(n):
        box = tuple(draw(coord) for _ in range(4))
        kps = tuple((draw(coord), draw(coord)) for _ in range(draw(st.integers(0, 4))))
        out.append(SegTarget(box, keypoints=kps))
    return out


@settings(max_examples=60, deadline=None)
@given(targets(), st.integers(1, 100), st.integers(1, 100), st.sampled_from([64, 256, 1024]))
def test_prompt_arrays_stay_in_the_model_frame(tgts, height, width, size):
    prompts = build_prompts(tgts, (height, width), size)
    boxes = prompts.boxes_xyxy_model
    assert boxes.shape == (len(tgts), 4) and boxes.dtype == np.float32
    assert np.all(boxes >= 0) and np.all(boxes <= size + 1e-3)
    assert np.all(boxes[:, 2] >= boxes[:, 0]) and np.all(boxes[:, 3] >= boxes[:, 1])
    k = max(len(t.keypoints) for t in tgts)
    if k == 0:
        assert prompts.points_xy_model is None
        return
    assert prompts.points_xy_model.shape == (len(tgts), k, 2)
    for i, t in enumerate(tgts):
        row = prompts.point_labels[i]
        assert list(row) == [LABEL_POSITIVE] * len(t.keypoints) + [LABEL_PADDING] * (k - len(t.keypoints))
        real = prompts.points_xy_model[i, : len(t.keypoints)]
        assert np.all(real >= -0.5) and np.all(real <= size - 0.5 + 1e-3)


# --- image operations against SAM2's torch transforms -----------------------------------------

torch = pytest.importorskip("torch")


@pytest.mark.filterwarnings("ignore:.*torch.jit.script:FutureWarning")  # sam2's own transforms
@pytest.mark.parametrize("hw", [(200, 300), (256, 256), (700, 90), (31, 45)])
def test_preprocess_matches_sam2_transforms(hw):
    sam2_transforms = pytest.importorskip("sam2.utils.transforms")
    image = np.random.default_rng(hw[0]).integers(0, 256, (*hw, 3), dtype=np.uint8)
    expected = sam2_transforms.SAM2Transforms(256, 0.0)(image).numpy()[None]
    got = preprocess_image(image, 256)
    assert got.shape == (1, 3, 256, 256) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 90), st.integers(1, 90), st.integers(0, 2**31))
def test_resize_logits_matches_torch_bilinear(h, w, out_h, out_w, seed):
    logits = np.random.default_rng(seed).normal(size=(2, h, w)).astype(np.float32)
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(logits)[None], (out_h, out_w), mode="bilinear", align_corners=False
    )[0].numpy()
    # float32 rounding only: torch computes the sample positions in float32, we in float64
    np.testing.assert_allclose(resize_logits(logits, (out_h, out_w)), expected, rtol=1e-5, atol=5e-5)
