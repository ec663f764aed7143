from spectrex.cli import main


def test_demo_runs_and_prints_table(capsys):
    assert main(["demo", "--n", "8", "--k", "5"]) == 0
    out = capsys.readouterr().out
    assert "Top interactions" in out and "R²: 1.000" in out


def test_bad_input_is_a_clear_error(capsys):
    assert main(["demo", "--n", "0"]) == 2
    assert "error" in capsys.readouterr().out
