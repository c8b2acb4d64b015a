"""A text-only instruction model run in process (a causal LM such as Qwen2.5-Instruct): the instruction
parser's engine.

It takes requests without images, lays the system and user messages out with the tokenizer's chat
template (plain "system\\n\\nprompt" text when the tokenizer has none) and decodes greedily unless a
temperature is set. Like the transformers engine it loads only safetensors weights and only the stock
transformers code (``trust_remote_code`` reaches the tokenizer, never the model).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..errors import ConfigError, EngineError
from .base import Engine, EngineRequest, EngineResponse
from .checkpoint import check_local_weights, hub_error_message, hub_offline, read_config, resolve_source
from .device import (
    check_device_setting,
    check_dtype_setting,
    dtype_name,
    is_out_of_memory,
    release_memory,
    select_device,
    select_dtype,
)


def is_causal_lm(config: dict[str, Any]) -> bool:
    """Whether a checkpoint's ``config.json`` describes a text-only causal LM (``*ForCausalLM``
    architectures, or a ``model_type`` transformers loads with ``AutoModelForCausalLM``)."""
    architectures = config.get("architectures") or []
    if any(str(a).endswith("ForCausalLM") for a in architectures):
        return True
    if architectures:
        return False
    try:
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    except ImportError:  # pragma: no cover - transformers is what loads these at all
        return False
    return config.get("model_type") in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


class TextLLMEngine(Engine):
    """A local text-only causal LM (folder or hub id).

    Settings: ``model``, ``device`` (``auto``: CUDA, then MPS, then CPU), ``dtype`` (``auto``:
    bfloat16/float16 on GPU, float32 on CPU), ``trust_remote_code`` (the tokenizer's own code only),
    ``revision``.
    """

    name = "text-llm"

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
                 revision: str | None = None) -> None:
        if not isinstance(model, (str, bytes)) and not hasattr(model, "__fspath__"):
            raise ConfigError(f"model must be a folder path or a hub id, got {type(model).__name__}")
        self.model_ref = str(model)
        self._device_setting = check_device_setting(device)
        self._dtype_setting = check_dtype_setting(dtype)
        self.trust_remote_code = bool(trust_remote_code)
        self.revision = revision
        self._lock = threading.RLock()
        self._model = None
        self._tokenizer = None
        self._device: str | None = None
        self._dtype = None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            source = resolve_source(self.model_ref)
            config = read_config(source, trust_remote_code=self.trust_remote_code, revision=self.revision)
            if not is_causal_lm(config):
                raise EngineError(
                    f"{self.model_ref!r} is not a text-only causal language model (model type "
                    f"{config.get('model_type')!r}, architectures {config.get('architectures')}); the parser needs "
                    "one such as Qwen/Qwen2.5-0.5B-Instruct, or 'same' to reuse the main model"
                )
            if source.local_dir is not None:
                check_local_weights(source.local_dir)
            device = select_device(self._device_setting)
            dtype = select_dtype(device, self._dtype_setting)
            error: EngineError | None = None
            model = tokenizer = None
            try:
                model, tokenizer = self._load_weights(source, device, dtype)
            except Exception as exc:
                message = hub_error_message(exc, source) if source.hub_id is not None else None
                if is_out_of_memory(exc):
                    message = f"out of memory loading {self.model_ref!r} on {device}: choose a smaller model or cpu"
                first = str(exc).splitlines()[0] if str(exc) else ""
                error = EngineError(message or f"cannot load {self.model_ref!r}: {type(exc).__name__}: {first}")
            if error is not None:
                model = tokenizer = None  # nothing half-loaded stays referenced
                release_memory()
                raise error
            self._model, self._tokenizer, self._device, self._dtype = model, tokenizer, device, dtype

    def _load_weights(self, source, device: str, dtype):
        import transformers

        common: dict[str, Any] = {"local_files_only": source.hub_id is not None and hub_offline()}
        if self.revision:
            common["revision"] = self.revision
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            source.location, trust_remote_code=self.trust_remote_code, **common)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            source.location, dtype=dtype, use_safetensors=True, **common)
        model.to(device)
        model.eval()
        return model, tokenizer

    def close(self) -> None:
        with self._lock:
            self._model = None
            self._tokenizer = None
            release_memory()

    def _prompt_text(self, request: EngineRequest) -> str:
        tokenizer = self._tokenizer
        if getattr(tokenizer, "chat_template", None):
            messages = []
            if request.system:
                messages.append({"role": "system", "content": request.system})
            messages.append({"role": "user", "content": request.prompt})
            return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return f"{request.system}\n\n{request.prompt}" if request.system else request.prompt

    def generate(self, request: EngineRequest) -> EngineResponse:
        import torch

        if request.images:
            raise EngineError("the text-llm engine takes no images: it is a text-only model")
        if request.max_new_tokens < 1:
            raise EngineError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        self.load()
        with self._lock:
            model, tokenizer = self._model, self._tokenizer
            if model is None:
                raise EngineError("the engine was closed; load it again")
            started = time.perf_counter()
            inputs = tokenizer(self._prompt_text(request), return_tensors="pt", add_special_tokens=False)
            inputs = {k: v.to(self._device) for k, v in inputs.items()}
            kwargs: dict[str, Any] = {"max_new_tokens": int(request.max_new_tokens)}
            if request.temperature and request.temperature > 0:
                kwargs.update(do_sample=True, temperature=float(request.temperature))
            else:
                kwargs.update(do_sample=False)
            if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
                kwargs["pad_token_id"] = tokenizer.eos_token_id
            try:
                with torch.inference_mode():
                    out = model.generate(**inputs, **kwargs)
            except Exception as exc:
                if is_out_of_memory(exc):
                    del exc
                    release_memory()
                    raise EngineError(f"out of memory generating on {self._device}: use a smaller parser model") from None
                raise EngineError(f"generation failed: {type(exc).__name__}: {exc}") from exc
            new_ids = out[0, inputs["input_ids"].shape[1]:].tolist()
            text = tokenizer.decode(new_ids, skip_special_tokens=True)
        info = {"generated_tokens": len(new_ids), "seconds": time.perf_counter() - started}
        return EngineResponse(text=text, tokens=None, info=info)

    def describe(self) -> dict[str, Any]:
        loaded = self._model is not None
        return {
            "engine": self.name,
            "model": self.model_ref,
            "device": self._device if loaded else self._device_setting,
            "dtype": dtype_name(self._dtype) if loaded else self._dtype_setting,
            "loaded": loaded,
        }
