"""Instruction records -> model inputs with labels on the answers only.

Each record's conversation is laid out with the checkpoint's own chat template exactly as the
transformers engine lays out a request (the images first in the first user message, then the text),
so training and inference see the same prompt. The first user turn is run through the processor with
the images (which resizes/tiles them at the model's resolution and expands the image placeholders);
every later segment is tokenised as text. Labels are -100 on every prompt and image token; answer
tokens (and the template's end-of-turn token after them) are learned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from ..data.records import record_images, record_turns, strip_image_tokens
from ..errors import ConfigError

IGNORE_INDEX = -100
_SEQUENCE_KEYS = {"input_ids", "attention_mask", "labels", "mm_token_type_ids", "token_type_ids"}


def _messages(turns: list[tuple[str, str]], n_images: int) -> list[dict[str, Any]]:
    messages = []
    for k, (question, answer) in enumerate(turns):
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images if k == 0 else 0)]
        content.append({"type": "text", "text": strip_image_tokens(question)})
        messages.append({"role": "user", "content": content})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


def _segments(processor, messages: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The chat text cut into ``(text, is_answer)`` pieces; needs a template whose rendering of a
    longer conversation starts with that of every shorter one (ChatML and most others)."""
    render = lambda msgs, gen: processor.apply_chat_template(msgs, add_generation_prompt=gen, tokenize=False)  # noqa: E731
    pieces: list[tuple[str, bool]] = []
    done = ""
    for k in range(0, len(messages), 2):
        prompt = render(messages[: k + 1], True)
        full = render(messages[: k + 2], False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise ConfigError(
                "the checkpoint's chat template does not render conversations as growing prefixes, so answers "
                "cannot be masked; use a ChatML-style template"
            )
        pieces.append((prompt[len(done):], False))
        pieces.append((full[len(prompt):], True))
        done = full
    return pieces


def encode_record(
    record: dict[str, Any], processor, root: str | Path = ".", max_length: int | None = None
) -> dict[str, torch.Tensor]:
    """One record -> ``input_ids``, ``attention_mask``, ``labels`` (1-D) plus the processor's image
    tensors (``pixel_values``, ``image_sizes`` or ``image_grid_thw`` ...). Answers beyond
    ``max_length`` tokens are cut; a prompt alone longer than that raises ``ConfigError``."""
    from PIL import Image

    rid = record.get("id")
    paths = record_images(record)
    images = []
    for p in paths:
        try:
            with Image.open(Path(root) / p) as im:
                images.append(im.convert("RGB"))
        except OSError as exc:
            raise ConfigError(f"record {rid!r}: cannot read image {p!r}: {exc}") from None
    pieces = _segments(processor, _messages(record_turns(record), len(images)))
    first = processor(text=[pieces[0][0]], images=images or None, return_tensors="pt")
    ids = first["input_ids"][0].tolist()
    labels = [IGNORE_INDEX] * len(ids)
    extra_seq = {k: first[k][0].tolist() for k in ("mm_token_type_ids", "token_type_ids") if k in first}
    tok = processor.tokenizer
    for text, is_answer in pieces[1:]:
        piece_ids = tok(text, add_special_tokens=False)["input_ids"]
        ids += piece_ids
        labels += piece_ids if is_answer else [IGNORE_INDEX] * len(piece_ids)
        for k in extra_seq:
            extra_seq[k] += [0] * len(piece_ids)
    prompt_len = first["input_ids"].shape[1]
    if max_length and len(ids) > max_length:
        if prompt_len >= max_length:
            raise ConfigError(
                f"record {rid!r}: the prompt with its images is {prompt_len} tokens, over max_length "
                f"{max_length}; raise --max-length or use smaller images"
            )
        ids, labels = ids[:max_length], labels[:max_length]
        extra_seq = {k: v[:max_length] for k, v in extra_seq.items()}
    out = {
        "input_ids": torch.tensor(ids, dtype=torch.long),
        "attention_mask": torch.ones(len(ids), dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
    }
    out.update({k: torch.tensor(v, dtype=torch.long) for k, v in extra_seq.items()})
    for k, v in first.items():
        if k not in _SEQUENCE_KEYS and isinstance(v, torch.Tensor):
            out[k] = v
    return out


class InstructionDataset(torch.utils.data.Dataset):
    """Records encoded on access (images are read when a sample is drawn)."""

    def __init__(self, records: Sequence[dict[str, Any]], processor, root: str | Path = ".",
                 max_length: int | None = None) -> None:
        self.records = list(records)
        if not self.records:
            raise ConfigError("the training data holds no records")
        self.processor, self.root, self.max_length = processor, Path(root), max_length

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return encode_record(self.records[i], self.processor, self.root, self.max_length)


class Collator:
    """Pads sequences on the right (ids with ``pad_id``, labels with -100, masks with 0) and joins the
    image tensors along their first axis (LLaVA-OneVision's per-image tile stacks are zero-padded to
    the most tiles: the model takes only as many as each image's size implies)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = int(pad_id)

    def __call__(self, features: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        longest = max(f["input_ids"].shape[0] for f in features)
        for key in features[0]:
            values = [f[key] for f in features]
            if key in _SEQUENCE_KEYS:
                fill = self.pad_id if key == "input_ids" else IGNORE_INDEX if key == "labels" else 0
                batch[key] = torch.stack(
                    [torch.cat([v, v.new_full((longest - v.shape[0],), fill)]) for v in values]
                )
            elif key == "pixel_values" and values[0].dim() == 5:
                tiles = max(v.shape[1] for v in values)
                padded = []
                for v in values:
                    if v.shape[1] < tiles:
                        v = torch.cat([v, v.new_zeros((v.shape[0], tiles - v.shape[1], *v.shape[2:]))], dim=1)
                    padded.append(v)
                batch[key] = torch.cat(padded, dim=0)
            else:
                batch[key] = torch.cat(values, dim=0)
        return batch
