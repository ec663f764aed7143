"""Segmenters: cut an input into the parts an explanation talks about."""

from .text import MASKINGS, UNITS, TextParts, from_documents, split_text

__all__ = ["MASKINGS", "UNITS", "TextParts", "from_documents", "split_text"]
