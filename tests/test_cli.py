import pytest

from spectrex.cli import main


def test_demo_runs_and_prints_table(capsys):
    assert main(["demo", "--n", "8", "--k", "5"]) == 0
    out = capsys.readouterr().out
    # Exact at n = 8: every mask was queried, so no held-out R² is claimed
    assert "Parts · SV" in out and "Pairs · SII" in out and "exact, no fit to check" in out and "R²" not in out
    assert main(["demo", "--n", "12", "--k", "5", "--method", "proxyspex", "--index", "Moebius"]) == 0
    out = capsys.readouterr().out
    assert "held-out R² 1.000" in out and "Top interactions · Moebius" in out


def test_bad_input_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as info:  # refused while parsing the options, before any work
        main(["demo", "--n", "0"])
    assert info.value.code == 2 and "error: argument --n: must be at least 1" in capsys.readouterr().err


def test_debug_shows_the_traceback(capsys):
    assert main(["demo", "--method", "magic"]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "error: unknown method 'magic'" in err and "error:" not in out  # on stderr: `> file` still shows it
    assert main(["demo", "--method", "magic", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.count("error:") == 1


def test_demo_says_whether_the_planted_function_was_recovered(capsys):
    assert main(["demo", "--quiet"]) == 0
    assert "recovered: all 8 planted interactions" in capsys.readouterr().out
    assert main(["demo", "--n", "20", "--method", "proxyspex", "--budget", "100", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "not recovered:" in out and "raise --budget" in out
