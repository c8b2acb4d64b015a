"""Images go to the model at the size the dialect's coordinates refer to (Qwen2.5-VL absolute pixels)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from model_backend.dialects import get_dialect
from model_backend.engines import get_engine
from model_backend.engines.base import EngineRequest
from model_backend.engines.images import fit_to_model_frame
from model_backend.geometry import RotatedBox
from model_backend.tasks import Task
from tests.helpers.fake_openai import FakeOpenAIServer, Reply, completion


def test_normalised_dialects_leave_images_alone():
    image = np.zeros((1100, 1300, 3), np.uint8)
    for name in ("georsmllm", "qwen2-vl", "qwen3-vl", "florence-2", "internvl"):
        assert fit_to_model_frame([image], name)[0] is image


def test_qwen25_images_are_resized_to_the_dialect_frame():
    image = np.zeros((1100, 1300, 3), np.uint8)  # 1.43 Mpx: over the dialect's 1280 x 28 x 28 limit
    frame = get_dialect("qwen2.5-vl").model_input_size((1300, 1100))
    (out,) = fit_to_model_frame([image], "qwen2.5-vl")
    assert (out.shape[1], out.shape[0]) == frame != (1300, 1100)
    assert frame[0] % 28 == 0 and frame[1] % 28 == 0
    # a second resize to the same frame is the identity: a processor with other limits leaves it alone
    assert get_dialect("qwen2.5-vl").model_input_size(frame) == frame


def test_openai_engine_sends_the_frame_the_parser_assumes():
    dialect = get_dialect("qwen2.5-vl")
    size = (1300, 1100)
    frame = dialect.model_input_size(size)
    # the model answers a box in absolute pixels of the image it received
    box_frame = RotatedBox(((100, 100), (400, 100), (400, 300), (100, 300)), label="roof")
    answer = dialect.format_objects([box_frame], Task.DETECTION, frame)
    with FakeOpenAIServer(default=lambda body: Reply(body=completion(answer))) as server:
        engine = get_engine("openai", base_url=server.url, dialect="qwen2.5-vl", backoff=0.01)
        engine.load()
        response = engine.generate(EngineRequest("find roofs", images=[np.zeros((1100, 1300, 3), np.uint8)]))
        content = server.chat_requests()[-1]["body"]["messages"][-1]["content"]
    url = next(part["image_url"]["url"] for part in content if part["type"] == "image_url")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.size == frame
    (parsed,) = dialect.parse(response.text, Task.DETECTION, size).objects
    # back in pixels of the original image: x scaled by 1300 / frame width
    assert parsed.corners[1][0] == __import__("pytest").approx(400 * size[0] / frame[0], abs=1e-6)
