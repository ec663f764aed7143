"""End-to-end explanation throughput of a causal LM on a GPU against its raw forward-pass throughput.

A ~1.1B-parameter Llama-architecture model (TinyLlama's shape: 22 layers, width 2048) is built from
its config with random weights (no download) in bfloat16. The value function masks prompt tokens
(a removed part's tokens become the pad id) and returns the log-probability of a fixed next token.

Measured in the same run, on the same masks:

* **raw**: the model's forward passes alone over the masks the explanation sent, batch by batch;
* **end to end**: ``spectrex.explain`` (masks design + query engine + decoding) on that model.

The ratio end-to-end / raw masks per second says how much of the GPU the library leaves unused.
Without CUDA the benchmark writes a one-row table saying so and returns
(``SPECTREX_GPU_BENCH_CPU=1`` runs a tiny model on the CPU instead, to check the plumbing).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks._methods import registered_methods
from benchmarks.common import write_table

NAME = "gpu_throughput"


class MaskedLM:
    """Value function: log P(target | prompt with the removed parts' tokens replaced by the pad id)."""

    def __init__(self, model, tokens, n_parts: int, target: int, pad: int, batch_size: int, device: str):
        import torch

        self.model, self.torch, self.device = model, torch, device
        self.tokens = torch.as_tensor(tokens, device=device)
        self.part_of = torch.as_tensor(np.arange(len(tokens)) * n_parts // len(tokens), device=device)
        self.target, self.pad, self.batch_size = target, pad, batch_size
        self.forward_s = 0.0
        self.rows = 0

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        torch = self.torch
        out = []
        with torch.inference_mode():
            for lo in range(0, len(masks), self.batch_size):
                m = torch.as_tensor(np.asarray(masks[lo : lo + self.batch_size]), device=self.device)
                keep = m[:, self.part_of]
                ids = torch.where(keep, self.tokens[None, :], torch.full_like(keep, self.pad, dtype=torch.long))
                if self.device == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                logits = self.model(input_ids=ids).logits[:, -1, :].float()
                lp = torch.log_softmax(logits, dim=-1)[:, self.target]
                out.append(lp.cpu().numpy())
                self.forward_s += time.perf_counter() - t0
                self.rows += len(m)
        return np.concatenate(out).astype(np.float64)


def _model(device: str, tiny: bool):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if tiny:
        cfg = LlamaConfig(
            vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4
        )
    else:  # TinyLlama-1.1B's shape
        cfg = LlamaConfig(
            vocab_size=32000,
            hidden_size=2048,
            intermediate_size=5632,
            num_hidden_layers=22,
            num_attention_heads=32,
            num_key_value_heads=4,
        )
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):
        model = LlamaForCausalLM(cfg).to(dtype)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    return model, cfg, params


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
    tiny = device == "cpu"
    model, cfg, params = _model(device, tiny)
    n, seq = (64, 128) if not tiny else (16, 32)
    rng = np.random.default_rng(0)
    tokens = rng.integers(10, cfg.vocab_size, size=seq)
    batch = 64 if device == "cuda" else 16
    budgets = [500] if (quick or tiny) else [1000, 4000]
    methods = [m for m in ("proxyspex", "spex", "lasso1") if m in registered_methods()][:2]
    rows = []
    for method in methods:
        for budget in budgets:
            fn = MaskedLM(model, tokens, n, target=int(tokens[-1]), pad=0, batch_size=batch, device=device)
            fn(np.ones((batch, n), bool))  # warm-up (CUDA kernels, allocator)
            fn.forward_s, fn.rows = 0.0, 0
            sent: list[np.ndarray] = []

            def recording(masks, _fn=fn, _sent=sent):
                _sent.append(np.asarray(masks))
                return _fn(masks)

            import spectrex

            engine = spectrex.QueryEngine(batch_size=batch)
            t0 = time.perf_counter()
            res = spectrex.explain(recording, n, method=method, budget=budget, random_state=0, engine=engine)
            e2e = time.perf_counter() - t0
            masks = np.concatenate(sent)
            raw = MaskedLM(model, tokens, n, target=int(tokens[-1]), pad=0, batch_size=batch, device=device)
            t0 = time.perf_counter()
            raw(masks)
            raw_s = time.perf_counter() - t0
            rows.append(
                {
                    "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (plumbing check)",
                    "params_M": params / 1e6,
                    "method": method,
                    "budget": budget,
                    "queries": int(res.metadata.get("queries", len(masks))),
                    "end_to_end_masks_per_s": len(masks) / e2e,
                    "raw_forward_masks_per_s": len(masks) / raw_s,
                    "ratio": raw_s / e2e,
                    "algorithm_s": float(res.metadata["timings"].get("algorithm_s", float("nan"))),
                }
            )
            print(f"  {method} budget={budget}: ratio {rows[-1]['ratio']:.2f}", flush=True)
    write_table(
        rows,
        out,
        NAME,
        "GPU throughput: explanation end to end against raw forward passes on the same masks",
        f"Random-weight Llama ({params / 1e6:.0f} M parameters), {seq} prompt tokens in {n} parts, batch {batch}; "
        "ratio = end-to-end masks/s ÷ raw forward masks/s (1 = the library adds nothing).",
    )
