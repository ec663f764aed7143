"""End-to-end explanation throughput of a causal LM against its raw forward passes, on the same masks.

The real path is measured: a random-weight Llama-architecture model (TinyLlama-1.1B's shape on a
GPU, bfloat16: 22 layers, width 2048; no download) behind spectrex's Hugging Face causal-LM adapter
(:class:`spectrex.models.hf.CausalLMScorer`), bound to a text cut into word parts, queried through
the :class:`~spectrex.QueryEngine` by ``spectrex.explain``. Measured in the same run:

* **end to end**: ``spectrex.explain`` — design, engine, masking into texts, tokenisation, the
  adapter's forward passes, decoding;
* **raw**: the same model's forward passes alone (``model(input_ids, attention_mask, position_ids,
  logits_to_keep)``) on exactly the token batches the adapter built for the masks the explanation
  sent (tokenised before the clock starts), in batches of the same size.

``ratio`` = raw seconds ÷ end-to-end seconds (1 = the library adds nothing; the target on a GPU is
≥ 0.8). Without CUDA the benchmark writes a one-row table saying so and returns;
``SPECTREX_GPU_BENCH_CPU=1`` runs a 2-layer model of width 32 on the CPU instead, to check the
plumbing (what CI runs: ``SPECTREX_GPU_BENCH_CPU=1 python -m benchmarks gpu_throughput --quick``).
A budget below a method's minimum is raised to that minimum (SPEX at small n needs more queries).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_table

NAME = "gpu_throughput"
WORDS = (
    "the quick brown fox jumps over the lazy dog while a model explains which parts of the input work "
    "together and the movie was great but the plot was dull and the ending was terrible"
).split()


class Recording:
    """A value function that passes masks through and remembers them (for the raw replay)."""

    def __init__(self, fn):
        self.fn, self.n, self.sent = fn, fn.n, []

    def __call__(self, masks):
        self.sent.append(np.asarray(masks, bool))
        return self.fn(masks)


def _model(device: str, tiny: bool):
    import torch

    from spectrex.models.tiny import tiny_causal_lm

    shape = (
        {}
        if tiny
        else dict(
            hidden_size=2048,
            intermediate_size=5632,
            num_hidden_layers=22,
            num_attention_heads=32,
            num_key_value_heads=4,
        )
    )
    model, tok = tiny_causal_lm(seed=0, **shape)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = model.to(device=device, dtype=dtype).eval()
    return model, tok, sum(p.numel() for p in model.parameters())


def raw_batches(scorer, texts: list[str], target: str) -> list[tuple]:
    """The ``(input_ids, attention_mask, position_ids)`` batches the adapter builds for ``texts``."""
    import torch

    tok = scorer.tokenizer
    target_ids = tok(target, add_special_tokens=False)["input_ids"]
    prompts = [tok(scorer.template.format(text=x))["input_ids"] for x in texts]
    order = np.argsort([len(p) for p in prompts], kind="stable")
    out = []
    for lo in range(0, len(texts), scorer.batch_size):
        seqs = [prompts[r] + target_ids for r in order[lo : lo + scorer.batch_size]]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)
        attn = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, width - len(s) :] = torch.tensor(s)
            attn[i, width - len(s) :] = 1
        pos = (attn.cumsum(1) - 1).clamp(min=0)
        out.append((ids.to(scorer.device), attn.to(scorer.device), pos.to(scorer.device), len(target_ids) + 1))
    return out


def replay(model, batches, device: str) -> float:
    """Seconds of the model's forward passes alone over ``batches``."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for ids, attn, pos, keep in batches:
            logits = model(input_ids=ids, attention_mask=attn, position_ids=pos, logits_to_keep=keep).logits
            torch.log_softmax(logits[:, -keep:-1].float(), dim=-1).cpu()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(quick: bool, device: str) -> list[dict]:
    import torch

    import spectrex
    from spectrex.models import make_parts
    from spectrex.models.hf import CausalLMScorer

    tiny = device == "cpu"
    model, tok, params = _model(device, tiny)
    n = 16 if tiny else 64
    text = " ".join((WORDS * 4)[:n])
    batch = 16 if tiny else 256
    target = " the"
    scorer = CausalLMScorer(model, tok, target=target, batch_size=batch, model_id="random-llama")
    budgets = [500] if (quick or tiny) else [1000, 4000]
    rows = []
    for method in ("proxyspex", "spex"):
        for budget in budgets:
            vf = scorer.value_function(make_parts(text, "words"))
            vf(np.ones((min(batch, 4), n), bool))  # warm-up: kernels, allocator, tokenizer
            engine = spectrex.QueryEngine(batch_size=batch)
            rec = Recording(vf)
            t0 = time.perf_counter()
            try:
                res = spectrex.explain(rec, n, method=method, budget=budget, random_state=0, engine=engine)
            except spectrex.BudgetError as exc:  # below the method's minimum at this n: use the minimum
                budget = int(exc.minimum)
                rec.sent.clear()
                t0 = time.perf_counter()
                res = spectrex.explain(rec, n, method=method, budget=budget, random_state=0, engine=engine)
            e2e = time.perf_counter() - t0
            masks = np.concatenate(rec.sent)
            raw_s = replay(model, raw_batches(scorer, vf.texts(masks), target), device)
            rows.append(
                {
                    "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (plumbing check)",
                    "params_M": params / 1e6,
                    "method": method,
                    "budget": budget,
                    "queries": len(masks),
                    "end_to_end_masks_per_s": len(masks) / e2e,
                    "raw_forward_masks_per_s": len(masks) / raw_s,
                    "ratio": raw_s / e2e,
                    "algorithm_s": float(res.metadata["timings"].get("algorithm_s", float("nan"))),
                    "model_s": float(res.metadata["timings"].get("model_s", float("nan"))),
                    "loadavg": os.getloadavg()[0],
                }
            )
            print(f"  {method} budget={budget}: ratio {rows[-1]['ratio']:.2f}", flush=True)
    return rows


def run(quick: bool, out: Path) -> None:
    try:
        import torch
    except ImportError:
        torch = None
    cpu_check = os.environ.get("SPECTREX_GPU_BENCH_CPU") == "1"
    if torch is None or not (torch.cuda.is_available() or cpu_check):
        msg = "skipped: no CUDA device (torch.cuda.is_available() is False); run it on a GPU machine"
        print(f"  {msg}")
        write_table([{"status": msg}], out, NAME, "GPU throughput: explanation vs raw forward passes")
        return
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = measure(quick, device)
    write_table(
        rows,
        out,
        NAME,
        "Throughput: explanation end to end (HF causal-LM adapter through the query engine) against raw forward "
        "passes on the same masks",
        f"Random-weight Llama ({rows[0]['params_M']:.3g} M parameters), word parts, batch as the engine's; "
        "ratio = raw forward seconds ÷ end-to-end seconds (1 = the library adds nothing).",
    )
