import pytest

from spectrex.cli import main


def test_demo_runs_and_prints_table(capsys):
    assert main(["demo", "--n", "8", "--k", "5"]) == 0
    out = capsys.readouterr().out
    assert "Top interactions" in out and "R²: 1.000" in out


def test_bad_input_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as info:  # refused while parsing the options, before any work
        main(["demo", "--n", "0"])
    assert info.value.code == 2 and "error: argument --n: must be at least 1" in capsys.readouterr().err


def test_debug_shows_the_traceback(capsys):
    assert main(["demo", "--method", "magic"]) == 2
    assert "Traceback" not in capsys.readouterr().out
    assert main(["demo", "--method", "magic", "--debug"]) == 2
    out = capsys.readouterr().out
    assert "Traceback" in out and out.count("error:") == 1
