"""Model-component value functions: parts are attention heads and MLP blocks of a Hugging Face decoder.

A mask row says which components are kept. Removed heads are ablated by a forward pre-hook on each
layer's attention output projection (``o_proj``): its input is the concatenation of the heads' outputs,
so a head is removed by zeroing its slice (or replacing it by its mean over the task set). Removed MLP
blocks have their output zeroed (or mean-replaced) by a forward hook. Every mask row of a batch may differ:
the batch is expanded to (mask row × task prompt) and each model row carries its own keep-mask.

The value of a mask row is the mean log-probability of the right answers over a small task set.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np

from ..contract import ValueFunction, check_masks
from ..digest import fingerprint
from ._identity import module_identity

MODES = ("zero", "mean")


def decoder_layers(model):
    """The list of decoder layers of a causal LM (LLaMA / Gemma / Mistral / Qwen style)."""
    inner = model.get_decoder() if hasattr(model, "get_decoder") else getattr(model, "model", model)
    layers = getattr(inner, "layers", None)
    if layers is None or not len(layers) or not hasattr(layers[0], "self_attn") or not hasattr(layers[0], "mlp"):
        raise TypeError(
            f"{type(model).__name__} is not a supported decoder: components are found as "
            "model.get_decoder().layers[i].self_attn.o_proj and .mlp (LLaMA, Gemma, Mistral, Qwen families)"
        )
    if not hasattr(layers[0].self_attn, "o_proj"):
        raise TypeError(f"{type(layers[0].self_attn).__name__} has no o_proj; head ablation needs one")
    return layers


class ComponentAblationValue(ValueFunction):
    """``f(mask)`` = mean log P(answer | prompt) over a task set, with the removed heads / MLPs ablated.

    Parameters
    ----------
    model : transformers causal LM
        E.g. ``Gemma3ForCausalLM``; put it on its device and in eval mode first.
    prompts : sequence of str or of token-id lists
        The task inputs.
    answers : sequence of str or of token-id lists
        The right continuation of each prompt (all its tokens are scored).
    tokenizer : optional
        Needed when prompts/answers are strings. Prompts get the tokenizer's special tokens (BOS),
        answers none.
    layers : sequence of int, optional
        Layers whose components are parts (default: all).
    heads : bool, default True
        Make every attention head of those layers a part (``L{layer}.H{head}``).
    mlps : bool, default False
        Make every MLP block of those layers a part (``L{layer}.MLP``).
    mode : {"zero", "mean"}, default "zero"
        Replace a removed component's output by zero or by its mean over the task's tokens.
    batch_size : int, default 64
        Model rows per forward pass (each mask row costs ``len(prompts)`` rows).

    Attributes
    ----------
    n, labels, parts : the number of parts, their names, and ``(kind, layer, head)`` per part.
    fingerprint : the model (:func:`~spectrex.models._identity.module_identity`), the parts, the
        mode and the encoded task set.
    """

    quantity = "mean log P(answer | prompt) over the task set"

    def __init__(
        self,
        model,
        prompts: Sequence,
        answers: Sequence,
        tokenizer=None,
        layers: Sequence[int] | None = None,
        heads: bool = True,
        mlps: bool = False,
        mode: str = "zero",
        batch_size: int = 64,
    ) -> None:
        import torch

        if mode not in MODES:
            raise ValueError(f"mode must be 'zero' or 'mean'; got {mode!r}")
        if len(prompts) != len(answers) or not len(prompts):
            raise ValueError(f"need one answer per prompt and at least one prompt; got {len(prompts)} / {len(answers)}")
        if not (heads or mlps):
            raise ValueError("nothing to ablate: set heads=True and/or mlps=True")
        self.model, self.mode, self.batch_size = model, mode, int(batch_size)
        self.layer_modules = decoder_layers(model)
        n_layers = len(self.layer_modules)
        cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.n_heads = int(cfg.num_attention_heads)
        self.head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // self.n_heads)
        self.layers = list(range(n_layers)) if layers is None else [int(i) for i in layers]
        bad = [i for i in self.layers if not 0 <= i < n_layers]
        if bad:
            raise ValueError(f"layers {bad} do not exist; the model has layers 0..{n_layers - 1}")
        self.parts: list[tuple[str, int, int]] = []
        for layer in self.layers:
            if heads:
                self.parts += [("head", layer, h) for h in range(self.n_heads)]
            if mlps:
                self.parts.append(("mlp", layer, -1))
        self.n = len(self.parts)
        self.labels = [f"L{ly}.H{h}" if kind == "head" else f"L{ly}.MLP" for kind, ly, h in self.parts]
        self.device = next(model.parameters()).device
        self._encode(prompts, answers, tokenizer)
        self._keep_heads: dict[int, torch.Tensor] = {}
        self._keep_mlp: dict[int, torch.Tensor] = {}
        self._mean_heads: dict[int, torch.Tensor] = {}
        self._mean_mlp: dict[int, torch.Tensor] = {}
        if mode == "mean":
            self._collect_means()

    def identity(self) -> dict:
        import torch

        task = [t.cpu().numpy() for t in (self.input_ids, self.attention, self.targets)]
        with torch.no_grad():
            model = module_identity(self.model)
        parts = {"parts": self.parts, "mode": self.mode, "task": fingerprint(*task)}
        return {"kind": "components", "model": model, **parts}

    # -- data ---------------------------------------------------------------------------------
    def _encode(self, prompts, answers, tokenizer) -> None:
        import torch

        def ids(text, special):
            if isinstance(text, str):
                if tokenizer is None:
                    raise ValueError("prompts/answers are strings: pass tokenizer=")
                return list(tokenizer(text, add_special_tokens=special)["input_ids"])
            return [int(t) for t in text]

        rows, starts = [], []
        for p, a in zip(prompts, answers):
            pi, ai = ids(p, True), ids(a, False)
            if not pi or not ai:
                raise ValueError("every prompt and answer must have at least one token")
            rows.append(pi + ai)
            starts.append(len(pi))
        width = max(len(r) for r in rows)
        self.p = len(rows)
        pad = 0
        self.input_ids = torch.full((self.p, width), pad, dtype=torch.long)
        self.attention = torch.zeros((self.p, width), dtype=torch.long)
        # target[i, t] = the token predicted at position t (−1 = not scored)
        self.targets = torch.full((self.p, width), -1, dtype=torch.long)
        for i, (r, s) in enumerate(zip(rows, starts)):
            self.input_ids[i, : len(r)] = torch.tensor(r)
            self.attention[i, : len(r)] = 1
            self.targets[i, s - 1 : len(r) - 1] = torch.tensor(r[s:])
        self._slice_only = False
        self._keep_pos = torch.nonzero((self.targets >= 0).any(dim=0))[:, 0].to(self.device)

    # -- hooks --------------------------------------------------------------------------------
    def _o_proj_pre_hook(self, layer: int):
        def hook(module, args):
            keep = self._keep_heads.get(layer)
            if keep is None:
                return None
            (x,) = args[:1]
            shape = x.shape
            x = x.view(*shape[:-1], self.n_heads, self.head_dim)
            k = keep.to(x.dtype).view(-1, *([1] * (x.dim() - 3)), self.n_heads, 1)
            if self.mode == "mean" and layer in self._mean_heads:
                x = k * x + (1 - k) * self._mean_heads[layer].to(x.dtype)
            else:
                x = x * k
            return (x.reshape(shape), *args[1:])

        return hook

    def _mlp_hook(self, layer: int):
        def hook(module, args, output):
            keep = self._keep_mlp.get(layer)
            if keep is None:
                return None
            k = keep.to(output.dtype).view(-1, *([1] * (output.dim() - 1)))
            if self.mode == "mean" and layer in self._mean_mlp:
                return k * output + (1 - k) * self._mean_mlp[layer].to(output.dtype)
            return output * k

        return hook

    @contextmanager
    def hooked(self):
        """Register the ablation hooks for the duration of a block."""
        handles = []
        try:
            for layer in sorted({ly for _, ly, _ in self.parts}):
                mod = self.layer_modules[layer]
                handles.append(mod.self_attn.o_proj.register_forward_pre_hook(self._o_proj_pre_hook(layer)))
                handles.append(mod.mlp.register_forward_hook(self._mlp_hook(layer)))
            yield
        finally:
            for h in handles:
                h.remove()
            self._keep_heads.clear()
            self._keep_mlp.clear()

    def _collect_means(self) -> None:
        """Mean output of every head and MLP over the task's real tokens (the mean-ablation values)."""
        import torch

        sums: dict = {}
        handles = []
        real = self.attention.to(self.device).bool()

        def grab(key, per_head):
            def hook(module, args, output=None):
                x = args[0] if output is None else output
                if per_head:
                    x = x.view(*x.shape[:-1], self.n_heads, self.head_dim)
                sums[key] = x[real].float().sum(0)

            return hook

        for layer in sorted({ly for _, ly, _ in self.parts}):
            mod = self.layer_modules[layer]
            handles.append(mod.self_attn.o_proj.register_forward_pre_hook(grab(("head", layer), True)))
            handles.append(mod.mlp.register_forward_hook(grab(("mlp", layer), False)))
        try:
            with torch.inference_mode():
                self.model(input_ids=self.input_ids.to(self.device), attention_mask=self.attention.to(self.device))
        finally:
            for h in handles:
                h.remove()
        count = float(real.sum())
        for (kind, layer), s in sums.items():
            (self._mean_heads if kind == "head" else self._mean_mlp)[layer] = s / count

    # -- values -------------------------------------------------------------------------------
    def log_probs(self, masks) -> np.ndarray:
        """``(q, p)``: the answer's log-probability for every mask row and prompt."""
        import torch

        masks = check_masks(masks, self.n)
        q = masks.shape[0]
        layers = sorted({ly for _, ly, _ in self.parts})
        # per-layer keep arrays (q, heads) / (q,), ones for components that are not parts
        keep_h = {ly: np.ones((q, self.n_heads), bool) for ly in layers}
        keep_m = {ly: np.ones(q, bool) for ly in layers}
        for j, (kind, ly, h) in enumerate(self.parts):
            if kind == "head":
                keep_h[ly][:, h] = masks[:, j]
            else:
                keep_m[ly] = masks[:, j]
        out = np.empty((q, self.p))
        rows_per = max(1, self.batch_size // self.p)  # mask rows per forward pass
        with torch.inference_mode(), self.hooked():
            for lo in range(0, q, rows_per):
                sl = slice(lo, min(q, lo + rows_per))
                b = sl.stop - sl.start
                # expand: each mask row × each prompt; model row r*p + i = (mask row r, prompt i)
                for ly in layers:
                    kh = torch.from_numpy(keep_h[ly][sl]).to(self.device)
                    self._keep_heads[ly] = kh.repeat_interleave(self.p, dim=0)
                    km = torch.from_numpy(keep_m[ly][sl]).to(self.device)
                    self._keep_mlp[ly] = km.repeat_interleave(self.p, dim=0)
                ids = self.input_ids.repeat(b, 1).to(self.device)
                att = self.attention.repeat(b, 1).to(self.device)
                # only the scored positions need the (large-vocabulary) output layer
                logits = self._logits(ids, att)
                tgt = self.targets[:, self._keep_pos.cpu()].repeat(b, 1).to(self.device)
                lp = torch.log_softmax(logits, dim=-1).gather(-1, tgt.clamp(min=0)[..., None])[..., 0]
                lp = (lp * (tgt >= 0)).sum(-1)
                out[sl] = lp.view(b, self.p).cpu().numpy()
        return out

    def _logits(self, ids, att):
        """Logits at the scored positions only (``logits_to_keep``), or sliced from all positions for models
        whose forward does not take it."""
        if self._slice_only:
            return self.model(input_ids=ids, attention_mask=att).logits[:, self._keep_pos].float()
        try:
            return self.model(input_ids=ids, attention_mask=att, logits_to_keep=self._keep_pos).logits.float()
        except TypeError:
            self._slice_only = True
            return self._logits(ids, att)

    def __call__(self, masks) -> np.ndarray:
        return self.log_probs(masks).mean(axis=1)
