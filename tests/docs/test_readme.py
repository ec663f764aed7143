"""Every fenced example in README.md runs as written, so the README cannot rot.

Python blocks run in order in one namespace (as a reader pasting them into one session would);
each line of a bash block runs in a shell, in the same scratch folder, with the ``spectrex`` of this
environment. A block right after ``<!-- readme-test: needs a server -->`` is only parsed (it names a
server nobody runs in CI); after ``<!-- readme-test: background -->`` each command must start and
serve, then is stopped. Install commands are not re-run (the environment under test is the install):
of ``pip install … && cmd`` only ``cmd`` runs, and the test command itself is skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"(?:<!-- readme-test: (?P<tag>[^>]*?) -->\s*\n)?```(?P<lang>\w+)\n(?P<body>.*?)\n```", re.S)
DOC = (
    "The committee met on Tuesday to discuss the new library. Most members liked the plan.\n\n"
    "The budget, however, was not approved. A second meeting will be held next month."
)


def blocks() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    test_line = text.split("<!-- test-command", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    out = []
    for m in FENCE.finditer(text):
        body = m["body"]
        if m["lang"] == "bash" and body.strip() == test_line.strip():
            continue  # the test command: this very run
        out.append((m["lang"], m["tag"] or "", body))
    return out


def commands(body: str) -> list[str]:
    """Shell lines of a bash block, with install steps dropped (``pip install … && cmd`` → ``cmd``)."""
    lines = []
    for line in body.replace("\\\n", " ").splitlines():  # a trailing backslash continues the command
        if line.lstrip().startswith("#"):
            continue  # a comment line
        steps = [s.strip() for s in line.split("&&")]
        steps = [s for s in steps if s and " pip install " not in f" {s} "]
        if steps:
            lines.append(" && ".join(steps))
    return lines


def test_readme_has_examples_of_each_kind():
    kinds = {(lang, tag) for lang, tag, _ in blocks()}
    assert ("python", "") in kinds and ("bash", "") in kinds and ("bash", "needs a server") in kinds


@pytest.mark.slow
def test_every_readme_example_runs(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.txt").write_text(DOC, encoding="utf-8")
    (tmp_path / "examples").symlink_to(README.parent / "examples")  # the README's relative paths
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["SPECTREX_QUIET"] = "1"  # SPECTREX_CACHE: the test's own (conftest), so no answer is served from a past run
    # the `spectrex` command runs this source tree, whatever copy of spectrex is installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(README.parent / "src"), env.get("PYTHONPATH", "")) if p)
    namespace: dict = {"__name__": "__readme__"}
    ran = 0
    for lang, tag, body in blocks():
        if lang == "python":
            exec(compile(body, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
            ran += 1
            continue
        if lang != "bash":
            continue
        for cmd in commands(body):
            if tag == "needs a server":
                assert shlex.split(cmd, comments=True), cmd  # at least well-formed
                continue
            if tag == "background":
                _serves(cmd, env)
                ran += 1
                continue
            done = subprocess.run(cmd, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"README command failed: {cmd}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            assert "Traceback" not in done.stderr, done.stderr[-2000:]
            ran += 1
    assert ran >= 8
    # what the README says the commands produce is really there
    assert (tmp_path / "result.json").is_file() and (tmp_path / "report.html").is_file()


def _serves(cmd: str, env: dict) -> None:
    """Start a long-running command, wait until it says where it serves, then stop it.

    When its default port (8000) is taken by something else on this machine, it is given a free one
    (``--port 0``) rather than failing for a reason that is not the README's.
    """
    import socket

    with socket.socket() as probe:
        busy = probe.connect_ex(("127.0.0.1", 8000)) == 0
    if busy and "--port" not in cmd:
        cmd = cmd.split("#", 1)[0].rstrip() + " --port 0"
    proc = subprocess.Popen(
        cmd, shell=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        deadline, seen = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "http://" not in seen:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
        assert "http://" in seen, f"{cmd} did not start serving: {seen[-1000:]}"
    finally:  # the whole process group: the shell and the server it started
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
