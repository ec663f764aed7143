"""A served chat model (/v1/chat/completions): the masked text is the user's message after the system prompt."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

pytest.importorskip("httpx")

import spectrex  # noqa: E402
from chat_server import first_token, reply, serve  # noqa: E402
from spectrex.models import load_model, make_parts  # noqa: E402

SYSTEM = "You are a film critic."


def first_token_logprob(message: str) -> float:
    """The 'model': ' yes' is likely when the review says 'great' and not 'dull'."""
    words = set(message.split())
    return -3.0 + 2.0 * ("great" in words) * ("dull" not in words) + 0.5 * ("acting" in words)


class Chat(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.send_response(404)
        self.end_headers()

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Chat.seen.append(body)
        assert self.path == "/v1/chat/completions"
        system, user = body["messages"]
        assert system == {"role": "system", "content": SYSTEM} and user["role"] == "user"
        value = first_token_logprob(user["content"])
        reply(self, first_token(" yes", value, [(" yes", value), (" no", value - 1.0)]))


@pytest.fixture
def url():
    Chat.seen = []
    with serve(Chat) as base:
        yield base


def test_served_chat_values_are_the_servers_for_the_masked_user_message(url):
    scorer = load_model(f"openai:{url}", chat=True, system=SYSTEM, target=" yes", template="Review: {text}", timeout=5)
    tp = make_parts("great acting but dull plot")
    vf = scorer.value_function(tp)
    masks = np.array(np.meshgrid(*[[0, 1]] * tp.n)).reshape(tp.n, -1).T.astype(bool)
    values = vf(masks)
    expected = [first_token_logprob(f"Review: {t}") for t in vf.texts(masks)]
    np.testing.assert_allclose(values, expected, atol=1e-12)
    assert {m["messages"][1]["content"] for m in Chat.seen} == {f"Review: {t}" for t in vf.texts(masks)}
    result = spectrex.explain(vf, method="exact")
    assert result.to("SII")[(0, 3)] < -0.4  # "great" × "dull": dull cancels great


def test_served_chat_needs_a_one_token_target(url):
    with pytest.raises(ValueError, match="one answer token"):
        load_model(f"openai:{url}", chat=True, system=SYSTEM)
