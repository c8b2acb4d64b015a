"""Run settings: one typed object with defaults, filled from a TOML file, then environment variables
(``GEORSMLLM_<FIELD>``), then explicit values (command-line options). Nothing else reads the environment."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError

ENV_PREFIX = "GEORSMLLM_"
#: how boxes of detection and change are refined (see ``pipeline.refine``)
REFINE_MODES = ("none", "sam2")
#: whether a run given a previous result follows up on it (see ``RunConfig.follow_up``)
FOLLOW_UP_MODES = ("auto", "yes", "no")
#: The default checkpoint (see README, "Default model"): 2B, Apache-2.0, loaded by stock transformers
#: classes, follows free instructions and grounds objects (JSON boxes and points, 0-1000).
DEFAULT_MODEL = "Qwen/Qwen3-VL-2B-Instruct"


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs, frozen once validated (``dataclasses.replace`` makes a changed copy). Sizes are
    pixels of the image sent to the model unless a name says otherwise."""

    raster: str | None = None  # a file, an http(s) URL of a GeoTIFF, or a STAC item (file or URL)
    raster_b: str | None = None
    stac_assets: list[str] | None = None  # STAC items: the asset(s) to read (1, or 3 for R, G, B); None: the RGB one
    instruction: str = ""
    output: str = "georsmllm.gpkg"
    task: str | None = None
    engine: str = "transformers"
    model: str = DEFAULT_MODEL
    # OpenAI-compatible model servers serving the same model; requests go to the least busy one. A single
    # URL (or several in one text, separated by commas, semicolons or spaces) is read as a list.
    base_url: list[str] | None = None
    api_key: str | None = None
    dialect: str | None = None  # None: the engine's default for the model family
    device: str = "auto"
    trust_remote_code: bool = False
    segmenter: str = "sam2"
    refine: str = "none"  # "sam2": boxes of detection and change prompt the segmenter (outlines, rotated boxes)
    sam2_checkpoint: str | None = None
    sam2_size: str = "tiny"
    sam2_image_size: int = 1024  # SAM2's square input in pixels (1024 for the official checkpoints)
    parser_model: str | None = None  # None: rule-based condition parser (reported as a fallback)
    tile_size: int = 768
    overlap: int = 96
    gsd: float | None = None  # target ground sample distance, CRS units per pixel of the image sent
    bands: list[int] | None = None  # 1-based band indexes (3, or 1 repeated); None: RGB or first band
    concurrency: int = 2  # tiles in flight in all
    max_tiles: int = 10_000  # a run planning more tiles is refused (a tiny gsd can plan hundreds of thousands)
    max_batch: int = 4  # transformers engine: most requests (tiles in flight) run together in one generate call
    endpoint_concurrency: int | None = None  # openai engine: most requests in flight per server (None: no own limit)
    gdal_cache_mb: int = 128  # GDAL block cache during a run (MiB); bounds memory on huge rasters
    max_new_tokens: int = 512
    timeout_s: float = 120.0
    context_layers: list[str] = field(default_factory=list)
    classes: list[str] | None = None
    run_name: str | None = None
    # a previous result given (``Pipeline.previous``): "auto" follows up on it when the wording refers to it
    # ("now only those ..."), "yes" always, "no" never
    follow_up: str = "auto"
    allow_pixel_coords: bool = False
    script: str | None = None  # answers file for the "scripted" engine

    def __post_init__(self):
        # Older clients and TOML files give one URL as text; a list may hold "URL1,URL2" items too.
        items = [self.base_url] if isinstance(self.base_url, str) else list(self.base_url or [])
        urls = [u for item in items for u in _split_urls(str(item))]
        object.__setattr__(self, "base_url", urls or None)  # frozen: normalised once, here
        self.validate()

    def validate(self) -> None:
        if self.tile_size < 32:
            raise ConfigError(f"tile_size must be at least 32 pixels, got {self.tile_size}")
        if not 0 <= self.overlap < self.tile_size // 2:
            raise ConfigError(f"overlap must be between 0 and half the tile size ({self.tile_size // 2}), got {self.overlap}")
        if self.gsd is not None and self.gsd <= 0:
            raise ConfigError(f"gsd must be positive, got {self.gsd}")
        if self.sam2_image_size < 16 or self.sam2_image_size % 16:
            raise ConfigError(f"sam2_image_size must be a positive multiple of 16, got {self.sam2_image_size}")
        if self.gdal_cache_mb < 8:
            raise ConfigError(f"gdal_cache_mb must be at least 8, got {self.gdal_cache_mb}")
        if self.max_tiles < 1:
            raise ConfigError(f"max_tiles must be at least 1, got {self.max_tiles}")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.max_batch < 1:
            raise ConfigError(f"max_batch must be at least 1, got {self.max_batch}")
        if self.endpoint_concurrency is not None and self.endpoint_concurrency < 1:
            raise ConfigError(f"endpoint_concurrency must be at least 1, got {self.endpoint_concurrency}")
        if self.bands is not None and len(self.bands) not in (1, 3):
            raise ConfigError(f"bands takes 1 or 3 band numbers, got {self.bands}")
        if self.follow_up not in FOLLOW_UP_MODES:
            raise ConfigError(f"follow_up must be one of {', '.join(FOLLOW_UP_MODES)}, got {self.follow_up!r}")
        if self.stac_assets is not None and len(self.stac_assets) not in (1, 3):
            raise ConfigError(f"stac_assets names 1 asset (a picture) or 3 (red, green, blue), got {self.stac_assets}")
        if self.stac_assets is not None and len(self.stac_assets) == 3 and self.bands is not None:
            raise ConfigError("bands picks bands inside one file: with three STAC band assets, leave bands unset")
        if self.refine not in REFINE_MODES:
            raise ConfigError(f"refine must be one of {', '.join(REFINE_MODES)}, got {self.refine!r}")
        if self.refine != "none" and self.segmenter in ("none", "", None):
            raise ConfigError(f"refine {self.refine} needs a segmenter: set segmenter to sam2 or sam2-onnx")

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values, secrets masked: the API key, and URLs' credentials and query strings
        (a signed URL's signature) in ``raster`` / ``raster_b``. This is what layer metadata records."""
        from ..raster.remote import is_url, redact

        data = dataclasses.asdict(self)
        if data.get("api_key"):
            data["api_key"] = "***"
        for key in ("raster", "raster_b"):
            if data.get(key) and is_url(data[key]):
                data[key] = redact(data[key])
        return data

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        config_file: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> "RunConfig":
        """Defaults < ``base`` < TOML file < environment < ``overrides`` (``None`` values in overrides are
        ignored). ``base``: settings that stand in for the defaults (a resumed run's own).

        The TOML file is ``config_file`` or ``$GEORSMLLM_CONFIG``; its keys are the field names, at top level or
        under a ``[run]`` table.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = dict(base or {})
        path = config_file or environ.get(ENV_PREFIX + "CONFIG")
        if path:
            values.update(_read_toml(Path(path)))
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw)
        for key, value in (overrides or {}).items():
            if value is not None:
                values[key] = value
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**{k: _coerce(k, v) if isinstance(v, str) else v for k, v in values.items()})


def _split_urls(text: str) -> list[str]:
    return [u for u in re.split(r"[,;\s]+", text) if u]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return dict(data.get("run", data))


_HINTS = typing.get_type_hints(RunConfig)


def _coerce(name: str, raw: str) -> Any:
    """A setting given as text (environment, TOML strings) -> the field's type."""
    hint = _HINTS.get(name)
    text = str(hint)
    try:
        if hint is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if hint is int or text in ("int | None", "typing.Optional[int]"):
            return int(raw)
        if "float" in text and "list" not in text:
            return float(raw)
        if "list[int]" in text:
            return [int(v) for v in raw.replace(";", ",").split(",") if v.strip()]
        if "list[str]" in text:
            return [v.strip() for v in raw.split(";" if ";" in raw else ",") if v.strip()]
    except ValueError:
        raise ConfigError(f"setting {name} has an invalid value {raw!r} (expected {text})") from None
    return raw
