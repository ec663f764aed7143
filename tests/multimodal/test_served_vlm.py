"""The served-VLM scorer against a local chat server that checks every request's format."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

pytest.importorskip("httpx")
PIL = pytest.importorskip("PIL.Image")

import spectrex  # noqa: E402
from chat_server import first_token, reply, serve  # noqa: E402
from spectrex.errors import ValueFunctionError  # noqa: E402
from spectrex.models.openai_chat import ChatVisionScorer, ChatVisionValue  # noqa: E402
from spectrex.parts.image import ImageParts  # noqa: E402
from spectrex.parts.joint import JointParts  # noqa: E402
from spectrex.parts.text import split_text  # noqa: E402

IMAGE = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
FILL = 0.0


def answer(pixels: np.ndarray, prompt: str) -> float:
    """The 'model': the answer ' cat' is likely when patch r0c0 is visible *and* the prompt asks 'animal'."""
    seen = float(np.any(pixels[:8, :8] != 0))
    return -4.0 + 3.0 * seen * ("animal" in prompt) + 0.5 * ("photo" in prompt)


class Chat(BaseHTTPRequestHandler):
    faults = 0.0
    rng = np.random.default_rng(5)
    lock = threading.Lock()
    seen: list[dict] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Chat.lock:
            Chat.seen.append(body)
            fail = Chat.rng.random() < Chat.faults
        if fail:
            self.send_response(500 if Chat.rng.random() < 0.5 else 429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        assert self.path == "/v1/chat/completions"
        assert body["logprobs"] is True and 1 <= body["top_logprobs"] <= 20 and body["max_tokens"] == 1
        image_part, text_part = body["messages"][0]["content"]
        url = image_part["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        pixels = np.asarray(PIL.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
        value = answer(pixels, text_part["text"])
        reply(self, first_token(" ", -0.1, [(" cat", value), (" dog", value - 1), (" ", -0.1)]))


@pytest.fixture
def server():
    Chat.seen, Chat.faults = [], 0.0
    with serve(Chat) as url:
        yield url


def value(url, target=" cat", **kw):
    parts = JointParts(
        {"image": ImageParts(IMAGE, grid=(2, 2), fill=FILL), "text": split_text("what animal photo", "words")}
    )
    return ChatVisionValue(ChatVisionScorer(url, target=target, top_logprobs=5, timeout=5, **kw), parts)


def test_requests_carry_the_masked_image_and_values_match_direct(server):
    f = value(server, concurrency=1)  # one at a time: the server sees the requests in row order
    masks = np.random.default_rng(2).random((12, f.n)) < 0.5
    y = f(masks)
    images = f.parts.groups["image"].compose(f.parts.split(masks)["image"])
    texts = f.parts.groups["text"].render_many(f.parts.split(masks)["text"])
    direct = [answer(np.clip(np.rint(im * 255), 0, 255).astype(np.uint8), t) for im, t in zip(images, texts)]
    np.testing.assert_allclose(y, direct)
    # every request sent the PNG of exactly the masked image (lossless), removed patches at the fill
    sent = [
        np.asarray(PIL.open(io.BytesIO(base64.b64decode(b["messages"][0]["content"][0]["image_url"]["url"][22:]))))
        for b in Chat.seen
    ]
    assert len(sent) == 12
    for m, px in zip(masks, sent):
        for p in range(4):
            block = px[(p // 2) * 8 : (p // 2 + 1) * 8, (p % 2) * 8 : (p % 2 + 1) * 8]
            assert np.all(block == 0) != bool(m[p])


def test_explanation_finds_the_cross_modal_pair_and_survives_faults(server):
    clean = spectrex.explain(value(server), method="exact")
    Chat.faults = 0.3
    faulty = spectrex.explain(value(server), method="exact")
    np.testing.assert_array_equal(clean.transform.coefs, faulty.transform.coefs)
    top = clean.to("SII", max_order=2).top(1, order=2)[0]
    assert top.labels == ("patch r0c0", "word 'animal'") and top.value > 0
    assert clean.metadata["quantity"] == "log P(' cat' | image, prompt)"


def test_a_target_not_among_the_alternatives_is_an_error_not_a_floor(server):
    with pytest.raises(ValueFunctionError, match="among their top 5"):
        value(server, target="cat")(np.ones((1, 7), bool))  # the server's token is " cat", with a space


def test_dead_server_is_a_clear_error_within_the_deadline():
    import time

    t0 = time.monotonic()
    with pytest.raises(spectrex.SpectrexError, match="failed the chat request"):
        value("http://127.0.0.1:9", deadline=2.0)(np.ones((1, 7), bool))
    assert time.monotonic() - t0 < 10


def test_cli_explains_image_and_question_on_a_served_vlm(server, tmp_path, capsys):
    pytest.importorskip("skimage")
    from spectrex.cli import main

    png, page = tmp_path / "joint.png", tmp_path / "joint.html"
    argv = [
        "explain-image",
        "chelsea",
        "--grid",
        "2x2",
        "--fill",
        "0",
        "--question",
        "what animal photo",
        "--answer",
        " cat",
    ]
    argv += ["--model", f"openai:{server}", "--method", "exact", "--out", str(png), "--report", str(page), "-q"]
    assert main([*argv, "--json", str(tmp_path / "r.json")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Pairs · SII" in out and "log P(' cat' | image, prompt)" in out
    result = spectrex.Interactions.from_json(tmp_path / "r.json")
    assert result.to("SII", max_order=2).top(1, order=2)[0].labels == ("patch r0c0", "word 'animal'")
    assert png.stat().st_size > 10_000 and "image-box" in page.read_text()
    assert main([*argv, "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())  # refused before any request
