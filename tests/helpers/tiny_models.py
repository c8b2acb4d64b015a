"""Tiny random-weight vision-language checkpoints built offline, for engine plumbing tests.

Each ``build_*`` writes a complete checkpoint folder (config, safetensors weights, tokenizer,
processor with chat template) with ``save_pretrained`` and returns its path. Random weights make
the answers meaningless: tests check loading, shapes, devices, dtypes and token spans only.
"""

from __future__ import annotations

from pathlib import Path

import torch
import transformers as tf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

_CORPUS = [
    "the plane is parked on the runway near the terminal",
    "a ship in the harbour, two cars on the bridge",
    "detection seg change caption identify vqa classify geolocation",
    "{<120><340><560><780>|45} storage tank (12,34),(56,78) 0123456789",
    "Describe the image. Where are the buildings? A river crosses the field.",
]

# The ChatML layout used by Qwen-family models, with an image placeholder per family.
_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}IMAGE_PLACEHOLDER"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def chat_template(image_placeholder: str) -> str:
    """A ChatML chat template writing ``image_placeholder`` for each image part."""
    return _CHATML.replace("IMAGE_PLACEHOLDER", image_placeholder)


def build_tokenizer(
    special: list[str], extra_special: dict[str, str] | None = None, vocab_size: int = 400,
    corpus: list[str] | None = None, **kwargs
) -> tf.PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on a few sentences (and ``corpus``) with ``special`` added tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS + list(corpus or []), trainer)
    fast = tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, extra_special_tokens=extra_special or {}, **kwargs
    )
    return fast


_QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<|box_start|>",
    "<|box_end|>",
]


def _qwen_tokenizer() -> tf.PreTrainedTokenizerFast:
    return build_tokenizer(
        _QWEN_SPECIAL, eos_token="<|im_end|>", pad_token="<|endoftext|>", clean_up_tokenization_spaces=False
    )


def _save(model, processor, folder: Path) -> Path:
    # The default init (std 0.02) leaves each layer close to the identity, so a random model repeats
    # its last input token forever; wider weights give varied answers over many different tokens.
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.normal_(0.0, 1.5 / module.in_features**0.5, generator=gen)
        model.get_input_embeddings().weight.normal_(0.0, 1.0, generator=gen)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _text_kwargs(tok, hidden: int = 64, **extra) -> dict:
    return dict(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
        **extra,
    )


def build_llava_onevision(folder: Path) -> Path:
    """LLaVA-OneVision (the GeoRSMLLM architecture): SigLIP vision tower + Qwen2 language model."""
    torch.manual_seed(0)
    tok = build_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )
    image_id, video_id = tok.convert_tokens_to_ids(["<image>", "<video>"])
    size = 56  # GeoRSMLLM uses 384; 56 px tiles keep the image sequence at 16 tokens per tile
    config = tf.LlavaOnevisionConfig(
        vision_config=tf.SiglipVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=size,
            patch_size=14,
            vision_use_head=False,
        ),
        text_config=tf.Qwen2Config(**_text_kwargs(tok)),
        image_token_index=image_id,
        video_token_index=video_id,
        image_grid_pinpoints=[[size * i, size * j] for i in (1, 2) for j in (1, 2)],
        vision_aspect_ratio="anyres_max_9",
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        tie_word_embeddings=True,
    )
    model = tf.LlavaOnevisionForConditionalGeneration(config).eval()
    image_processor = tf.LlavaOnevisionImageProcessor(
        size={"height": size, "width": size},
        image_grid_pinpoints=config.image_grid_pinpoints,
    )
    processor = tf.LlavaOnevisionProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=tf.LlavaOnevisionVideoProcessor(),
        num_image_tokens=(size // 14) ** 2,
        vision_feature_select_strategy="full",
        chat_template=chat_template("<image>\n"),
    )
    return _save(model, processor, folder)


def _qwen_image_processor(cls, patch_size: int = 14):
    # Small pixel budget keeps the vision sequence short (a few dozen patches) on the CPU.
    unit = patch_size * 2
    return cls(
        size={"shortest_edge": 4 * unit * unit, "longest_edge": 16 * unit * unit},
        patch_size=patch_size,
        merge_size=2,
        temporal_patch_size=2,
    )


def _qwen_vl_ids(tok) -> dict:
    ids = tok.convert_tokens_to_ids(["<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"])
    return dict(
        image_token_id=ids[0], video_token_id=ids[1], vision_start_token_id=ids[2], vision_end_token_id=ids[3]
    )


_QWEN_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


def build_qwen2_vl(folder: Path) -> Path:
    """Qwen2-VL with a 1-layer vision tower and a 2-layer text model."""
    torch.manual_seed(0)
    tok = _qwen_tokenizer()
    config = tf.Qwen2VLConfig(
        vision_config=dict(depth=1, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2),
        text_config=dict(
            **_text_kwargs(tok),
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        ),
        tie_word_embeddings=True,
        **_qwen_vl_ids(tok),
    )
    model = tf.Qwen2VLForConditionalGeneration(config).eval()
    processor = tf.Qwen2VLProcessor(
        image_processor=_qwen_image_processor(tf.Qwen2VLImageProcessor),
        tokenizer=tok,
        video_processor=tf.Qwen2VLVideoProcessor(),
        chat_template=chat_template(_QWEN_IMAGE),
    )
    return _save(model, processor, folder)


def build_qwen2_5_vl(folder: Path) -> Path:
    """Qwen2.5-VL with a 1-layer vision tower (window attention) and a 2-layer text model."""
    torch.manual_seed(0)
    tok = _qwen_tokenizer()
    config = tf.Qwen2_5_VLConfig(
        vision_config=dict(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            out_hidden_size=64,
            window_size=56,
            fullatt_block_indexes=[0],
        ),
        text_config=dict(
            **_text_kwargs(tok),
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        ),
        tie_word_embeddings=True,
        **_qwen_vl_ids(tok),
    )
    model = tf.Qwen2_5_VLForConditionalGeneration(config).eval()
    processor = tf.Qwen2_5_VLProcessor(
        image_processor=_qwen_image_processor(tf.Qwen2VLImageProcessor),
        tokenizer=tok,
        video_processor=tf.Qwen2VLVideoProcessor(),
        chat_template=chat_template(_QWEN_IMAGE),
    )
    return _save(model, processor, folder)


def build_qwen3_vl(folder: Path) -> Path:
    """Qwen3-VL (patch 16, deepstack) with a 1-layer vision tower and a 2-layer text model."""
    torch.manual_seed(0)
    tok = _qwen_tokenizer()
    config = tf.Qwen3VLConfig(
        vision_config=dict(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            out_hidden_size=64,
            patch_size=16,
            num_position_embeddings=64,
            deepstack_visual_indexes=[0],
        ),
        text_config=dict(
            **_text_kwargs(tok),
            head_dim=16,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 3, 3],
                "mrope_interleaved": True,
            },
        ),
        tie_word_embeddings=True,
        **_qwen_vl_ids(tok),
    )
    model = tf.Qwen3VLForConditionalGeneration(config).eval()
    processor = tf.Qwen3VLProcessor(
        image_processor=_qwen_image_processor(tf.Qwen2VLImageProcessor, patch_size=16),
        tokenizer=tok,
        video_processor=tf.Qwen3VLVideoProcessor(),
        chat_template=chat_template(_QWEN_IMAGE),
    )
    return _save(model, processor, folder)


def build_internvl(folder: Path) -> Path:
    """InternVL (-hf layout): 1-layer InternViT at 56 px (4 image tokens) + 2-layer Qwen2."""
    torch.manual_seed(0)
    tok = build_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"],
        extra_special={
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        },
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )
    size = 56
    config = tf.InternVLConfig(
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=[size, size],
            patch_size=[14, 14],
        ),
        text_config=tf.Qwen2Config(**_text_kwargs(tok)),
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=(size // 14 // 2) ** 2,
        tie_word_embeddings=True,
    )
    model = tf.InternVLForConditionalGeneration(config).eval()
    processor = tf.InternVLProcessor(
        image_processor=tf.GotOcr2ImageProcessor(size={"height": size, "width": size}, crop_to_patches=False),
        tokenizer=tok,
        video_processor=tf.InternVLVideoProcessor(size={"height": size, "width": size}),
        image_seq_length=config.image_seq_length,
        chat_template=chat_template("<IMG_CONTEXT>\n"),
    )
    return _save(model, processor, folder)


def build_florence2(folder: Path) -> Path:
    """Florence-2: 4-stage DaViT (one block each) at 64 px + BART with 1 encoder and 1 decoder layer,
    with the ``<loc_0>``..``<loc_999>`` location tokens."""
    torch.manual_seed(0)
    loc_tokens = [f"<loc_{i}>" for i in range(1000)]
    tok = build_tokenizer(
        [
            "<s>",
            "<pad>",
            "</s>",
            "<unk>",
            "<image>",
            "<od>",
            "</od>",
            "<poly>",
            "</poly>",
            "<sep>",
            *loc_tokens,
        ],
        extra_special={"image_token": "<image>"},
        vocab_size=1400,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    size = 64
    config = tf.Florence2Config(
        vision_config=dict(
            depths=[1, 1, 1, 1],
            embed_dim=[16, 16, 32, 32],
            num_heads=[1, 1, 2, 2],
            num_groups=[1, 1, 2, 2],
            window_size=2,
            projection_dim=64,
            max_position_embeddings=8,
        ),
        text_config=tf.BartConfig(
            vocab_size=len(tok),
            d_model=64,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=256,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            decoder_start_token_id=tok.eos_token_id,
            forced_bos_token_id=tok.bos_token_id,
        ),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )
    model = tf.Florence2ForConditionalGeneration(config).eval()
    image_processor = tf.CLIPImageProcessor(
        size={"height": size, "width": size},
        do_center_crop=False,
        image_seq_length=(size // 32) ** 2 + 1,
    )
    processor = tf.Florence2Processor(image_processor=image_processor, tokenizer=tok)
    return _save(model, processor, folder)


def build_qwen2_text(folder: Path, corpus: list[str] | None = None) -> Path:
    """A text-only Qwen2 causal LM (the instruction parser's family) with a ChatML chat template. Its
    tokenizer is also trained on ``corpus`` (e.g. the parser's prompt), so long prompts stay short."""
    torch.manual_seed(0)
    tok = build_tokenizer(_QWEN_SPECIAL, vocab_size=2000 if corpus else 400, corpus=corpus,
                          eos_token="<|im_end|>", pad_token="<|endoftext|>", clean_up_tokenization_spaces=False)
    tok.chat_template = chat_template("")
    config = tf.Qwen2Config(**_text_kwargs(tok), architectures=["Qwen2ForCausalLM"])
    model = tf.Qwen2ForCausalLM(config).eval()
    return _save(model, tok, folder)


def build_sam2_tiny(path: Path, image_size: int = 256, seed: int = 0) -> Path:
    """A random-weight SAM 2.1 tiny with a square input of ``image_size`` px, saved in the official checkpoint
    layout ``{"model": state_dict}`` at ``path``. Meaningless masks: for plumbing tests."""
    from sam2.build_sam import build_sam2

    torch.manual_seed(seed)
    model = build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", ckpt_path=None, device="cpu",
                       hydra_overrides_extra=[f"++model.image_size={image_size}"])
    torch.save({"model": model.state_dict()}, path)
    return path
