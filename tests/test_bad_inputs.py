"""Bad inputs, through the API and every CLI command: the exact error class, a message naming the problem and a
remedy, never a raw traceback, never a silently accepted out-of-range value, no large allocation before refusing."""

import json
import re
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import spectrex
import spectrex.models
from spectrex.bounds import ResourceError
from spectrex.cli import main
from spectrex.engine import QueryCache, QueryEngine, RetryPolicy
from spectrex.errors import BudgetError, CacheError, SpectrexError, ValueFunctionError

#: a remedy: what to do (the message must say one of these)
REMEDY = re.compile(
    r"\b(use|pass|give|choose|raise|lower|check|create|set|start|pick|leave|run|install|must|needs?|write|"
    r"point|free|wait|fix|split|add|name|make|double|keep|call|try|open|expected|one of|at least|at most|from|"
    r"between|invalid choice|e\.g\.)\b",
    re.I,
)
GIB = 2**30
#: a 130-byte result declaring a million parts
HUGE_N = json.dumps({"schema": "spectrex.interactions/1", "n": 10**6, "labels": [], "transform": {}})


def f(masks):
    return masks.sum(1).astype(float)


def _tiny():
    from spectrex.models import load_model

    return load_model("tiny-causal-lm", target=" ab")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


class PeakGrowth:
    """Peak memory growth of the block, in bytes: the resident set's high-water mark (reset on entry via
    /proc/self/clear_refs) over the resident set at entry — every allocation (numpy, torch, a model's
    weights), not only Python's. Where /proc cannot be written, Python's own allocations (tracemalloc)."""

    def __enter__(self):
        self.rss = None
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # resets VmHWM to the current resident set
            self.rss = _status_kib("VmRSS")
        except OSError:
            tracemalloc.start()
        return self

    def __exit__(self, *exc):
        if self.rss is not None:
            self.bytes = (_status_kib("VmHWM") - self.rss) * 1024
        else:
            self.bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return False


def _policy(**kw):
    from spectrex.models._http import RequestPolicy

    return RequestPolicy(**kw)


def _tiny_with(**kw):
    from spectrex.models import load_model

    return load_model("tiny-causal-lm", target=" ab", **kw)


def _backend(name, **kw):
    from spectrex.engine import backends

    return getattr(backends, name)(**kw)


def _counterfactual(**kw):
    from spectrex.report.counterfactual import counterfactual

    return counterfactual(spectrex.explain(f, 4, method="exact"), **kw)


def _chat(**kw):
    from spectrex.models.openai_chat import ChatVisionScorer

    return ChatVisionScorer("http://127.0.0.1:9", target=" yes", **kw)


def _openai(**kw):
    from spectrex.models.openai import OpenAICompletionsScorer

    return OpenAICompletionsScorer("http://127.0.0.1:9", **kw)


def _result(supports, coefs, n=3) -> str:
    return json.dumps(
        {"schema": "spectrex.interactions/1", "n": n, "labels": [f"p{i}" for i in range(n)], "index": "Moebius",
         "transform": {"basis": "mobius", "supports": supports, "coefs": coefs}, "metadata": {}}
    )  # fmt: skip


def write_hostile_files(d: Path) -> None:
    """Dataset files, result files and special files a user (or an attacker) may hand spectrex."""
    import os

    (d / "afolder").mkdir(exist_ok=True)
    (d / "run-noindex").mkdir(exist_ok=True)
    for name, index in (("run-empty", ""), ("run-garbage", 'not json\n{"no": "id"}\n')):
        (d / name).mkdir(exist_ok=True)
        (d / name / "index.jsonl").write_text(index, encoding="utf-8")
    (d / "latin.jsonl").write_bytes('{"text": "un café très bon"}\n'.encode("latin-1"))
    (d / "latin.csv").write_bytes("text\nun café très bon\n".encode("latin-1"))
    (d / "cp1252.json").write_bytes('[{"text": "it’s “fine”"}]'.encode("cp1252"))
    blob = bytes(range(256)) * 32
    for name in ("binary.jsonl", "binary.csv", "binary.json"):
        (d / name).write_bytes(blob)
    (d / "records.txt").write_text("a good film\n")
    (d / "dict.json").write_text('{"text": "one record, not a list"}')
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "nohead.csv").write_text("review,score\ngood film,1\n")
    (d / "empty.csv").write_text("")
    (d / "good.json").write_text(_result([[0], [1, 2]], [1.0, -0.5]))
    (d / "result-deep.json").write_text('{"schema": "spectrex.interactions/1", "n": 3, "labels": ' + "[" * 100_000
                                         + "]" * 100_000 + "}")  # fmt: skip
    (d / "result-true.json").write_text(_result([[True], [1]], [1.0, 2.0]))
    (d / "result-dup.json").write_text(_result([[1], [1]], [1.0, 2.0]))
    (d / "result-range.json").write_text(_result([[7]], [1.0]))
    (d / "result-coef.json").write_text(_result([[1]], ["1.5"]))
    (d / "result-nul.json").write_bytes(b'{"schema": "spectrex.interactions/1", \x00\x00}')
    (d / "result-latin.json").write_bytes('{"schema": "spectrex.interactions/1", "n": 1, "labels": ["é"]}'.encode(
        "latin-1"))  # fmt: skip
    (d / "result-million.json").write_text(
        json.dumps({"schema": "spectrex.interactions/1", "n": 10**6, "labels": ["x"] * 10**6, "transform": {}})
    )
    for name in ("fifo.jsonl", "fifo.json"):
        if not (d / name).exists():
            os.mkfifo(d / name)


#: the hostile files for the API cases (the CLI cases get their own copy in the ``files`` fixture)
HOSTILE = Path(tempfile.mkdtemp(prefix="spectrex-bad-"))
write_hostile_files(HOSTILE)


def _dataset(name):
    from spectrex.runs import explain_dataset

    return explain_dataset(HOSTILE / name, _Count(), out=HOSTILE / f"out-{name}", progress=False)


class _Count:
    """A stand-in model that must never be asked (every case is refused before the first record)."""

    model_id = "never-called"

    def __call__(self, *args, **kwargs):
        raise AssertionError("the model was loaded or called before the input was refused")


def _summarize(path):
    from spectrex.report.summary import summarize

    return summarize(path)


API = [
    # (id, callable, exact error class, what the message must name)
    ("n zero", lambda: spectrex.explain(f, 0), ValueError, "at least 1"),
    ("n negative", lambda: spectrex.explain(f, -3), ValueError, "at least 1"),
    ("n float", lambda: spectrex.explain(f, 2.5), TypeError, "integer"),
    ("n string", lambda: spectrex.explain(f, "8"), TypeError, "integer"),
    ("n bool", lambda: spectrex.explain(f, True), TypeError, "integer"),
    ("n None", lambda: spectrex.explain(f, None), ValueError, "pass n"),  # None: taken from value_fn.n
    ("n a million", lambda: spectrex.explain(f, 10**6), ResourceError, "GiB"),
    ("n 100k default budget", lambda: spectrex.explain(f, 10**5), ResourceError, "GiB"),
    ("budget 1e12", lambda: spectrex.explain(f, 100, budget=10**12), ResourceError, "lower the budget"),
    ("budget zero", lambda: spectrex.explain(f, 8, budget=0), BudgetError, "budget"),
    ("budget negative", lambda: spectrex.explain(f, 8, budget=-5), BudgetError, "budget"),
    ("budget float", lambda: spectrex.explain(f, 8, budget=2.5), TypeError, "budget"),
    ("budget string", lambda: spectrex.explain(f, 8, budget="100"), TypeError, "budget"),
    ("method unknown", lambda: spectrex.explain(f, 8, method="magic"), ValueError, "unknown method"),
    ("max_order negative", lambda: spectrex.explain(f, 8, max_order=-1), ValueError, "max_order"),
    ("max_order float", lambda: spectrex.explain(f, 8, max_order=1.5), ValueError, "max_order"),
    ("random_state string", lambda: spectrex.explain(f, 8, random_state="a"), ValueError, "random_state must be"),
    ("random_state negative", lambda: spectrex.ProxySPEX(random_state=-1), ValueError, "random_state must be"),
    ("max_order string", lambda: spectrex.explain(f, 8, max_order="2"), ValueError, "max_order must be"),
    ("max_order list", lambda: spectrex.ProxySPEX(max_order=[2]), ValueError, "max_order must be"),
    (
        "max_order nan",
        lambda: spectrex.ProxySPEX().set_params(max_order=float("nan")).explain(f, 8, 300),
        ValueError,
        "max_order must be",
    ),
    # a setting no method takes was Python's "Explainer.__init__() got an unexpected keyword argument"
    (
        "setting typo",
        lambda: spectrex.explain(f, 8, method="proxyspex", enrgy=0.9),
        TypeError,
        "did you mean 'energy'",
    ),
    (
        "setting of another method",
        lambda: spectrex.explain(f, 4, paired=True),
        TypeError,
        "method 'auto' chose 'exact'",
    ),
    # 1 == True: `paired in (True, False, "auto")` took 1 and 0, then `paired is True` read 1 as False (adaptive)
    ("paired 1", lambda: spectrex.ProxySPEX(paired=1), ValueError, "paired must be True, False or 'auto'"),
    ("paired 'no'", lambda: spectrex.ProxySPEX(paired="no"), ValueError, "paired must be"),
    ("paired set 0", lambda: spectrex.ProxySPEX().set_params(paired=0).explain(f, 8, 300), ValueError, "paired"),
    ("spex max_order 30", lambda: spectrex.explain(f, 200, method="spex", max_order=30), ValueError, "max_order ≤"),
    ("spex max_order 11", lambda: spectrex.explain(f, 200, method="spex", max_order=11), ValueError, "BCH"),
    ("spex max_order 0", lambda: spectrex.explain(f, 20, method="spex", max_order=0), ValueError, "max_order"),
    ("exact n 25", lambda: spectrex.explain(f, 25, method="exact"), ValueError, "n ≤ 20"),
    ("exact small budget", lambda: spectrex.explain(f, 8, method="exact", budget=10), BudgetError, "2\\^8"),
    ("lime budget 3", lambda: spectrex.explain(f, 8, method="lime", budget=3), BudgetError, "n \\+ 1"),
    ("kernelshap order 2", lambda: spectrex.explain(f, 8, method="kernelshap", max_order=2), ValueError, "first"),
    ("not callable", lambda: spectrex.explain(42, 8), TypeError, "callable"),
    (
        "wrong length",
        lambda: spectrex.explain(lambda m: np.zeros(3), 6, method="exact"),
        ValueFunctionError,
        "shape \\(3,\\)",
    ),
    (
        "nan values",
        lambda: spectrex.explain(lambda m: np.full(len(m), np.nan), 4, method="exact"),
        ValueFunctionError,
        "NaN",
    ),
    ("raising fn", lambda: spectrex.explain(lambda m: 1 / 0, 4, method="exact"), ValueFunctionError, "failed"),
    ("labels count", lambda: spectrex.explain(f, 4, method="exact", labels=["a"]), ValueError, "labels"),
    ("labels as a string", lambda: spectrex.explain(f, 4, method="exact", labels="abcd"), TypeError, "one string"),
    (
        "cache without fingerprint",
        lambda: spectrex.explain(f, 4, method="exact", cache="/tmp/spx-bad.db"),
        CacheError,
        "fingerprint",
    ),
    ("cache and engine", lambda: spectrex.explain(f, 4, cache="x.db", engine=QueryEngine()), ValueError, "not both"),
    ("engine batch 0", lambda: QueryEngine(batch_size=0), ValueError, "batch_size"),
    ("engine batch -1", lambda: QueryEngine(batch_size=-1), ValueError, "batch_size"),
    ("engine batch str", lambda: QueryEngine(batch_size="big"), ValueError, "batch_size"),
    ("engine batch float", lambda: QueryEngine(batch_size=2.5), ValueError, "batch_size"),
    ("engine on_error", lambda: QueryEngine(on_error="ignore"), ValueError, "on_error"),
    ("engine backend", lambda: QueryEngine(backend="gpu"), ValueError, "unknown backend"),
    ("engine workers 0", lambda: QueryEngine(backend="threads", workers=0), ValueError, "workers"),
    ("engine workers -2", lambda: QueryEngine(backend="async", workers=-2), ValueError, "workers"),
    ("engine workers float", lambda: QueryEngine(backend="threads", workers=1.5), ValueError, "workers"),
    (
        "thread backend str",
        lambda: _backend("ThreadBackend", max_workers="2"),
        ValueError,
        "max_workers must be a whole",
    ),
    ("toxicity batch x", lambda: spectrex.models.load_model("toxicity", batch_size="8"), ValueError, "batch_size"),
    ("counterfactual k 2.5", lambda: _counterfactual(k=2.5), ValueError, "k must be an integer ≥ 0"),  # ran as 2
    ("engine workers local", lambda: QueryEngine(workers=0), ValueError, "workers"),
    ("engine max batch", lambda: QueryEngine(max_batch_size=0), ValueError, "max_batch_size"),
    ("engine max batch str", lambda: QueryEngine(max_batch_size="8"), ValueError, "max_batch_size"),  # was `<`'s
    ("budget as method", lambda: spectrex.explain(f, 8, 300), ValueError, "a number of queries is budget=300"),
    ("engine progress", lambda: QueryEngine(progress="yes"), TypeError, "progress"),
    ("cache key type", lambda: QueryEngine(cache_key=5).bind(f, 3), TypeError, "cache_key"),
    ("cache is a folder", lambda: QueryCache("/tmp"), CacheError, "directory"),
    ("cache folder missing", lambda: QueryCache("/nonexistent-spx/q.db"), CacheError, "does not exist"),
    ("retry policy", lambda: spectrex.explain(f, 4, engine=QueryEngine(backend=RetryPolicy)), ValueError, "backend"),
    ("holdout 1", lambda: spectrex.explain_text("a b c", _tiny(), holdout=1), ValueError, "at least 2"),
    ("holdout -1", lambda: spectrex.explain_text("a b c", _tiny(), holdout=-1), ValueError, "holdout"),
    ("holdout str", lambda: spectrex.explain_text("a b c", _tiny(), holdout="64"), ValueError, "holdout"),
    ("empty text", lambda: spectrex.explain_text("", _tiny()), SpectrexError, "empty"),
    ("one word", lambda: spectrex.explain_text("hello", _tiny()), SpectrexError, "only 1 part"),
    ("no documents", lambda: spectrex.explain_text([], _tiny()), SpectrexError, "no documents"),
    ("blank documents", lambda: spectrex.explain_text(["", " "], _tiny()), SpectrexError, "no documents"),
    ("model empty name", lambda: spectrex.models.load_model(""), SpectrexError, "model name"),
    ("model unknown", lambda: spectrex.models.load_model("gpt-17"), SpectrexError, "unknown model"),
    ("model typo", lambda: spectrex.models.load_model("toxicty"), SpectrexError, "Did you mean"),
    ("openai ftp", lambda: spectrex.models.load_model("openai:ftp://x"), SpectrexError, "http"),
    ("hf missing", lambda: spectrex.models.load_model("hf:/nonexistent-model"), SpectrexError, "no model folder"),
    ("template no text", lambda: _openai(template="hello"), ValueError, "\\{text\\}"),
    ("template json", lambda: _openai(template='{"q": "{text}"}'), ValueError, "braces"),
    ("template positional", lambda: _openai(template="{text} {}"), ValueError, "braces"),
    ("target empty", lambda: _openai(target=""), ValueError, "target"),
    ("contrast empty", lambda: _openai(contrast=""), ValueError, "contrast"),
    ("contrast is target", lambda: _openai(target=" yes", contrast=" yes"), ValueError, "target itself"),
    ("lm contrast is target", lambda: _tiny().with_settings(contrast=" ab"), ValueError, "target itself"),
    ("lm contrast empty", lambda: _tiny().with_settings(contrast=""), ValueError, "non-empty"),
    ("echo maybe", lambda: _openai(echo="maybe"), ValueError, "echo"),
    ("concurrency 0", lambda: _openai(concurrency=0), ValueError, "concurrency"),
    ("concurrency float", lambda: _openai(concurrency=2.0), ValueError, "concurrency"),
    ("top_logprobs 0", lambda: _openai(top_logprobs=0), ValueError, "top_logprobs"),
    ("top_logprobs 500", lambda: _openai(top_logprobs=500), ValueError, "top_logprobs"),
    ("max_new_tokens 0", lambda: _openai(max_new_tokens=0), ValueError, "max_new_tokens"),
    (
        "lm max_new_tokens 0",
        lambda: spectrex.models.load_model("tiny-causal-lm", max_new_tokens=0),
        ValueError,
        "max_new_tokens must be a positive integer",
    ),
    ("timeout 0", lambda: _openai(timeout=0), ValueError, "timeout"),
    ("timeout nan", lambda: _openai(timeout=float("nan")), ValueError, "timeout"),
    ("deadline -1", lambda: _openai(deadline=-1), ValueError, "deadline"),
    ("max_retries -1", lambda: _openai(max_retries=-1), ValueError, "max_retries"),
    ("hf template", lambda: spectrex.models.load_model("tiny-causal-lm", template="{x}"), ValueError, "text"),
    ("hf batch 0", lambda: spectrex.models.load_model("tiny-causal-lm", batch_size=0), ValueError, "batch_size"),
    ("hf empty target", lambda: spectrex.models.load_model("tiny-causal-lm", target=""), ValueError, "target"),
    ("classifier output", lambda: spectrex.models.load_model("tiny-classifier", output="odds"), ValueError, "output"),
    ("classifier class 9", lambda: spectrex.models.load_model("tiny-classifier", target=9), ValueError, "range"),
    (
        "classifier class name",
        lambda: spectrex.models.load_model("tiny-classifier", target="happy"),
        ValueError,
        "unknown class",
    ),
    ("parts unit", lambda: spectrex.models.make_parts("a b c", "letters"), ValueError, "letters"),
    ("masking", lambda: spectrex.explain_text("a b c", _tiny(), masking="hide"), ValueError, "masking"),
    ("from_json huge n", lambda: spectrex.Interactions.from_json(HUGE_N), ResourceError, "declares n = 1,000,000"),
    ("from_json array", lambda: spectrex.Interactions.from_json("[1, 2, 3]"), ValueError, "not a spectrex result"),
    ("from_json not json", lambda: spectrex.Interactions.from_json("{oops"), ValueError, "not JSON"),
    # issue 25: from_json on special files and hostile structures
    ("from_json /dev/zero", lambda: spectrex.Interactions.from_json("/dev/zero"), ValueError, "NUL bytes"),
    ("from_json /dev/urandom", lambda: spectrex.Interactions.from_json("/dev/urandom"), ValueError, "NUL|UTF-8"),
    ("from_json fifo", lambda: spectrex.Interactions.from_json(HOSTILE / "fifo.json"), ValueError, "pipe or socket"),
    ("from_json folder", lambda: spectrex.Interactions.from_json(HOSTILE), IsADirectoryError, "is a folder"),
    ("from_json deep list", lambda: spectrex.Interactions.from_json("[" * 10**5 + "]" * 10**5), ValueError, "deeply"),
    (
        "from_json deep object",
        lambda: spectrex.Interactions.from_json('{"a": ' * 10**5 + "1" + "}" * 10**5),
        ValueError,
        "deeply",
    ),
    ("from_json [true]", lambda: spectrex.Interactions.from_json(_result([[True]], [1.0])), ValueError, "support 0"),
    ("from_json dup", lambda: spectrex.Interactions.from_json(_result([[0], [0]], [1, 2])), ValueError, "more than"),
    (
        "from_json dup order",
        lambda: spectrex.Interactions.from_json(_result([[0, 1], [1, 0]], [1, 2])),
        ValueError,
        "more",
    ),
    ("from_json repeat idx", lambda: spectrex.Interactions.from_json(_result([[1, 1]], [1])), ValueError, "distinct"),
    ("from_json idx range", lambda: spectrex.Interactions.from_json(_result([[3]], [1])), ValueError, "from 0 to 2"),
    ("from_json idx -1", lambda: spectrex.Interactions.from_json(_result([[-1]], [1])), ValueError, "from 0 to 2"),
    ("from_json idx float", lambda: spectrex.Interactions.from_json(_result([[0.0]], [1])), ValueError, "support 0"),
    ("from_json coef bool", lambda: spectrex.Interactions.from_json(_result([[0]], [True])), ValueError, "coefficient"),
    ("from_json coef str", lambda: spectrex.Interactions.from_json(_result([[0]], ["1"])), ValueError, "coefficient"),
    ("from_json nul file", lambda: spectrex.Interactions.from_json(HOSTILE / "result-nul.json"), ValueError, "NUL"),
    ("from_json latin", lambda: spectrex.Interactions.from_json(HOSTILE / "result-latin.json"), ValueError, "UTF-8"),
    # issue 25: dataset files through the API
    ("dataset latin jsonl", lambda: _dataset("latin.jsonl"), ValueError, "not UTF-8 text.*save it again"),
    ("dataset latin csv", lambda: _dataset("latin.csv"), ValueError, "not UTF-8 text"),
    ("dataset cp1252 json", lambda: _dataset("cp1252.json"), ValueError, "not UTF-8 text"),
    ("dataset binary jsonl", lambda: _dataset("binary.jsonl"), ValueError, "binary file"),
    ("dataset binary csv", lambda: _dataset("binary.csv"), ValueError, "binary file"),
    ("dataset deep json", lambda: _dataset("deep.json"), ValueError, "too deeply"),
    ("dataset fifo", lambda: _dataset("fifo.jsonl"), ValueError, "not a regular file"),
    ("dataset folder", lambda: _dataset("afolder"), IsADirectoryError, "is a folder"),
    ("dataset txt", lambda: _dataset("records.txt"), ValueError, "use a .jsonl"),
    # issue 25: summaries
    ("summarize missing", lambda: _summarize("/nonexistent-spx/run"), FileNotFoundError, "no run folder at /nonex"),
    ("summarize a file", lambda: _summarize(HOSTILE / "result-nul.json"), NotADirectoryError, "not a run folder"),
    ("summarize no index", lambda: _summarize(HOSTILE / "run-noindex"), FileNotFoundError, "no index.jsonl"),
    # issue 25: every value refused up front when it cannot fit
    ("engine workers 1e9", lambda: QueryEngine(backend="threads", workers=10**9), ValueError, "at most 1,024"),
    ("openai concurrency 1e6", lambda: _openai(concurrency=10**6), ValueError, "from 1 to 1024"),
    # a served chat model's int() cut 2.5 to 2 and said "invalid literal" for "x"
    ("chat top_logprobs 2.5", lambda: _chat(top_logprobs=2.5), ValueError, "top_logprobs must be a whole number"),
    ("chat concurrency x", lambda: _chat(concurrency="x"), ValueError, "concurrency must be a whole number"),
    # echo=0 passed `echo in ("auto", True, False)` and then `echo is not False` probed the echo mode: the opposite
    ("openai echo 0", lambda: _openai(echo=0), ValueError, "echo must be True, False or 'auto', got 0"),
    ("openai per_token 'no'", lambda: _openai(per_token="no"), ValueError, "per_token must be True or False"),
    ("hf per_token 'no'", lambda: _tiny_with(per_token="no"), ValueError, "per_token must be True or False"),
    ("hf chat 1", lambda: _tiny_with(chat=1), ValueError, "chat must be True or False"),
    (
        "holdout 1e9",
        lambda: spectrex.explain_text("a b c d e f g h i j k l", _tiny(), holdout=10**9),
        ResourceError,
        "lower the holdout",
    ),
    ("breaker failures 0", lambda: _policy(breaker_failures=0), ValueError, "breaker_failures"),
    ("breaker seconds -1", lambda: _policy(breaker_seconds=-1), ValueError, "breaker_seconds"),
    ("breaker seconds nan", lambda: _policy(breaker_seconds=float("nan")), ValueError, "breaker_seconds"),
]


@pytest.mark.parametrize(("fn", "cls", "problem"), [c[1:] for c in API], ids=[c[0] for c in API])
def test_api_refuses_with_a_clear_error(fn, cls, problem):
    with pytest.raises(Exception) as info:  # noqa: PT011 - the exact class is asserted below
        with PeakGrowth() as mem:
            fn()
        pytest.fail(f"accepted silently (peak {mem.bytes / 2**20:.0f} MiB)")
    assert type(info.value) is cls or (cls is SpectrexError and isinstance(info.value, cls)), repr(info.value)
    msg = str(info.value)
    assert re.search(problem, msg), msg
    assert REMEDY.search(msg), f"no remedy in: {msg}"
    assert mem.bytes < GIB, f"{mem.bytes / 2**20:.0f} MiB before refusing"  # a tiny model loaded counts too


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "array.json").write_text("[1, 2, 3]")
    (d / "notjson.json").write_text("hello {")
    (d / "other.json").write_text(json.dumps({"hello": "world"}))
    (d / "garbage.db").write_bytes(b"\x00\x01" * 3000)
    (d / "notimage.png").write_text("not an image at all")
    (d / "afolder").mkdir()
    (d / "huge.json").write_text(json.dumps({"schema": "spectrex.interactions/1", "n": 10**6, "transform": {}}))
    write_hostile_files(d)
    return d


def _cli(argv):
    return argv


CLI = [
    # explain
    ("explain budget 0", ["explain", "a b c", "--model", "tiny-classifier", "--budget", "0"], "budget"),
    ("explain budget -1", ["explain", "a b c", "--model", "tiny-classifier", "--budget", "-1"], "budget"),
    ("explain budget x", ["explain", "a b c", "--model", "tiny-classifier", "--budget", "x"], "invalid int"),
    (
        "explain budget huge",
        # 45 words: 2^45 masks exist, so a 10^12 budget is not capped at 2^n but refused by its memory
        ["explain", " ".join(["word"] * 45), "--model", "tiny-classifier", "--budget", "1000000000000"],
        "GiB",
    ),
    ("explain max-order -1", ["explain", "a b c", "--model", "tiny-classifier", "--max-order", "-1"], "at least 0"),
    (
        "explain spex 30",
        ["explain", "a b c d e f g h i j k l", "--model", "tiny-classifier", "--method", "spex", "--max-order", "30"],
        "max_order",
    ),
    ("explain method", ["explain", "a b c", "--model", "tiny-classifier", "--method", "magic"], "unknown method"),
    (
        "explain lime 3",
        ["explain", "a b c d e f g h", "--model", "tiny-classifier", "--method", "lime", "--budget", "3"],
        "n \\+ 1",
    ),
    ("explain model", ["explain", "a b", "--model", "no-such-model"], "unknown model"),
    ("explain model typo", ["explain", "a b", "--model", "toxicty"], "Did you mean"),
    ("explain openai ftp", ["explain", "a b", "--model", "openai:ftp://x"], "http"),
    (
        "explain openai down",
        ["explain", "a b", "--model", "openai:http://127.0.0.1:9", "--target", " x"],
        "cannot reach",
    ),
    ("explain hf missing", ["explain", "a b", "--model", "hf:/nonexistent-model"], "no model folder"),
    (
        "explain template json",
        ["explain", "a b", "--model", "tiny-causal-lm", "--target", " a", "--template", '{"q": "{text}"}'],
        "braces",
    ),
    ("explain template none", ["explain", "a b", "--model", "tiny-causal-lm", "--template", "hello"], "text"),
    ("explain parts", ["explain", "a b", "--model", "tiny-classifier", "--parts", "letters"], "invalid choice"),
    ("explain masking", ["explain", "a b", "--model", "tiny-classifier", "--masking", "hide"], "invalid choice"),
    ("explain holdout 1", ["explain", "a b c", "--model", "tiny-classifier", "--holdout", "1"], "at least 2"),
    ("explain holdout -1", ["explain", "a b c", "--model", "tiny-classifier", "--holdout", "-1"], "holdout"),
    ("explain holdout x", ["explain", "a b c", "--model", "tiny-classifier", "--holdout", "x"], "invalid int"),
    ("explain index", ["explain", "a b c", "--model", "tiny-classifier", "--index", "XYZ"], "index"),
    (
        "explain json folder",
        ["explain", "a b c", "--model", "tiny-classifier", "--json", "/nonexistent-spx/r.json"],
        "does not exist",
    ),
    ("explain json is dir", ["explain", "a b c", "--model", "tiny-classifier", "--json", "{d}/afolder"], "folder"),
    ("explain seed", ["explain", "a b c", "--model", "tiny-classifier", "--seed", "x"], "invalid int"),
    ("explain batch 0", ["explain", "a b c", "--model", "tiny-classifier", "--batch-size", "0"], "batch"),
    ("explain batch x", ["explain", "a b c", "--model", "tiny-classifier", "--batch-size", "many"], "batch"),
    ("explain backend", ["explain", "a b c", "--model", "tiny-classifier", "--backend", "gpu"], "invalid choice"),
    (
        "explain workers 0",
        ["explain", "a b c", "--model", "tiny-classifier", "--backend", "threads", "--workers", "0"],
        "workers",
    ),
    ("explain workers -1", ["explain", "a b c", "--model", "tiny-classifier", "--workers", "-1"], "workers"),
    ("explain on-error", ["explain", "a b c", "--model", "tiny-classifier", "--on-error", "skip"], "invalid choice"),
    (
        "explain cache folder",
        ["explain", "a b c", "--model", "tiny-classifier", "--cache", "/nonexistent-spx/c.db"],
        "does not exist",
    ),
    ("explain cache dir", ["explain", "a b c", "--model", "tiny-classifier", "--cache", "{d}/afolder"], "directory"),
    (
        "explain cache garbage",
        ["explain", "a b c", "--model", "tiny-classifier", "--cache", "{d}/garbage.db"],
        "damaged",
    ),
    ("explain timeout tox", ["explain", "a b c", "--model", "tiny-classifier", "--timeout", "5"], "served models"),
    ("explain echo tiny", ["explain", "a b c", "--model", "tiny-classifier", "--no-echo"], "served models"),
    ("explain concurrency", ["explain", "a b c", "--model", "tiny-classifier", "--concurrency", "3"], "served models"),
    ("explain timeout 0", ["explain", "a b", "--model", "openai:http://127.0.0.1:9", "--timeout", "0"], "timeout"),
    ("explain conc 0", ["explain", "a b", "--model", "openai:http://127.0.0.1:9", "--concurrency", "0"], "concurrency"),
    (
        "explain timeout x",
        ["explain", "a b", "--model", "openai:http://127.0.0.1:9", "--timeout", "soon"],
        "invalid float",
    ),
    ("explain empty", ["explain", "", "--model", "tiny-classifier"], "empty"),
    ("explain one part", ["explain", "hello", "--model", "tiny-classifier"], "only 1 part"),
    ("explain doc and text", ["explain", "a b", "--doc", "x", "--doc", "y", "--model", "tiny-classifier"], "not both"),
    ("explain one doc", ["explain", "--doc", "only one", "--model", "tiny-classifier"], "only 1 part"),
    ("explain no text tox", ["explain", "--model", "tiny-classifier"], "give a TEXT"),
    ("explain class", ["explain", "a b c", "--model", "tiny-classifier", "--target", "happy"], "unknown class"),
    ("explain class range", ["explain", "a b c", "--model", "tiny-classifier", "--target", "7"], "range"),
    ("explain unknown flag", ["explain", "a b c", "--frobnicate"], "unrecognized"),
    # demo
    ("demo n 0", ["demo", "--n", "0"], "at least 1"),
    ("demo n -1", ["demo", "--n", "-1"], "at least 1"),
    ("demo n x", ["demo", "--n", "x"], "invalid int"),
    ("demo n huge", ["demo", "--n", "1000000"], "GiB|n ≤|at most|too"),
    ("demo k -1", ["demo", "--k", "-1"], "k"),
    ("demo method", ["demo", "--method", "magic"], "unknown method"),
    ("demo index", ["demo", "--index", "bogus"], "argument --index: unknown index 'bogus'"),  # was after the run
    ("explain index", ["explain", "a b c", "--index", "shapely"], "argument --index: unknown index"),
    ("demo budget 0", ["demo", "--budget", "0"], "budget"),
    ("demo budget -3", ["demo", "--budget", "-3"], "budget"),
    ("demo batch 0", ["demo", "--batch-size", "0"], "batch"),
    ("demo batch x", ["demo", "--batch-size", "x"], "batch"),
    ("demo workers 0", ["demo", "--backend", "threads", "--workers", "0"], "workers"),
    ("dataset no-cache", ["explain", "--inputs", "{d}/none.jsonl", "--no-cache"], "per-record caches"),
    ("explain cache and no-cache", ["explain", "a b", "--cache", "{d}/c.db", "--no-cache"], "not both"),
    ("demo cache dir", ["demo", "--cache", "{d}/afolder"], "directory"),
    ("demo cache garbage", ["demo", "--cache", "{d}/garbage.db"], "damaged"),
    ("demo cache missing", ["demo", "--cache", "/nonexistent-spx/c.db"], "does not exist"),
    ("demo seed", ["demo", "--seed", "x"], "invalid int"),
    ("demo exact big", ["demo", "--n", "30", "--method", "exact"], "n ≤ 20"),
    ("demo lime", ["demo", "--method", "lime", "--budget", "3"], "n \\+ 1"),
    ("demo spex order", ["demo", "--n", "200", "--method", "spex", "--budget", "100"], "budget"),
    # report
    ("report missing", ["report", "/nonexistent-spx/r.json"], "no result file"),
    ("report array", ["report", "{d}/array.json"], "result"),
    ("report not json", ["report", "{d}/notjson.json"], "JSON"),
    ("report other json", ["report", "{d}/other.json"], "not a spectrex result"),
    ("report huge n", ["report", "{d}/huge.json"], "declares n"),
    ("report folder", ["report", "{d}/afolder"], "afolder is a folder; pass one result file .*spectrex serve"),
    # serve
    ("serve missing", ["serve", "/nonexistent-spx"], "nonexistent|No such"),
    ("serve a file", ["serve", "{d}/array.json"], "not a folder"),
    ("serve host", ["serve", "{d}", "--host", "no-such-host.invalid", "--port", "0"], "cannot serve on host"),
    ("serve port x", ["serve", "--port", "x"], "invalid int"),
    ("serve port -1", ["serve", "{d}", "--port", "-1"], "port"),
    ("serve port 70000", ["serve", "{d}", "--port", "70000"], "port"),
    # explain-image
    ("image missing", ["explain-image", "/nonexistent-spx/cat.png"], "nonexistent|no image|not found|No such"),
    ("image not an image", ["explain-image", "{d}/notimage.png"], "image"),
    ("image fill 7", ["explain-image", "chelsea", "--fill", "7"], "\\[0, 1\\]"),
    ("image fill -1", ["explain-image", "chelsea", "--fill", "-1"], "\\[0, 1\\]"),
    ("image fill red", ["explain-image", "chelsea", "--fill", "red"], "fill"),
    ("image grid x", ["explain-image", "chelsea", "--grid", "x"], "ROWSxCOLS"),
    ("image grid 0x0", ["explain-image", "chelsea", "--grid", "0x0"], "grid"),
    ("image grid 1x1", ["explain-image", "chelsea", "--grid", "1x1"], "only 1 part \\(a 1×1 grid\\)"),
    ("image budget x", ["explain-image", "chelsea", "--budget", "x"], "invalid int"),
    ("image batch 0", ["explain-image", "chelsea", "--batch-size", "0"], "batch"),
    ("image method", ["explain-image", "chelsea", "--method", "magic"], "unknown method"),
    ("image class range", ["explain-image", "chelsea", "--class", "99999"], "not an ImageNet class.*0 to 999"),
    ("image class -1", ["explain-image", "chelsea", "--class", "-1"], "class -1 is not an ImageNet class"),
    ("image empty question", ["explain-image", "chelsea", "--question", " "], "--question is empty"),
    ("image grid and sp", ["explain-image", "chelsea", "--grid", "2x2", "--superpixels", "4"], "give one of them"),
    ("image json folder", ["explain-image", "chelsea", "--json", "/nonexistent-spx/r.json"], "does not exist"),
    ("image out folder", ["explain-image", "chelsea", "--out", "/nonexistent-spx/r.png"], "does not exist"),
    ("no command", [], "required"),
    ("unknown command", ["frobnicate"], "invalid choice"),
    # issue 25: dataset files (one clear error, no record processed, a failing exit)
    *[
        (
            f"inputs {name}",
            ["explain", "--inputs", f"{{d}}/{name}", "--model", "tiny-classifier", "--out", f"{{d}}/out-{name}"],
            problem,
        )  # fmt: skip
        for name, problem in (
            ("latin.jsonl", "not UTF-8 text.*save it again as UTF-8"),
            ("latin.csv", "not UTF-8 text"),
            ("cp1252.json", "not UTF-8 text"),
            ("binary.jsonl", "binary file"),
            ("binary.csv", "binary file"),
            ("binary.json", "binary file"),
            ("records.txt", "use a .jsonl"),
            ("dict.json", "holds one JSON dict"),
            ("deep.json", "nests its JSON too deeply"),
            ("nohead.csv", "header row"),
            ("empty.csv", "header row"),
            ("fifo.jsonl", "not a regular file"),
            ("afolder", "is a folder"),
            ("missing.jsonl", "no records file"),
        )
    ],
    # issue 25: every value refused up front when it cannot fit or makes no sense
    ("explain top 0", ["explain", "a b c", "--model", "tiny-classifier", "--top", "0"], "at least 1"),
    ("explain top -1", ["explain", "a b c", "--model", "tiny-classifier", "--top", "-1"], "at least 1"),
    (
        "explain holdout 1e9",
        ["explain", "a b c d e f g h i j k l", "--model", "tiny-classifier", "--holdout", "1000000000"],
        "holdout of 1,000,000,000 queries.*lower the holdout",
    ),
    (
        "explain workers 1e9",
        ["explain", "a b c", "--model", "tiny-classifier", "--backend", "threads", "--workers", "1000000000"],
        "at most 1,024",
    ),
    (
        "explain concurrency 1e9",
        ["explain", "a b", "--model", "openai:http://127.0.0.1:9", "--concurrency", "1000000000"],
        "concurrency must be an integer from 1 to 1024",
    ),
    # issue 25: summaries
    ("summarize k 0", ["summarize", "{d}/run-noindex", "-k", "0"], "at least 1"),
    ("summarize top 0", ["summarize", "{d}/run-noindex", "--top", "0"], "at least 1"),
    ("summarize rows -1", ["summarize", "{d}/run-noindex", "--rows", "-1"], "at least 0"),
    ("summarize no index", ["summarize", "{d}/run-noindex"], "no index.jsonl"),
    ("summarize missing", ["summarize", "/nonexistent-spx/run"], "no run folder at"),
    ("summarize empty", ["summarize", "{d}/run-empty"], "holds no finished record \\(it is empty\\)"),
    ("summarize garbage", ["summarize", "{d}/run-garbage"], "none of its 2 lines is a record"),
    # issue 25: results given to report (the viewer's /view/ shares the bound, tested there)
    ("report top 0", ["report", "{d}/good.json", "--top", "0"], "at least 1"),
    ("report max-order 0", ["report", "{d}/good.json", "--max-order", "0"], "at least 1"),
    ("report counterfactual -1", ["report", "{d}/good.json", "--counterfactual-k", "-1"], "at least 0"),
    ("report deep", ["report", "{d}/result-deep.json"], "nests its JSON too deeply"),
    ("report support true", ["report", "{d}/result-true.json"], "support 0"),
    ("report support twice", ["report", "{d}/result-dup.json"], "more than once"),
    ("report support range", ["report", "{d}/result-range.json"], "from 0 to 2"),
    ("report coef string", ["report", "{d}/result-coef.json"], "coefficient 0"),
    ("report nul bytes", ["report", "{d}/result-nul.json"], "is not JSON|not a text file|NUL bytes"),
    ("report latin", ["report", "{d}/result-latin.json"], "not a text file|not UTF-8"),
    ("report fifo", ["report", "{d}/fifo.json"], "no result file"),
    ("report dev zero", ["report", "/dev/zero"], "no result file"),
    ("report n million", ["report", "{d}/result-million.json"], "declares n = 1000000 parts"),
    ("image grid 1000x1000", ["explain-image", "chelsea", "--grid", "1000x1000"], "does not fit"),
]


@pytest.mark.parametrize(("argv", "problem"), [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_cli_refuses_with_one_error_line(argv, problem, files, capsys):
    argv = [a.replace("{d}", str(files)) for a in argv]
    with PeakGrowth() as mem:
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse: usage + one "error:" line on stderr
            rc = exc.code
    assert mem.bytes < GIB, f"{mem.bytes / 2**20:.0f} MiB before refusing"
    out, err = capsys.readouterr()
    text = out + err
    assert rc == 2, text
    assert "Traceback" not in text
    lines = [ln for ln in text.splitlines() if "error:" in ln]
    assert len(lines) == 1, text
    line = lines[0]
    assert re.search(problem, line), line
    assert REMEDY.search(line) or "usage:" in text, f"no remedy in: {line}"


# -- issue 25: served-model answers and URLs ------------------------------------------------------------


@pytest.fixture(scope="module")
def mimic_module():
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "models"))
    import openai_mimic

    return openai_mimic


@pytest.mark.parametrize("echo", [True, False], ids=["echo", "next-token"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), 5.0, 1e300], ids=["nan", "inf", "+5", "1e300"])
def test_served_model_answers_that_are_not_log_probabilities_are_refused(mimic_module, value, echo):
    from spectrex.models._http import ServerError
    from spectrex.models.openai import OpenAICompletionsScorer

    with mimic_module.MimicServer("llama", logprob_override=lambda prefix: value) as url:
        scorer = OpenAICompletionsScorer(url, target=" positive", template="Review: {text}", echo=echo)
        with PeakGrowth() as mem, pytest.raises(ServerError) as info:
            scorer.logprob("Review: a good film", " positive")
        scorer.close()
    msg = str(info.value)
    assert "finite number ≤ 0" in msg and REMEDY.search(msg) and "empty prompt" not in msg, msg
    assert mem.bytes < GIB


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:s3cretpw@127.0.0.1:{port}",
        "http://127.0.0.1:{port}/v1?api_key=s3cretpw",
        "http://127.0.0.1:{port}?token=s3cretpw&x=1",
        "https://bob:s3cretpw@127.0.0.1:{port}/v1?key=s3cretpw",
    ],
    ids=["userinfo", "api_key", "token", "both"],
)
def test_served_model_urls_with_credentials_never_show_them(mimic_module, url, capsys):
    url = url.format(port=mimic_module.free_port())
    with PeakGrowth() as mem, pytest.raises(SpectrexError) as info:
        spectrex.models.load_model(f"openai:{url}", target=" x", deadline=1).probe()
    assert "s3cretpw" not in str(info.value) and "***" in str(info.value) and REMEDY.search(str(info.value))
    rc = main(["explain", "a b", "--model", f"openai:{url}", "--target", " x", "--timeout", "1"])
    text = "".join(capsys.readouterr())
    assert rc == 2 and "s3cretpw" not in text and len([ln for ln in text.splitlines() if "error:" in ln]) == 1
    assert mem.bytes < GIB
