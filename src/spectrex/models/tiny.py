"""Tiny randomly initialised Hugging Face models built from a config, for plumbing tests and GPU throughput runs.

Nothing is downloaded: the tokenizer is a byte-level BPE trained in milliseconds on a few sentences,
and the weights are random (seeded), so the scores mean nothing but exercise every code path.
"""

from __future__ import annotations

_CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a model explains which parts of the input work together",
    "the movie was great and the acting was wonderful",
    "the plot was dull and the ending was terrible",
]


def tiny_tokenizer(vocab_size: int = 300):
    """A fast byte-level BPE tokenizer with pad/mask/unk/bos/eos tokens (gives character offsets)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<mask>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,  # its bar prints blank lines where no terminal shows it
    )
    tok.train_from_iterator(_CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        bos_token="<s>",
        eos_token="</s>",
    )


def _config(kind: str, vocab: int, tok, **overrides):
    from transformers import LlamaConfig

    cfg = dict(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    cfg.update(overrides)
    return LlamaConfig(**cfg)


def tiny_causal_lm(seed: int = 0, **config):
    """``(model, tokenizer)``: a 2-layer Llama-architecture causal LM with random weights."""
    import torch
    from transformers import LlamaForCausalLM

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    model = LlamaForCausalLM(_config("causal", len(tok), tok, **config))
    return model.eval(), tok


#: a chat template in the style of Gemma's (turn markers, the system prompt folded into the user turn)
CHAT_TEMPLATE = (
    "{{ bos_token }}{% set system = messages[0]['content'] if messages[0]['role'] == 'system' else none %}"
    "{% for m in messages if m['role'] != 'system' %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' "
    "else m['role'] }}\n{% if system and loop.first %}{{ system }}\n\n{% endif %}{{ m['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def tiny_chat_lm(seed: int = 0, **config):
    """``(model, tokenizer)``: :func:`tiny_causal_lm` with a chat template and its turn markers as special tokens."""
    import torch
    from transformers import LlamaForCausalLM

    tok = tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    model = LlamaForCausalLM(_config("causal", len(tok), tok, **config))
    return model.eval(), tok


def tiny_classifier(seed: int = 0, num_labels: int = 2, **config):
    """``(model, tokenizer)``: a 2-layer Llama-architecture sequence classifier with random weights."""
    import torch
    from transformers import LlamaForSequenceClassification

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    cfg = _config("classifier", len(tok), tok, num_labels=num_labels, **config)
    cfg.id2label = {i: f"class{i}" for i in range(num_labels)}
    cfg.label2id = {v: k for k, v in cfg.id2label.items()}
    model = LlamaForSequenceClassification(cfg)
    return model.eval(), tok


def tiny_llava(seed: int = 0, image_size: int = 32, patch: int = 8):
    """A random-weight LLaVA (CLIP vision tower + Llama) and its processor, built from configs offline."""
    import torch
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_id = tok.convert_tokens_to_ids("<image>")
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        ),
        tokenizer=tok,
        patch_size=patch,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,
    )
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(image_size=image_size, patch_size=patch, **small),
        text_config=LlamaConfig(vocab_size=len(tok), num_key_value_heads=2, pad_token_id=tok.pad_token_id, **small),
        image_token_index=image_id,
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(seed)
    return LlavaForConditionalGeneration(config).eval(), processor


def tiny_gemma3_vision(seed: int = 0, image_size: int = 28, patch: int = 7):
    """A random-weight Gemma 3 with its SigLIP vision tower and its processor, built from configs offline."""
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessorPil, Gemma3Processor

    tok = tiny_tokenizer()
    specials = ["<start_of_image>", "<end_of_image>", "<image_soft_token>"]
    tok.add_special_tokens({"additional_special_tokens": specials})
    ids = [tok.convert_tokens_to_ids(x) for x in specials]
    tok.boi_token, tok.eoi_token, tok.image_token = specials
    tok.boi_token_id, tok.eoi_token_id, tok.image_token_id = ids
    tokens_per_image = (image_size // patch) ** 2 // 4  # the projector pools 2×2 patches
    processor = Gemma3Processor(
        image_processor=Gemma3ImageProcessorPil(size={"height": image_size, "width": image_size}),
        tokenizer=tok,
        image_seq_length=tokens_per_image,
    )
    config = Gemma3Config(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "pad_token_id": tok.pad_token_id,
            "sliding_window": 16,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "image_size": image_size,
            "patch_size": patch,
        },
        mm_tokens_per_image=tokens_per_image,
        image_token_index=ids[2],
        boi_token_index=ids[0],
        eoi_token_index=ids[1],
    )
    torch.manual_seed(seed)
    return Gemma3ForConditionalGeneration(config).eval(), processor
