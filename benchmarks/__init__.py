"""spectrex benchmarks: ``python -m benchmarks NAME [NAME …] | all [--quick]``.

Each benchmark is a module here with ``run(quick: bool, out: pathlib.Path) -> None`` that writes
``out/NAME.csv`` and ``out/NAME.md`` (and a plot where it helps). Speed is always a ratio against a
reference measured in the same run; the machine is recorded in every table.
"""
