"""The models the plugin knows: what each can do, how big it is, what it needs and its licence.

Sizes and memory are APPROXIMATE (weights as published, bf16/fp16 unless said; memory: what loading
for inference takes, RAM on CPU or GPU memory on a GPU, before long prompts). Licences are as the model
cards said when this table was written: check the card before any commercial use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError

ALL_VLM_TASKS = ("detection", "seg", "change", "caption", "identify", "vqa", "classify", "geolocation")
FLORENCE_TASKS = ("detection", "seg", "caption", "identify")
GENERAL_NOTE = "general model, not trained on remote sensing: expect weaker boxes and masks on aerial images"
GEO_R1_NOTE = (
    "remote-sensing checkpoint from https://github.com/Geo-R1/geo-r1 (Qwen2.5-VL-3B post-trained with GRPO on "
    "10 examples per class); prompts and answer format from that repository's evaluation scripts (dialect "
    "geo-r1); repository id from its README's naming convention (Geo-R1-3B-GRPO-<task>-10shot). "
)


@dataclass(frozen=True)
class ModelEntry:
    """One catalogue entry. ``kind``: ``vlm`` (vision-language, transformers engine), ``segmenter``
    (SAM2), ``parser`` (text LLM that reads instructions into plans: ``--parser-model ID``), ``local``
    (a folder you give) or ``server`` (an OpenAI-compatible URL you give). ``repo_id`` is ``None`` for
    what cannot be downloaded."""

    id: str
    title: str
    kind: str
    repo_id: str | None
    size_gb: float | None  # download size, approximate
    memory_gb: float | None  # RAM / GPU memory to run, approximate
    tasks: tuple[str, ...]  # what the plugin can prompt it for (its dialect's tasks, or what it was trained for)
    dialect: str | None  # the prompt style and answer format runs use unless the settings name another
    licence: str
    notes: str = ""
    allow_patterns: tuple[str, ...] = field(default=())  # files to fetch; empty: all

    @property
    def downloadable(self) -> bool:
        return self.repo_id is not None

    def summary(self) -> str:
        size = f"~{self.size_gb:g} GB" if self.size_gb is not None else "size: yours"
        mem = f"~{self.memory_gb:g} GB memory" if self.memory_gb is not None else "memory: depends"
        tasks = ",".join(self.tasks) or "-"
        return f"{self.id:28} {size:>12}  {mem:>18}  {self.licence:28} tasks={tasks} dialect={self.dialect or '-'}"


def _vlm(id, title, repo, size, mem, tasks, dialect, licence, notes=GENERAL_NOTE):
    return ModelEntry(id, title, "vlm", repo, size, mem, tasks, dialect, licence, notes)


def _sam(size_name, repo_suffix, file, size_gb, mem):
    return ModelEntry(
        f"sam2.1-{size_name}", f"SAM 2.1 Hiera {size_name}", "segmenter", f"facebook/sam2.1-hiera-{repo_suffix}",
        size_gb, mem, ("seg",), None, "Apache-2.0",
        "box/point-prompted masks for the seg task", (file, "*.yaml", "*.json", "*.md"),
    )


CATALOGUE: tuple[ModelEntry, ...] = (
    _vlm("georsmllm", "GeoRSMLLM checkpoint (LLaVA-OneVision layout)", None, None, None, ALL_VLM_TASKS,
         "georsmllm", "the checkpoint's own",
         "point at a local folder in the transformers 'llava_onevision' layout; see 'local'"),
    _vlm("llava-onevision-0.5b", "LLaVA-OneVision Qwen2 0.5B (base of small GeoRSMLLM builds)",
         "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", 1.8, 3.0, ALL_VLM_TASKS, "georsmllm", "Apache-2.0"),
    _vlm("llava-onevision-7b", "LLaVA-OneVision Qwen2 7B", "llava-hf/llava-onevision-qwen2-7b-ov-hf",
         16.1, 18.0, ALL_VLM_TASKS, "georsmllm", "Apache-2.0"),
    _vlm("qwen2.5-vl-3b", "Qwen2.5-VL 3B Instruct", "Qwen/Qwen2.5-VL-3B-Instruct", 7.5, 9.0,
         ALL_VLM_TASKS, "qwen2.5-vl", "Qwen Research (non-commercial)"),
    _vlm("qwen2.5-vl-7b", "Qwen2.5-VL 7B Instruct", "Qwen/Qwen2.5-VL-7B-Instruct", 16.6, 19.0,
         ALL_VLM_TASKS, "qwen2.5-vl", "Apache-2.0"),
    _vlm("qwen3-vl-2b", "Qwen3-VL 2B Instruct", "Qwen/Qwen3-VL-2B-Instruct", 4.3, 6.0,
         ALL_VLM_TASKS, "qwen3-vl", "Apache-2.0"),
    _vlm("qwen3-vl-4b", "Qwen3-VL 4B Instruct", "Qwen/Qwen3-VL-4B-Instruct", 8.9, 11.0,
         ALL_VLM_TASKS, "qwen3-vl", "Apache-2.0"),
    _vlm("florence-2-base", "Florence-2 base (transformers-native conversion)",
         "florence-community/Florence-2-base", 0.5, 1.5, FLORENCE_TASKS,
         "florence-2", "MIT"),
    _vlm("florence-2-large", "Florence-2 large (transformers-native conversion)",
         "florence-community/Florence-2-large", 1.6, 3.0, FLORENCE_TASKS,
         "florence-2", "MIT"),
    _vlm("internvl3-1b", "InternVL3 1B (-hf)", "OpenGVLab/InternVL3-1B-hf", 1.9, 3.0,
         ALL_VLM_TASKS, "internvl", "MIT (Qwen2.5 LLM part: Apache-2.0)"),
    _vlm("internvl3-2b", "InternVL3 2B (-hf)", "OpenGVLab/InternVL3-2B-hf", 4.2, 6.0,
         ALL_VLM_TASKS, "internvl", "MIT (Qwen2.5 LLM part: Apache-2.0)"),
    _vlm("internvl3-8b", "InternVL3 8B (-hf)", "OpenGVLab/InternVL3-8B-hf", 16.0, 19.0,
         ALL_VLM_TASKS, "internvl", "MIT (Qwen2.5 LLM part: Apache-2.0)"),
    _vlm("geo-r1-3b-ovd", "Geo-R1 3B GRPO OVD 10-shot (remote-sensing detection)", "Geo-R1/Geo-R1-3B-GRPO-OVD-10shot",
         7.5, 9.0, ("detection",), "geo-r1", "see the model card (base: Qwen2.5-VL-3B, Qwen Research licence)",
         GEO_R1_NOTE + "Trained for: detecting all objects of named classes (few-shot open-vocabulary detection, "
         "NWPU VHR-10), horizontal boxes. Not trained for segmentation, change, captions or questions."),
    _vlm("geo-r1-3b-gres", "Geo-R1 3B GRPO GRES 10-shot (remote-sensing referring segmentation)",
         "Geo-R1/Geo-R1-3B-GRPO-GRES-10shot", 7.5, 9.0, ("seg",), "geo-r1",
         "see the model card (base: Qwen2.5-VL-3B, Qwen Research licence)",
         GEO_R1_NOTE + "Trained for: referring segmentation (EarthReason): a box and two keypoints per object, "
         "which prompt SAM2. Not trained for detection lists, change, captions or questions."),
    _sam("tiny", "tiny", "sam2.1_hiera_tiny.pt", 0.16, 1.0),
    _sam("small", "small", "sam2.1_hiera_small.pt", 0.19, 1.2),
    _sam("base-plus", "base-plus", "sam2.1_hiera_base_plus.pt", 0.33, 1.5),
    _sam("large", "large", "sam2.1_hiera_large.pt", 0.9, 2.5),
    ModelEntry("qwen2.5-1.5b-instruct", "Qwen2.5 1.5B Instruct (instruction parser)", "parser",
               "Qwen/Qwen2.5-1.5B-Instruct", 3.1, 4.0, (), None, "Apache-2.0",
               "reads instructions into plans (--parser-model qwen2.5-1.5b-instruct); text only"),
    ModelEntry("qwen2.5-0.5b-instruct", "Qwen2.5 0.5B Instruct (small instruction parser)", "parser",
               "Qwen/Qwen2.5-0.5B-Instruct", 1.0, 1.5, (), None, "Apache-2.0",
               "reads instructions into plans (--parser-model qwen2.5-0.5b-instruct); text only"),
    ModelEntry("local", "A local folder", "local", None, None, None, ALL_VLM_TASKS, None,
               "the checkpoint's own", "any supported checkpoint folder (config.json with a supported model_type)"),
    ModelEntry("server", "A model server URL", "server", None, None, None, ALL_VLM_TASKS, None,
               "the server's model's own", "an OpenAI-compatible /v1 endpoint (vLLM, llama.cpp, Ollama...)"),
)

_BY_ID = {e.id: e for e in CATALOGUE}


def catalogue_dialect(model_ref: str) -> str | None:
    """The dialect the catalogue names for a model given by catalogue id or hub id (exact match), else
    ``None`` (a folder, an unknown id, or an entry without one)."""
    key = str(model_ref).strip()
    entry = _BY_ID.get(key.lower()) or next((e for e in CATALOGUE if e.repo_id and e.repo_id == key), None)
    return entry.dialect if entry is not None and entry.kind == "vlm" else None


def catalogue_repo(model_ref: str) -> str | None:
    """The hub id of a vision-language catalogue entry given by its catalogue id, else ``None``."""
    entry = _BY_ID.get(str(model_ref).strip().lower())
    return entry.repo_id if entry is not None and entry.kind == "vlm" else None


def find_model(model_id: str) -> ModelEntry:
    """The entry with this catalogue id (or hub id); ``ConfigError`` listing the ids otherwise."""
    key = str(model_id).strip()
    entry = _BY_ID.get(key.lower()) or next((e for e in CATALOGUE if e.repo_id == key), None)
    if entry is None:
        raise ConfigError(f"unknown model {model_id!r}; known: {', '.join(_BY_ID)}")
    return entry
