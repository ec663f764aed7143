"""Value functions: models wrapped as ``masks -> values`` callables."""
