"""Secrets in URLs: what is shown or stored never holds them.

A served model's URL may carry credentials: user information (``http://user:pass@host``) or a query
parameter such as ``?key=…`` / ``?api_key=…`` / ``?token=…``. :func:`redact_url` replaces them by
``***`` for every message, header, result file and report; :func:`redact_text` does the same for
every URL inside a longer text (an error message, a model spec). :func:`secret_tag` gives a keyed
hash of the secrets, so a fingerprint can tell two credentials apart without holding either: the key
is a random one kept in the user's spectrex folder (``~/.cache/spectrex/fingerprint.key``, mode 0600),
so the tag cannot be reversed by trying passwords without that file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

#: query parameters whose value is a secret (compared in lower case, ``-`` read as ``_``)
SECRET_PARAMS = re.compile(r"(key|token|secret|password|passwd|pwd|auth|signature|sig|credential)s?$")
MASK = "***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")


def _is_secret(name: str) -> bool:
    return bool(SECRET_PARAMS.search(name.lower().replace("-", "_")))


def split_url(url: str) -> tuple[str, tuple[str, str] | None, list[tuple[str, str]]]:
    """``(url without user information, (user, password) or None, query parameters)``; the query is removed."""
    parts = urlsplit(url)
    auth = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
    params = parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")), auth, params


def redact_url(url: str) -> str:
    """``url`` with its user information and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = []
        for piece in query.split("&"):
            name, eq, value = piece.partition("=")
            pairs.append(f"{name}={MASK}" if eq and _is_secret(name) else piece)
        query = "&".join(pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (see :func:`redact_url`)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: redact_url(m.group()), text)


def has_secret(url: str) -> bool:
    """Whether ``url`` carries user information or a secret query parameter."""
    return redact_url(url) != url


def _key() -> bytes:
    home = Path(os.environ.get("SPECTREX_HOME") or Path.home() / ".cache" / "spectrex")
    path = home / "fingerprint.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    key = secrets.token_bytes(32)
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex())
    except FileExistsError:  # another process wrote it first: use theirs
        return bytes.fromhex(path.read_text().strip())
    except OSError:
        pass  # a read-only home: this process's tags are still keyed, only not shared with later runs
    return key


def secret_tag(url: str) -> str | None:
    """A keyed hash (HMAC-SHA256) of the secrets in ``url``; None when it has none."""
    if not has_secret(url):
        return None
    _, auth, params = split_url(url)
    material = repr((auth, sorted((k, v) for k, v in params if _is_secret(k)))).encode()
    return hmac.new(_key(), material, hashlib.sha256).hexdigest()[:32]
