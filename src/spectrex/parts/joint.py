"""Parts of several kinds in one mask: image patches and words (or sentences, documents) explained together.

A :class:`JointParts` concatenates named groups of parts — an :class:`~spectrex.parts.image.ImageParts`,
a :class:`~spectrex.parts.text.TextParts`, … — into one mask of ``n = Σ nᵢ`` columns, in the order the
groups were given. :meth:`split` cuts a mask back into each group's columns, so every masked input is
composed from each group's kept parts by that group's own rules (a removed patch is filled, a removed
word is dropped). Labels say the modality: ``patch r2c3``, ``word 'red'``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..contract import check_masks

#: the label prefix of a part of each kind of group
KINDS = {"grid": "patch", "superpixels": "segment", "words": "word", "tokens": "token", "sentences": "sentence"}


def _kind(group) -> str:
    return KINDS.get(getattr(group, "kind", None) or getattr(group, "unit", None), "part")


class JointParts:
    """Named groups of parts, concatenated into one mask.

    Parameters
    ----------
    groups : mapping name → parts
        Each value has ``n`` and ``labels`` (``ImageParts``, ``TextParts``, …). At least one group;
        every group needs at least one part.

    Attributes
    ----------
    n : int
        Total number of parts.
    labels : list of str
        ``"patch r0c1"``, ``"word 'red'"``, … (the group's kind, then its own label).
    slices : dict name → slice
        The columns of each group in a joint mask.
    """

    def __init__(self, groups: Mapping[str, object]) -> None:
        if not groups:
            raise ValueError("JointParts needs at least one group of parts, e.g. {'image': ImageParts(...)}")
        self.groups = dict(groups)
        self.slices: dict[str, slice] = {}
        self.labels: list[str] = []
        self.modality: list[str] = []
        start = 0
        for name, group in self.groups.items():
            size = int(getattr(group, "n", 0))
            if size < 1:
                raise ValueError(f"group {name!r} has no parts; give it at least one part or leave it out")
            self.slices[name] = slice(start, start + size)
            kind = _kind(group)
            for label in group.labels:
                self.labels.append(f"{kind} {label}" if kind in ("patch", "segment") else f"{kind} {label!r}")
                self.modality.append(name)
            start += size
        self.n = start

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {s.stop - s.start}" for k, s in self.slices.items())
        return f"JointParts({inner})"

    def split(self, masks) -> dict[str, np.ndarray]:
        """Each group's columns of ``masks`` ``(q, n)``: ``{name: (q, n_name) bool}``."""
        masks = check_masks(masks, self.n)
        return {name: masks[:, s] for name, s in self.slices.items()}

    def compose(self, masks, masking: str = "remove") -> dict[str, object]:
        """Each group's masked input, by that group's own rules: ``{name: images (q, H, W, 3) or texts}``."""
        split = self.split(masks)
        return {
            name: group.compose(split[name]) if hasattr(group, "compose") else group.render_many(split[name], masking)
            for name, group in self.groups.items()
        }

    def indices(self, name: str) -> np.ndarray:
        """The joint column indices of group ``name``."""
        s = self.slices[name]
        return np.arange(s.start, s.stop)

    def spans(self, parts) -> set[str]:
        """The groups that an interaction's parts (joint indices) come from."""
        return {self.modality[int(i)] for i in parts}
