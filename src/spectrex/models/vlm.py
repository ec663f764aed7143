"""Vision-language models as value functions: log P(target | masked image, masked prompt).

A :class:`VisionLanguageScorer` wraps a Hugging Face image-text-to-text model and its processor
(LLaVA, Qwen2-VL, Gemma 3 with vision, …). :class:`VisionLanguageValue` binds it to a
:class:`~spectrex.parts.joint.JointParts` of an image group and a text group: each mask row becomes
one (masked image, masked prompt) pair, and the value is the summed log-probability of the target's
tokens after the prompt (minus the contrast's, when one is given).

Batches are left-padded by the processor and the target's tokens are appended after the padding
side, so every row's target sits at the same final positions: only those positions' logits are
computed (``logits_to_keep``). Position ids follow the attention mask, so a left-padded row is scored
exactly as it would be alone.
"""

from __future__ import annotations

import hashlib
import inspect

import numpy as np

from ..contract import ValueFunction
from ..digest import identity_hash
from ..errors import SpectrexError
from ..parts.text import RENDER_VERSION
from .base import check_contrast, check_max_new_tokens, first_line


class VisionLanguageScorer:
    """log P(target | image, prompt) of an image-text-to-text model.

    Parameters
    ----------
    model, processor
        A transformers vision-to-sequence model and its processor (``processor.image_token`` names the
        placeholder the prompt must contain once).
    target : str
        The continuation whose log-probability is explained (greedy generation picks one when ``None``).
    contrast : str, optional
        Subtract log P(contrast | …): e.g. target " yes", contrast " no".
    batch_size : int, optional
        Rows per forward pass (default 64 on a GPU, 8 on CPU).
    model_id : str, optional
        Identity in fingerprints (default: the model's ``name_or_path``, else its class).
    """

    def __init__(
        self,
        model,
        processor,
        target: str | None = None,
        contrast: str | None = None,
        batch_size: int | None = None,
        model_id: str | None = None,
        max_new_tokens: int = 8,
    ) -> None:
        self.model, self.processor = model.eval(), processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.tokenizer.padding_side = "left"
        self.image_token = getattr(processor, "image_token", None)
        if self.image_token is None:
            raise SpectrexError("this processor names no image token (processor.image_token); give a VLM processor")
        self.device = str(next(model.parameters()).device)
        self.batch_size = int(batch_size or (64 if self.device.startswith("cuda") else 8))
        check_contrast(target, contrast)
        self.target, self.contrast = target, contrast
        self.max_new_tokens = check_max_new_tokens(max_new_tokens)
        self.model_id = model_id or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
        self._positions = "position_ids" in inspect.signature(model.forward).parameters and not hasattr(
            model.config,
            "vision_start_token_id",  # Qwen-VL's multimodal rotary positions come from the mask
        )

    def settings(self) -> dict:
        return {
            "target": self.target,
            "contrast": self.contrast,
            "dtype": str(self.model.dtype),
            "device": self.device.split(":")[0],
            "config": _configidentity_hash(self.model),
        }

    def generate(self, image: np.ndarray, prompt: str) -> str:
        """The model's greedy continuation (the target when none is given)."""
        import torch

        enc = self.processor(images=[[_uint8(image)]], text=[prompt], return_tensors="pt").to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False)
        new = first_line(self.tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True))
        if not new.strip():
            raise SpectrexError("the model generated no answer for the full input; pass a target explicitly")
        return new

    def score(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        if self.target is None:
            raise SpectrexError("no target: pass target=… or bind the scorer to an input first")
        value = self.logprob(images, prompts, self.target)
        return value - self.logprob(images, prompts, self.contrast) if self.contrast else value

    def logprob(self, images: np.ndarray, prompts: list[str], continuation: str) -> np.ndarray:
        """Summed log-probabilities of ``continuation``'s tokens after each (image, prompt)."""
        import torch

        ids = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"continuation {continuation!r} has no tokens")
        t = len(ids)
        target = torch.tensor(ids, dtype=torch.long)
        out = np.empty(len(prompts))
        for lo in range(0, len(prompts), self.batch_size):
            hi = min(lo + self.batch_size, len(prompts))
            enc = self.processor(
                images=[[_uint8(x)] for x in images[lo:hi]],
                text=list(prompts[lo:hi]),
                return_tensors="pt",
                padding=True,
            )
            rows = hi - lo
            width = enc["input_ids"].shape[1]
            enc["input_ids"] = torch.cat([enc["input_ids"], target.expand(rows, t)], dim=1)
            enc["attention_mask"] = torch.cat([enc["attention_mask"], torch.ones((rows, t), dtype=torch.long)], dim=1)
            for key in ("token_type_ids", "mm_token_type_ids"):  # per-token side inputs: text for the target
                if key in enc and enc[key].shape[-1] == width:
                    enc[key] = torch.cat([enc[key], torch.zeros((rows, t), dtype=enc[key].dtype)], dim=1)
            if self._positions:
                enc["position_ids"] = (enc["attention_mask"].cumsum(1) - 1).clamp(min=0)
            enc = enc.to(self.device)
            with torch.inference_mode():
                logits = self.model(**enc, logits_to_keep=t + 1).logits[:, -t - 1 : -1].float()
                logp = torch.log_softmax(logits, dim=-1)
                picked = logp.gather(-1, target.to(self.device).expand(rows, t).unsqueeze(-1)).squeeze(-1).sum(-1)
            out[lo:hi] = picked.cpu().numpy()
        return out


class VisionLanguageValue(ValueFunction):
    """A VLM bound to an image and a prompt cut into parts: ``masks (q, n) -> (q,)`` log-probabilities.

    Parameters
    ----------
    scorer : VisionLanguageScorer
    parts : JointParts
        Two groups: ``image`` (ImageParts) and ``text`` (TextParts).
    template : str, default "{image}{text}"
        The prompt: ``{image}`` becomes the processor's image token, ``{text}`` the masked text.
    masking : str, default "remove"
        How a removed word is hidden (see :mod:`spectrex.parts.text`).
    """

    def __init__(self, scorer: VisionLanguageScorer, parts, template: str = "{image}{text}", masking: str = "remove"):
        if "{image}" not in template or "{text}" not in template:
            raise ValueError("the template needs {image} (where the image goes) and {text}")
        if set(parts.groups) != {"image", "text"}:
            raise ValueError(f"give JointParts with groups 'image' and 'text'; got {sorted(parts.groups)}")
        self.scorer, self.parts, self.masking = scorer, parts, masking
        self.template = template
        self.n, self.labels = parts.n, parts.labels
        image, text = parts.groups["image"], parts.groups["text"]
        if scorer.target is None:
            scorer.target = scorer.generate(image.image, self._prompt(text.text))
        self.fingerprint = identity_hash(
            {
                "kind": "vlm",
                "model": scorer.model_id,
                "settings": scorer.settings(),
                "template": template,
                "image": image.digest(),
                "pieces": text.pieces,
                "render": RENDER_VERSION,
                "masking": masking,
            }
        )

    @property
    def quantity(self) -> str:
        q = f"log P({self.scorer.target!r} | image, prompt)"
        return q + (f" − log P({self.scorer.contrast!r} | image, prompt)" if self.scorer.contrast else "")

    def _prompt(self, text: str) -> str:
        return self.template.format(image=self.scorer.image_token, text=text)

    def inputs(self, masks) -> tuple[np.ndarray, list[str]]:
        """The masked images ``(q, H, W, 3)`` and prompts the model sees."""
        inputs = self.parts.compose(masks, self.masking)
        return inputs["image"], [self._prompt(t) for t in inputs["text"]]

    def __call__(self, masks) -> np.ndarray:
        images, prompts = self.inputs(masks)
        return np.asarray(self.scorer.score(images, prompts), dtype=np.float64)


def _uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)


def _configidentity_hash(model) -> str:
    return hashlib.sha256(model.config.to_json_string(use_diff=False).encode()).hexdigest()[:16]
