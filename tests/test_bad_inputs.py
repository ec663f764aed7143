"""Bad inputs, through the API and every CLI command: the exact error class, a message naming the problem and a
remedy, never a raw traceback, never a silently accepted out-of-range value, no large allocation before refusing."""

import json
import re
import tracemalloc

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


def _openai(**kw):
    from spectrex.models.openai import OpenAICompletionsScorer

    return OpenAICompletionsScorer("http://127.0.0.1:9", **kw)


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
    ("engine workers local", lambda: QueryEngine(workers=0), ValueError, "workers"),
    ("engine max batch", lambda: QueryEngine(max_batch_size=0), ValueError, "max_batch_size"),
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
    ("echo maybe", lambda: _openai(echo="maybe"), ValueError, "echo"),
    ("concurrency 0", lambda: _openai(concurrency=0), ValueError, "concurrency"),
    ("concurrency float", lambda: _openai(concurrency=2.0), ValueError, "concurrency"),
    ("top_logprobs 0", lambda: _openai(top_logprobs=0), ValueError, "top_logprobs"),
    ("top_logprobs 500", lambda: _openai(top_logprobs=500), ValueError, "top_logprobs"),
    ("max_new_tokens 0", lambda: _openai(max_new_tokens=0), ValueError, "max_new_tokens"),
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
    ("explain max-order -1", ["explain", "a b c", "--model", "tiny-classifier", "--max-order", "-1"], "max_order"),
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
    ("report folder", ["report", "{d}/afolder"], "result"),
    # serve
    ("serve missing", ["serve", "/nonexistent-spx"], "nonexistent|No such"),
    ("serve a file", ["serve", "{d}/array.json"], "not a folder"),
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
    ("image budget x", ["explain-image", "chelsea", "--budget", "x"], "invalid int"),
    ("image batch 0", ["explain-image", "chelsea", "--batch-size", "0"], "batch"),
    ("image method", ["explain-image", "chelsea", "--method", "magic"], "unknown method"),
    ("image json folder", ["explain-image", "chelsea", "--json", "/nonexistent-spx/r.json"], "does not exist"),
    ("image out folder", ["explain-image", "chelsea", "--out", "/nonexistent-spx/r.png"], "does not exist"),
    ("no command", [], "required"),
    ("unknown command", ["frobnicate"], "invalid choice"),
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
