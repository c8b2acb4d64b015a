"""The embedded engine: a vision-language checkpoint run in-process with stock transformers classes.

The family (LLaVA-OneVision/GeoRSMLLM, Qwen2-VL, Qwen2.5-VL, Qwen3-VL, InternVL-hf, Florence-2) comes
from the checkpoint's ``config.model_type``; weights load from safetensors only. Answers carry the
probability of every generated token with its character span in the answer text.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Sequence

from ..errors import ConfigError, EngineError
from .base import Engine, EngineRequest, EngineResponse, TokenProb
from .checkpoint import (
    CheckpointSource,
    check_local_weights,
    hub_error_message,
    hub_offline,
    read_config,
    resolve_source,
)
from .device import (
    check_device_setting,
    check_dtype_setting,
    dtype_name,
    is_out_of_memory,
    release_memory,
    select_device,
    select_dtype,
)
from .batching import BatchQueue, Item
from .families import Family, family_for
from .images import check_images, fit_to_model_frame, to_pil
from .scoring import spans_from_prefix_texts

#: Largest batch by default: requests waiting together (tiles in flight) run as one ``generate`` call.
DEFAULT_MAX_BATCH = 4

# Chat-layout and placeholder tokens: never part of an answer. Markup tokens that carry meaning
# (Qwen's <|box_start|>, Florence-2's <loc_N>) are special too but stay in the text for the dialect.
_CONTROL_TOKENS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<image>",
    "<video>",
    "<img>",
    "</img>",
    "<IMG_CONTEXT>",
    "<s>",
    "</s>",
    "<pad>",
    "<unk>",
)


class TransformersEngine(Engine):
    """A local checkpoint (folder or hub id) loaded with transformers.

    Settings: ``model`` (folder or hub id), ``dialect`` (default per family, see
    ``families.default_dialect_for``), ``device`` (``auto``: CUDA, then MPS, then CPU), ``dtype``
    (``auto``: bfloat16/float16 on GPU, float32 on CPU), ``trust_remote_code`` (off: only the stock
    transformers code runs; on: a checkpoint's own processor/tokenizer code may run), ``revision``
    (hub branch, tag or commit), ``max_batch`` (most requests run together in one ``generate`` call:
    requests that arrive while the model is busy wait and then run as one batch, each image at its own
    size, prompts padded on the left; 1 runs them one at a time).
    """

    name = "transformers"

    def __init__(
        self,
        model: str,
        *,
        dialect: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        trust_remote_code: bool = False,
        revision: str | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if not isinstance(model, (str, bytes)) and not hasattr(model, "__fspath__"):
            raise ConfigError(f"model must be a folder path or a hub id, got {type(model).__name__}")
        self.model_ref = str(model)
        self._dialect_setting = dialect or None
        self._device_setting = check_device_setting(device)
        self._dtype_setting = check_dtype_setting(dtype)
        self.trust_remote_code = bool(trust_remote_code)
        self.revision = revision
        if isinstance(max_batch, bool) or int(max_batch) != max_batch or int(max_batch) < 1:
            raise ConfigError(f"max_batch must be a whole number of at least 1, got {max_batch!r}")
        self.max_batch = int(max_batch)
        self._queue: BatchQueue[_Prepared] = BatchQueue(self.max_batch, self._run_batch)
        self._lock = threading.RLock()
        self._model = None
        self._processor = None
        self._family: Family | None = None
        self._device: str | None = None
        self._dtype = None
        self._drop_ids: frozenset[int] = frozenset()
        self._eos_ids: frozenset[int] = frozenset()

    @classmethod
    def from_loaded(
        cls, model, processor, *, name: str = "in-memory model", dialect: str | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> "TransformersEngine":
        """An engine around a model and processor already in memory, e.g. built from a configuration with
        random weights for a benchmark. The family comes from ``model.config.model_type``; the device and
        dtype are the model's own."""
        first = next(model.parameters())
        engine = cls(name, dialect=dialect, device=first.device.type, max_batch=max_batch)
        engine._model, engine._processor = model.eval(), processor
        engine._family = family_for(model.config.model_type)
        engine._device, engine._dtype = str(first.device), first.dtype
        engine._drop_ids, engine._eos_ids = _control_ids(processor, model)
        return engine

    # -- loading -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dialect(self) -> str:
        """The dialect name: the configured one, else the family's default (reads the checkpoint's
        config if not loaded yet)."""
        if self._dialect_setting:
            return self._dialect_setting
        family = self._family or family_for(
            self._read_config(resolve_source(self.model_ref)).get("model_type")
        )
        return family.dialect

    def _read_config(self, source: CheckpointSource) -> dict[str, Any]:
        return read_config(source, trust_remote_code=self.trust_remote_code, revision=self.revision)

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            device = select_device(self._device_setting)
            dtype = select_dtype(device, self._dtype_setting)
            source = resolve_source(self.model_ref)
            config = self._read_config(source)
            family = family_for(config.get("model_type"))
            if source.local_dir is not None:
                check_local_weights(source.local_dir)
            model = processor = None
            error: EngineError | None = None
            try:
                model, processor = self._load_weights(source, family, device, dtype)
            except EngineError as exc:
                error = exc.with_traceback(None)
            except Exception as exc:
                error = EngineError(self._load_error_message(exc, source, family, config, device))
            if error is not None:
                # Raised outside the except block so no traceback keeps a half-built model alive.
                model = processor = None
                release_memory()
                raise error
            self._model, self._processor, self._family = model, processor, family
            self._device, self._dtype = device, dtype
            self._drop_ids, self._eos_ids = _control_ids(processor, model)

    def _load_weights(self, source: CheckpointSource, family: Family, device: str, dtype):
        import transformers

        common: dict[str, Any] = dict(
            trust_remote_code=self.trust_remote_code,
            local_files_only=source.hub_id is not None and hub_offline(),
        )
        if self.revision:
            common["revision"] = self.revision
        processor = transformers.AutoProcessor.from_pretrained(source.location, **common)
        if family.chat_template and not getattr(processor, "chat_template", None):
            raise EngineError(
                f"checkpoint {self.model_ref!r} has no chat template (chat_template.jinja or "
                "processor_config.json), so prompts cannot be laid out; use a checkpoint saved with its "
                "processor"
            )
        model_class = getattr(transformers, family.model_class)
        # The stock class always: trust_remote_code reaches the processor, never the model code.
        common.pop("trust_remote_code")
        model = model_class.from_pretrained(source.location, dtype=dtype, use_safetensors=True, **common)
        model.to(device)
        model.eval()
        return model, processor

    def _load_error_message(self, exc: Exception, source, family: Family, config: dict, device: str) -> str:
        ref = self.model_ref
        if is_out_of_memory(exc):
            return (
                f"out of memory loading {family.title} checkpoint {ref!r} on {device}: choose a smaller "
                "model, set dtype to float16/bfloat16, or set device to cpu"
            )
        text = str(exc)
        if source.hub_id is not None:
            hub = hub_error_message(exc, source)
            if hub:
                return hub
        if isinstance(exc, OSError) and "safetensors" in text.lower():
            return (
                f"{ref!r} has no safetensors weights; only safetensors are loaded because pickle files "
                "can run code: use a safetensors release or convert the checkpoint"
            )
        first_line = text.splitlines()[0] if text else ""
        message = f"cannot load {family.title} checkpoint {ref!r}: {type(exc).__name__}: {first_line}"
        if "auto_map" in config:
            message += " (this checkpoint ships its own model code; use its transformers-native conversion)"
        return message

    def close(self) -> None:
        with self._lock:
            self._model = None
            self._processor = None
            release_memory()

    # -- generation --------------------------------------------------------------------------

    def _prompt_text(self, request: EngineRequest, n_images: int) -> str:
        family = self._family
        if not family.chat_template:
            if request.system:
                raise EngineError(f"{family.title} takes no system message; leave it empty for this model")
            return request.prompt
        content = [{"type": "image"} for _ in range(n_images)]
        content.append({"type": "text", "text": request.prompt})
        messages = []
        if request.system:
            messages.append({"role": "system", "content": [{"type": "text", "text": request.system}]})
        messages.append({"role": "user", "content": content})
        return self._processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def generate(self, request: EngineRequest) -> EngineResponse:
        """Answer one request; requests from several threads at once are batched (see ``max_batch``)."""
        return self.generate_many([request])[0]

    def generate_many(self, requests: Sequence[EngineRequest]) -> list[EngineResponse]:
        """Answer several requests, run together in batches of up to ``max_batch`` (with any other
        requests waiting at the same time); the answers in order. The first failure is raised."""
        for request in requests:
            if request.max_new_tokens < 1:
                raise EngineError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        self.load()
        prepared = [self._prepare(request) for request in requests]
        # Only requests with the same number of images and the same decoding settings share a batch
        # (max_new_tokens too: some models force the end token at the length limit).
        return self._queue.submit_many(
            [(p, (len(p.images), float(p.request.temperature or 0.0), int(p.request.max_new_tokens))) for p in prepared]
        )

    def _prepare(self, request: EngineRequest) -> "_Prepared":
        """Check the images and lay out the prompt (in the caller's thread, while the model may be busy)."""
        with self._lock:
            family, processor = self._family, self._processor
        if processor is None:
            raise EngineError("the engine was closed; load it again")
        min_images = 1 if not family.chat_template else 0
        images = check_images(request.images, max_images=family.max_images, min_images=min_images)
        images = fit_to_model_frame(images, self.dialect)
        return _Prepared(request, self._prompt_text(request, len(images)), [to_pil(a) for a in images])

    def _run_batch(self, items: "list[Item[_Prepared]]") -> None:
        """Generate for ``items`` in one call; on running out of memory, in halves; on any other failure
        of a batch, one by one, so that one bad request fails alone."""
        try:
            responses = self._generate_batch([it.payload for it in items])
        except EngineError as exc:
            if len(items) == 1:
                items[0].error = exc
                return
            half = len(items) // 2
            if isinstance(exc, _OutOfMemory):
                self._run_batch(items[:half])
                self._run_batch(items[half:])
            else:
                for it in items:
                    self._run_batch([it])
            return
        for it, response in zip(items, responses):
            it.result = response

    def _generate_batch(self, batch: "list[_Prepared]") -> list[EngineResponse]:
        import torch

        with self._lock:
            model, processor = self._model, self._processor
            if model is None:
                raise EngineError("the engine was closed; load it again")
            started = time.perf_counter()
            tokenizer = processor.tokenizer
            # Decoder-only models continue the text where it ends, so prompts are padded on the left;
            # an encoder-decoder (Florence-2) reads its prompt with absolute positions from the start.
            tokenizer.padding_side = "right" if model.config.is_encoder_decoder else "left"
            pil_images = [image for p in batch for image in p.images] or None
            inputs = processor(text=[p.text for p in batch], images=pil_images, padding=True, return_tensors="pt")
            inputs = {
                k: (v.to(self._device, self._dtype) if v.is_floating_point() else v.to(self._device))
                for k, v in inputs.items()
                if isinstance(v, torch.Tensor)
            }
            first = batch[0].request
            kwargs: dict[str, Any] = dict(
                max_new_tokens=int(first.max_new_tokens),
                output_logits=True,
                return_dict_in_generate=True,
            )
            if first.temperature and first.temperature > 0:
                kwargs.update(do_sample=True, temperature=float(first.temperature))
            else:
                kwargs.update(do_sample=False)
            if tokenizer.pad_token_id is None and model.generation_config.pad_token_id is None and self._eos_ids:
                kwargs["pad_token_id"] = min(self._eos_ids)
            try:
                with torch.inference_mode():
                    out = model.generate(**inputs, **kwargs)
            except Exception as exc:
                if is_out_of_memory(exc):
                    del exc
                    release_memory()
                    raise _OutOfMemory(
                        f"out of memory generating {len(batch)} request(s) at once on {self._device}: use fewer "
                        "or smaller images (smaller tiles), fewer max_new_tokens, a smaller max_batch or model"
                    ) from None
                raise EngineError(f"generation failed: {type(exc).__name__}: {exc}") from exc
            seconds = time.perf_counter() - started
            logits = out.logits or out.scores or ()
            generated = out.sequences[:, out.sequences.shape[1] - len(logits) :]
            sizes = _model_image_sizes(processor, inputs)
            per_sample = len(sizes) // len(batch) if sizes is not None else 0
            responses = []
            for i in range(len(batch)):
                gen_ids = _own_tokens(generated[i].tolist(), self._eos_ids)
                logprobs = [
                    float(logits[t][i].float()[tok] - torch.logsumexp(logits[t][i].float(), dim=-1))
                    for t, tok in enumerate(gen_ids)
                ]
                answer, spans = _decode_with_spans(tokenizer, gen_ids, self._drop_ids)
                info: dict[str, Any] = {
                    "input_tokens": int(inputs["attention_mask"][i].sum()) if "attention_mask" in inputs else None,
                    "generated_tokens": len(gen_ids),
                    "finish_reason": "stop" if gen_ids and gen_ids[-1] in self._eos_ids else "length",
                    "seconds": seconds,
                    "batch_size": len(batch),
                }
                if sizes is not None:
                    info["model_image_sizes"] = sizes[i * per_sample : (i + 1) * per_sample]
                tokens = [TokenProb(start, end, math.exp(lp)) for (start, end), lp in zip(spans, logprobs)]
                responses.append(EngineResponse(text=answer, tokens=tokens, info=info))
        return responses

    def describe(self) -> dict[str, Any]:
        loaded = self._model is not None
        return {
            "engine": self.name,
            "model": self.model_ref,
            "device": self._device if loaded else self._device_setting,
            "dtype": dtype_name(self._dtype) if loaded else self._dtype_setting,
            "family": self._family.model_type if self._family else None,
            "dialect": self._dialect_setting or (self._family.dialect if self._family else None),
            "loaded": loaded,
            "trust_remote_code": self.trust_remote_code,
            "max_batch": self.max_batch,
        }


class _OutOfMemory(EngineError):
    """The device ran out of memory in ``generate`` (a smaller batch may fit)."""


class _Prepared:
    """A request ready for the processor: its chat-laid-out prompt ``text`` and PIL ``images``."""

    __slots__ = ("request", "text", "images")

    def __init__(self, request: EngineRequest, text: str, images: list) -> None:
        self.request, self.text, self.images = request, text, images


def _own_tokens(ids: list[int], eos_ids: frozenset[int]) -> list[int]:
    """A sample's generated ids in a batch: up to and including its first end-of-sequence token (a
    finished sample is padded while the others go on)."""
    for k, token in enumerate(ids):
        if token in eos_ids:
            return ids[: k + 1]
    return ids


def _control_ids(processor, model) -> tuple[frozenset[int], frozenset[int]]:
    """(ids never shown in answers, ids that end generation)."""
    tok = processor.tokenizer
    eos: set[int] = set()
    for source in (tok, model.generation_config, model.config):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            eos.add(value)
        elif isinstance(value, (list, tuple)):
            eos.update(int(v) for v in value)
    drop = set(eos)
    for attr in (
        "bos_token_id",
        "pad_token_id",
        "unk_token_id",
        "sep_token_id",
        "cls_token_id",
        "mask_token_id",
    ):
        value = getattr(tok, attr, None)
        if isinstance(value, int):
            drop.add(value)
    for value in (getattr(model.generation_config, "decoder_start_token_id", None),):
        if isinstance(value, int):
            drop.add(value)
    for attr in ("image_token_id", "video_token_id"):
        value = getattr(processor, attr, None)
        if isinstance(value, int):
            drop.add(value)
    vocab = tok.get_vocab()
    drop.update(vocab[t] for t in _CONTROL_TOKENS if t in vocab)
    return frozenset(drop), frozenset(eos)


def _decode_with_spans(
    tokenizer, ids: list[int], drop_ids: frozenset[int]
) -> tuple[str, list[tuple[int, int]]]:
    """Answer text of generated ``ids`` without control tokens, and each id's character span in it.

    Decodes every prefix so that spans are exact whatever the tokenizer merges (byte-level pieces,
    multi-byte characters, cleanup of spaces); quadratic in the answer length, a few milliseconds
    for hundreds of tokens.
    """
    kept: list[int] = []
    prefix_texts: list[str] = []
    text = ""
    for token_id in ids:
        if token_id not in drop_ids:
            kept.append(token_id)
            text = tokenizer.decode(kept, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        prefix_texts.append(text)
    return text, spans_from_prefix_texts(prefix_texts, text)


def _model_image_sizes(processor, inputs) -> list[list[int]] | None:
    """``[[width, height], ...]`` in pixels of each image as resized by a Qwen-style processor (the frame
    its absolute pixel coordinates refer to); ``None`` for other processors."""
    grid = inputs.get("image_grid_thw")
    patch = getattr(getattr(processor, "image_processor", None), "patch_size", None)
    if grid is None or not patch:
        return None
    return [[int(w) * int(patch), int(h) * int(patch)] for _, h, w in grid.tolist()]
