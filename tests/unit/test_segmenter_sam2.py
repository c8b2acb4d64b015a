"""The SAM2 segmenters on a random-weight tiny SAM 2.1 (256 px input), built offline.

Random weights give meaningless masks: these tests check the plumbing (loading from a checkpoint
file, one encoding and one decoder call per image, prompt coordinates, output frame, errors,
ONNX agreement), not what is segmented.
"""

import socket

import numpy as np
import pytest
from shapely.geometry import Polygon

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")

from model_backend.errors import ConfigError, EngineError  # noqa: E402
from model_backend.geometry import SegTarget  # noqa: E402
from model_backend.segmenters import (  # noqa: E402
    SEGMENTERS,
    Sam2OnnxSegmenter,
    Sam2Segmenter,
    create_segmenter,
)
from model_backend.segmenters.sam2_loading import (  # noqa: E402
    infer_size,
    resolve_checkpoint,
    resolve_config,
    select_device,
)

SIZE = 256  # model input side for the tests
H, W = 200, 300  # a non-square test image, so that swapped axes show


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A random-weight SAM 2.1 tiny saved in the official checkpoint layout ``{"model": ...}``."""
    from tests.helpers.tiny_models import build_sam2_tiny

    return build_sam2_tiny(tmp_path_factory.mktemp("sam2") / "random_tiny.pt", SIZE)


@pytest.fixture(scope="module")
def segmenter(tiny_checkpoint):
    seg = Sam2Segmenter(tiny_checkpoint, size="tiny", image_size=SIZE, device="cpu")
    seg.load()
    yield seg
    seg.close()


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(7)
    img = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
    img[40:120, 50:170] = (200, 180, 40)  # a bright block, so the image is not pure noise
    return img


def make_targets():
    return [
        SegTarget(
            (50, 40, 170, 120), keypoints=((100, 80), (120, 90)), label="field", score=0.8, span=(3, 9)
        ),
        SegTarget((10, 130, 280, 195), keypoints=((150, 160),), label="road"),
        SegTarget((200, 10, 290, 60)),
    ]


# --- counting and output shape ------------------------------------------------------------------


def test_one_encoding_and_one_decoder_call_per_image(segmenter, image):
    enc0, dec0 = segmenter.n_image_encodings, segmenter.n_decoder_calls
    for n in (1, 2, 5):
        targets = [SegTarget((10 * i, 10, 10 * i + 60, 90), keypoints=((10 * i + 20, 40),)) for i in range(n)]
        out = segmenter.segment(image, targets)
        assert len(out) == n
    assert segmenter.n_image_encodings - enc0 == 3
    assert segmenter.n_decoder_calls - dec0 == 3


def test_no_targets_means_no_encoding(segmenter, image):
    enc0, dec0 = segmenter.n_image_encodings, segmenter.n_decoder_calls
    assert segmenter.segment(image, []) == []
    assert (segmenter.n_image_encodings, segmenter.n_decoder_calls) == (enc0, dec0)


def spy_prompt_encoder(segmenter, monkeypatch) -> list:
    """``(coords, labels)`` tensors of every call of SAM2's prompt encoder from now on."""
    prompt_encoder = segmenter._predictor.model.sam_prompt_encoder
    calls = []
    original = prompt_encoder.forward

    def spy(points, boxes, masks):
        calls.append((points[0].clone(), points[1].clone()))
        return original(points, boxes, masks)

    monkeypatch.setattr(prompt_encoder, "forward", spy)
    return calls


def test_decoder_gets_all_targets_in_one_batched_call(segmenter, image, monkeypatch):
    """Spy on SAM2's prompt encoder: one call, all targets, coordinates in model pixel indices."""
    calls = spy_prompt_encoder(segmenter, monkeypatch)
    segmenter.segment(image, make_targets())
    assert len(calls) == 1
    coords, labels = calls[0]
    assert tuple(coords.shape) == (3, 4, 2)
    assert labels.tolist() == [[2, 3, 1, 1], [2, 3, 1, -1], [2, 3, -1, -1]]
    sx, sy = SIZE / W, SIZE / H
    np.testing.assert_allclose(
        coords[0].numpy(),
        [
            [50 * sx, 40 * sy],  # box top-left: first covered pixel
            [170 * sx - 1, 120 * sy - 1],  # box bottom-right: last covered pixel, inclusive
            [100 * sx - 0.5, 80 * sy - 0.5],  # keypoints: corner frame -> pixel index
            [120 * sx - 0.5, 90 * sy - 0.5],
        ],
        rtol=1e-5,
    )


def test_click_prompts_reach_sam2_with_their_labels_and_no_box(segmenter, image, monkeypatch):
    """Refining by clicks: negative points carry label 0; without a box SAM2 gets the points alone (its encoder
    pads them)."""
    calls = spy_prompt_encoder(segmenter, monkeypatch)
    segmenter.segment_prompt(image, [(60, 50), (100, 70)], [1, 0])
    segmenter.segment_prompt(image, [(60, 50)], [0], box_xyxy=(30, 20, 130, 100))
    (coords, labels), (_coords2, labels2) = calls
    assert labels.tolist() == [[1, 0]] and labels2.tolist() == [[2, 3, 0]]
    sx, sy = SIZE / W, SIZE / H
    np.testing.assert_allclose(coords[0].numpy(), [[60 * sx - 0.5, 50 * sy - 0.5], [100 * sx - 0.5, 70 * sy - 0.5]],
                               rtol=1e-5)


def test_polygons_are_in_the_image_pixel_frame_and_carry_label_and_score(segmenter, image, monkeypatch):
    # no simplification, no speck removal: the polygons then cover exactly the mask's pixels
    monkeypatch.setattr(segmenter, "min_area_px", 0.0)
    monkeypatch.setattr(segmenter, "simplify_px", 0.0)
    targets = make_targets()
    results = segmenter.segment_masks(image, targets)
    assert len(results) == len(targets)
    assert any(r.polygons for r in results), "random weights gave only empty masks; pick another seed"
    for target, result in zip(targets, results):
        assert result.target is target
        assert result.mask.shape == (H, W) and result.mask.dtype == bool
        assert 0.0 <= result.predicted_iou <= 1.0
        area = 0.0
        for region in result.polygons:
            assert (region.label, region.score, region.span) == (target.label, target.score, target.span)
            xy = np.array(region.exterior)
            assert xy[:, 0].min() >= 0 and xy[:, 0].max() <= W
            assert xy[:, 1].min() >= 0 and xy[:, 1].max() <= H
            poly = Polygon(region.exterior, region.holes)
            area += poly.area
            inside = poly.representative_point()
            assert result.mask[int(inside.y), int(inside.x)], "polygon and mask disagree: axes swapped?"
        assert area == pytest.approx(result.mask.sum())


def test_model_score_is_not_replaced_by_sam_iou(segmenter, image):
    target = SegTarget((20, 20, 200, 180))  # score None
    result = segmenter.segment_masks(image, [target])[0]
    assert result.polygons and all(p.score is None for p in result.polygons)
    assert result.predicted_iou > 0


def test_polygon_options_reach_mask_to_polygons(segmenter, image, monkeypatch):
    targets = make_targets()
    assert any(r for r in segmenter.segment(image, targets))
    monkeypatch.setattr(segmenter, "min_area_px", float(H * W + 1))  # larger than the image
    assert segmenter.segment(image, targets) == [[], [], []]


# --- batched equals per target ------------------------------------------------------------------


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def test_batched_masks_equal_per_target_masks(segmenter, image):
    # equal keypoint counts: no padding, so batching must not change any mask
    targets = [
        SegTarget((50, 40, 170, 120), keypoints=((100, 80), (120, 90))),
        SegTarget((10, 130, 280, 195), keypoints=((150, 160), (40, 150))),
        SegTarget((200, 10, 290, 60), keypoints=((250, 30), (260, 40))),
    ]
    batched = segmenter.segment_masks(image, targets)
    for target, result in zip(targets, batched):
        alone = segmenter.segment_masks(image, [target])[0]
        assert _iou(result.mask, alone.mask) >= 0.999
        assert result.predicted_iou == pytest.approx(alone.predicted_iou, abs=1e-5)


def test_longest_prompt_is_unchanged_by_padding_of_others(segmenter, image):
    targets = make_targets()  # 2, 1, 0 keypoints: the last two are padded
    batched = segmenter.segment_masks(image, targets)
    alone = segmenter.segment_masks(image, targets[:1])[0]
    assert _iou(batched[0].mask, alone.mask) >= 0.999


def test_box_only_targets(segmenter, image):
    out = segmenter.segment_masks(image, [SegTarget((0, 0, 100, 100)), SegTarget((100, 50, 300, 200))])
    assert len(out) == 2 and all(r.mask.shape == (H, W) for r in out)


# --- errors and loading -------------------------------------------------------------------------


def test_segment_before_load_and_after_close_is_an_error(tiny_checkpoint, image):
    seg = Sam2Segmenter(tiny_checkpoint, size="tiny", image_size=SIZE, device="cpu")
    with pytest.raises(EngineError, match="load"):
        seg.segment(image, [SegTarget((0, 0, 10, 10))])
    seg.close()  # closing an unloaded segmenter is harmless


def test_close_then_segment_is_an_error_and_load_again_works(segmenter, image):
    segmenter.close()
    try:
        with pytest.raises(EngineError, match="load"):
            segmenter.segment(image, [SegTarget((0, 0, 10, 10))])
    finally:
        segmenter.load()
    assert len(segmenter.segment(image, [SegTarget((0, 0, 50, 50))])) == 1


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)]
)
def test_bad_images_are_rejected(segmenter, bad):
    with pytest.raises(ValueError):
        segmenter.segment(bad, [SegTarget((0, 0, 5, 5))])


def test_runtime_failure_becomes_an_engine_error(segmenter, image, monkeypatch):
    def out_of_memory(_image):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(segmenter._predictor, "set_image", out_of_memory)
    enc0 = segmenter.n_image_encodings
    with pytest.raises(EngineError, match="300x200 px image with 1 targets.*out of memory"):
        segmenter.segment(image, [SegTarget((0, 0, 5, 5))])
    assert segmenter.n_image_encodings == enc0


def test_non_seg_targets_are_rejected(segmenter, image):
    from model_backend.geometry import PolygonRegion

    with pytest.raises(TypeError):
        segmenter.segment(image, [PolygonRegion(((0, 0), (5, 0), (5, 5)))])


def test_missing_checkpoint(tmp_path):
    seg = Sam2Segmenter(tmp_path / "nope.pt", size="tiny")
    with pytest.raises(EngineError, match="not found"):
        seg.load()
    assert not seg.is_loaded


def test_missing_relative_checkpoint_is_not_taken_for_a_hub_id(no_network):
    with pytest.raises(EngineError, match="not found"):
        resolve_checkpoint("models/sam2.1_hiera_tiny.pt")


def test_checkpoint_that_does_not_fit_the_config(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"model": {"not_a_sam2_weight": torch.zeros(3)}}, path)
    seg = Sam2Segmenter(path, size="tiny", image_size=SIZE, device="cpu")
    with pytest.raises(EngineError, match="does not fit"):
        seg.load()
    assert not seg.is_loaded


def test_unreadable_checkpoint(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(EngineError, match="cannot read"):
        Sam2Segmenter(path, size="tiny", image_size=SIZE, device="cpu").load()


def test_unknown_size_and_size_inference(tmp_path):
    with pytest.raises(ConfigError, match="unknown SAM2 size"):
        resolve_config("huge", None, "x.pt")
    with pytest.raises(ConfigError, match="set size"):
        resolve_config(None, None, tmp_path / "my_model.pt")
    assert resolve_config(None, None, "facebook/sam2.1-hiera-base-plus").endswith("sam2.1_hiera_b+.yaml")
    explicit = "configs/sam2/sam2_hiera_s.yaml"
    assert resolve_config("small", explicit, "x.pt") == explicit
    assert infer_size("/models/sam2.1_hiera_large.pt") == "large"
    assert infer_size("facebook/sam2.1-hiera-tiny") == "tiny"
    with pytest.raises(ConfigError, match="unknown SAM2 size"):
        Sam2Segmenter("x.pt", size="huge").load()


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Hub offline mode with an empty cache, and any socket connection fails loudly."""
    import huggingface_hub.constants as hf_constants

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def test_hub_id_offline_is_a_clear_error(no_network):
    with pytest.raises(EngineError, match="Hugging Face hub.*network"):
        resolve_checkpoint("facebook/sam2.1-hiera-tiny")
    with pytest.raises(EngineError, match="Hugging Face hub"):
        resolve_checkpoint("someone/sam2-finetune:weights.pt")


def test_unknown_hub_id_without_file_name(no_network):
    with pytest.raises(EngineError, match="owner/repo:file.pt"):
        resolve_checkpoint("someone/unknown-sam")


def test_device_selection():
    if torch.cuda.is_available():
        expected = "cuda"
    else:
        expected = "mps" if torch.backends.mps.is_available() else "cpu"
    assert select_device(None) == select_device("auto") == expected
    assert select_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="unknown device"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(EngineError, match="CUDA"):
            select_device("cuda")


def test_registry_and_describe(segmenter, tiny_checkpoint):
    assert set(SEGMENTERS) == {"sam2", "sam2-onnx"}
    seg = create_segmenter("sam2", checkpoint=tiny_checkpoint, size="tiny", image_size=SIZE)
    assert isinstance(seg, Sam2Segmenter) and not seg.is_loaded
    assert isinstance(create_segmenter("sam2-onnx", model_dir="x"), Sam2OnnxSegmenter)
    with pytest.raises(ConfigError, match="unknown segmenter"):
        create_segmenter("sam3")
    with pytest.raises(ConfigError, match="bad options"):
        create_segmenter("sam2", checkpoint="x.pt", colour="red")
    info = segmenter.describe()
    assert info["segmenter"] == "sam2" and info["device"] == "cpu" and info["image_size"] == SIZE
    assert info["n_image_encodings"] == segmenter.n_image_encodings


# --- ONNX Runtime variant -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def onnx_dir(tiny_checkpoint, tmp_path_factory):
    """Exported once per session through the command-line entry point."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from model_backend.segmenters.export import main

    out = tmp_path_factory.mktemp("sam2_onnx")
    args = ["--size", "tiny", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    args += ["--image-size", str(SIZE)]
    rc = main(args)
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def onnx_segmenter(onnx_dir):
    seg = Sam2OnnxSegmenter(onnx_dir)
    seg.load()
    yield seg
    seg.close()


@pytest.mark.slow
def test_onnx_features_match_torch(onnx_segmenter, segmenter, image):
    """Encoder outputs on the same input agree to float rounding."""
    from model_backend.segmenters.image_ops import preprocess_image

    pixels = preprocess_image(image, SIZE)
    torch_feats = segmenter._predictor  # set_image runs the same preprocessing on the raw image
    torch_feats.set_image(image)
    expected = [torch_feats._features["image_embed"], *torch_feats._features["high_res_feats"]]
    got = onnx_segmenter._encoder.run(None, {"image": pixels})
    for e, g in zip(expected, got):
        assert g.shape == tuple(e.shape)
        np.testing.assert_allclose(g, e.numpy(), atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("hw", [(H, W), (SIZE, SIZE), (90, 411)])
def test_onnx_masks_match_torch(onnx_segmenter, segmenter, hw):
    rng = np.random.default_rng(hw[1])
    image = rng.integers(0, 256, (*hw, 3), dtype=np.uint8)
    targets = [t.map_xy(lambda p: (p[0] * hw[1] / W, p[1] * hw[0] / H)) for t in make_targets()]
    expected = segmenter.segment_masks(image, targets)
    enc0, dec0 = onnx_segmenter.n_image_encodings, onnx_segmenter.n_decoder_calls
    got = onnx_segmenter.segment_masks(image, targets)
    assert (onnx_segmenter.n_image_encodings - enc0, onnx_segmenter.n_decoder_calls - dec0) == (1, 1)
    assert len(got) == len(targets)
    for e, g in zip(expected, got):
        assert g.mask.shape == hw
        assert _iou(e.mask, g.mask) >= 0.98
        assert g.predicted_iou == pytest.approx(e.predicted_iou, abs=1e-4)
        assert [p.label for p in g.polygons] == [e.target.label] * len(g.polygons)


@pytest.mark.slow
def test_onnx_handles_one_target_many_points_and_no_points(onnx_segmenter, segmenter, image):
    targets = [SegTarget((30, 30, 250, 180), keypoints=tuple((40 + 20 * i, 50 + 10 * i) for i in range(6)))]
    e, g = segmenter.segment_masks(image, targets)[0], onnx_segmenter.segment_masks(image, targets)[0]
    assert _iou(e.mask, g.mask) >= 0.98
    box_only = [SegTarget((0, 0, 150, 100)), SegTarget((100, 50, 300, 200))]  # no keypoints at all
    for e, g in zip(segmenter.segment_masks(image, box_only), onnx_segmenter.segment_masks(image, box_only)):
        assert _iou(e.mask, g.mask) >= 0.98


@pytest.mark.slow
def test_onnx_click_prompts_match_torch_and_reuse_kept_encodings(onnx_segmenter, segmenter, image):
    """Negative points (label 0) and prompts without a box, as refining by clicks sends them; a kept ONNX
    encoding decodes as a fresh one."""
    from model_backend.segmenters import EncodingCache

    prompts = [dict(points_xy=[(100, 80), (150, 60)], point_labels=[1, 0]),
               dict(points_xy=[(60, 50)], point_labels=[0], box_xyxy=(30, 20, 200, 150))]
    for prompt in prompts:
        e, g = segmenter.segment_prompt(image, **prompt), onnx_segmenter.segment_prompt(image, **prompt)
        assert _iou(e.mask, g.mask) >= 0.98
        assert g.predicted_iou == pytest.approx(e.predicted_iou, abs=1e-4)
    onnx_segmenter.encodings = EncodingCache(max_entries=2)
    try:
        enc0 = onnx_segmenter.n_image_encodings
        first = onnx_segmenter.segment_prompt(image, **prompts[0])
        onnx_segmenter.segment_prompt(image[::-1].copy(), **prompts[1])
        again = onnx_segmenter.segment_prompt(image, **prompts[0])
        assert (first.reused_encoding, again.reused_encoding) == (False, True)
        assert onnx_segmenter.n_image_encodings - enc0 == 2
        np.testing.assert_array_equal(again.mask, first.mask)
    finally:
        onnx_segmenter.encodings = None


def test_onnx_errors(tmp_path, image):
    seg = Sam2OnnxSegmenter(tmp_path)
    with pytest.raises(EngineError, match="load"):
        seg.segment(image, [SegTarget((0, 0, 5, 5))])
    with pytest.raises(EngineError, match="no SAM2 ONNX export"):
        seg.load()
    manifest = '{"format": 1, "encoder": "encoder.onnx", "decoder": "decoder.onnx"}'
    (tmp_path / "sam2_onnx.json").write_text(manifest)
    with pytest.raises(EngineError, match="encoder .* is missing"):
        seg.load()
    assert not seg.is_loaded


def test_export_command_reports_errors(tmp_path, capsys):
    from model_backend.segmenters.export import main

    rc = main(["--size", "tiny", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "o")])
    assert rc == 1
    assert "SAM2 checkpoint not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--size", "huge", "--checkpoint", "x.pt", "--out", str(tmp_path)])


# --- ONNX Runtime execution provider: the GPU when onnxruntime-gpu offers it ---------------------


def test_onnx_provider_choice():
    from model_backend.segmenters.sam2_onnx import choose_providers

    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    cpu_only = ["CPUExecutionProvider"]
    assert choose_providers(gpu, "auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(gpu, "cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(gpu, "cpu") == ["CPUExecutionProvider"]
    assert choose_providers(gpu, "mps") == ["CPUExecutionProvider"]
    assert choose_providers(cpu_only, "auto") == ["CPUExecutionProvider"]
    with pytest.raises(ConfigError, match="onnxruntime-gpu"):
        choose_providers(cpu_only, "cuda")
    with pytest.raises(ConfigError, match="not valid"):
        choose_providers(gpu, "tpu")


class _FakeSession:
    """An ``onnxruntime.InferenceSession`` stand-in that records the providers asked for and, like ONNX
    Runtime, runs on the first one that can start (``starts``)."""

    created: list = []

    def __init__(self, path, providers, starts=("CUDAExecutionProvider", "CPUExecutionProvider")):
        self.path, self.asked = path, list(providers)
        self.active = [p for p in providers if p in starts]
        _FakeSession.created.append(self)

    def get_providers(self):
        return self.active


@pytest.mark.parametrize(
    ("available", "starts", "device", "asked", "active"),
    [
        (["CUDAExecutionProvider", "CPUExecutionProvider"], ("CUDAExecutionProvider", "CPUExecutionProvider"),
         "auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], "CUDAExecutionProvider"),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], ("CPUExecutionProvider",),  # no driver
         "auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], "CPUExecutionProvider"),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], ("CUDAExecutionProvider", "CPUExecutionProvider"),
         "cpu", ["CPUExecutionProvider"], "CPUExecutionProvider"),
        (["CPUExecutionProvider"], ("CPUExecutionProvider",), "auto", ["CPUExecutionProvider"], "CPUExecutionProvider"),
    ],
    ids=["gpu", "gpu-package-without-driver", "cpu-forced", "cpu-package"],
)
def test_onnx_segmenter_asks_for_the_gpu_and_says_what_it_runs_on(
    tmp_path, monkeypatch, available, starts, device, asked, active
):
    ort = pytest.importorskip("onnxruntime")
    for name in ("encoder.onnx", "decoder.onnx"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sam2_onnx.json").write_text(
        '{"format": 1, "encoder": "encoder.onnx", "decoder": "decoder.onnx", "image_size": 256}'
    )
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(available))
    monkeypatch.setattr(ort, "InferenceSession", lambda path, providers: _FakeSession(path, providers, starts))
    _FakeSession.created = []
    seg = create_segmenter("sam2-onnx", model_dir=str(tmp_path), device=device)
    seg.load()
    assert [s.asked for s in _FakeSession.created] == [asked, asked]  # encoder and decoder alike
    info = seg.describe()
    assert info["provider"] == active and info["providers_requested"] == asked
    assert info["device"] == ("cuda" if active == "CUDAExecutionProvider" else "cpu")
    assert ("warning" in info) == (active != asked[0])


def test_onnx_segmenter_on_this_machine_runs_on_the_cpu_provider(onnx_segmenter):
    info = onnx_segmenter.describe()
    assert info["provider"] == "CPUExecutionProvider" and info["device"] == "cpu"  # onnxruntime (CPU) here
