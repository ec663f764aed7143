"""What identifies a model's weights in a fingerprint: a local folder's contents, a package's version.

A fingerprint must change whenever the model's answers can change. Hashing every weight byte of a
multi-GB folder would cost seconds to minutes per run, so a folder is identified by the bytes of its
small files (config, tokenizer) and, for each large file, its name, size, modification time, first
64 KiB (the safetensors / GGUF header) and 16 sampled 4 KiB blocks. A folder re-saved with other
weights changes the modification time and almost always the sampled bytes.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

#: files at most this big are hashed whole (configs, tokenizers, generation settings)
SMALL_FILE = 4 * 1024 * 1024
_HEAD = 64 * 1024
_BLOCK = 4096
_SAMPLES = 16


def _file_digest(path: Path, h) -> None:
    st = path.stat()
    h.update(f"{path.name}\x1f{st.st_size}\x1f".encode())
    with path.open("rb") as fh:
        if st.st_size <= SMALL_FILE:
            h.update(fh.read())
            return
        h.update(str(st.st_mtime_ns).encode())
        h.update(fh.read(_HEAD))
        for k in range(_SAMPLES):
            fh.seek((st.st_size - _BLOCK) * (k + 1) // (_SAMPLES + 1))
            h.update(fh.read(_BLOCK))
        fh.seek(max(0, st.st_size - _BLOCK))
        h.update(fh.read(_BLOCK))


def folder_identity(folder: str | os.PathLike) -> str:
    """A hex digest naming the contents of a model folder (see the module docstring)."""
    root = Path(folder).expanduser()
    h = hashlib.sha256()
    if root.is_file():
        _file_digest(root, h)
        return h.hexdigest()[:32]
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(path.relative_to(root).as_posix().encode() + b"\x1e")
        _file_digest(path, h)
    return h.hexdigest()[:32]


def package_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (``"unknown"`` when it is not installed)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def object_identity(obj) -> str:
    """A digest of a model given as a Python object (a fitted estimator, a function), for fingerprints.

    The object's pickle (a fitted scikit-learn / LightGBM model: its parameters and learned state);
    a function also by its code and the values it closes over, so an edited function gets a new
    fingerprint. Raises AttributeError (the engine then asks for a ``cache_key``) when the object can
    be neither pickled nor read as a function.
    """
    import pickle

    h = hashlib.sha256()
    code = getattr(obj, "__code__", None)
    if code is not None:  # functions pickle by name only: their code is what changes the answers
        h.update(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}".encode())
        h.update(code.co_code + repr(code.co_consts).encode())
        obj = [c.cell_contents for c in obj.__closure__ or ()] + list(getattr(obj, "__defaults__", None) or ())
    try:
        h.update(pickle.dumps(obj, protocol=4))
    except Exception as exc:  # noqa: BLE001 - any pickling failure means: no stable identity
        raise AttributeError(f"{type(obj).__name__} has no stable identity to fingerprint ({exc})") from None
    return h.hexdigest()[:32]


def module_identity(model) -> dict:
    """What identifies a torch module without hashing every weight: its class, source path, parameter
    count and dtype, and a digest of the first 1,024 values of every parameter tensor."""
    h = hashlib.sha256()
    count = 0
    for name, p in model.named_parameters():
        count += p.numel()
        h.update(name.encode() + str(tuple(p.shape)).encode())
        h.update(p.detach().flatten()[:1024].float().cpu().numpy().tobytes())
    config = getattr(model, "config", None)
    return {
        "class": type(model).__name__,
        "path": getattr(config, "_name_or_path", None),
        "parameters": count,
        "dtype": str(next(model.parameters()).dtype) if count else None,
        "weights": h.hexdigest()[:32],
    }
