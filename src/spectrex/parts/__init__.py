"""Segmenters: split an input into the parts that masks keep or remove."""
