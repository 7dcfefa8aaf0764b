"""The entry points' guard: an expected failure is one line and exit code 2, Ctrl-C is 130."""

import pytest

from mnist_ae import errors


def fail(exc):
    def body():
        raise exc
    return body


def test_an_expected_failure_is_one_line_on_stderr_and_exit_code_2(capsys):
    assert errors.guard("exercise_1", fail(ValueError("--epochs must be a positive integer, got 0"))) == 2
    captured = capsys.readouterr()
    assert captured.err == "exercise_1: error: --epochs must be a positive integer, got 0\n" and captured.out == ""


def test_ctrl_c_and_an_interrupted_training_say_how_to_go_on_with_exit_code_130(capsys):
    assert errors.guard("vae", fail(KeyboardInterrupt())) == errors.EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "vae: interrupted; rerun the same command to go on (finished work is kept)\n"
    assert errors.guard("vae", fail(errors.Interrupted("interrupted after epoch 2 of 4"))) == 130
    assert capsys.readouterr().err == "vae: interrupted after epoch 2 of 4\n"


def test_success_is_0_and_a_bug_keeps_its_traceback(capsys):
    assert errors.guard("report", lambda: None) == 0 and capsys.readouterr().err == ""
    with pytest.raises(KeyError):  # not a failure a user can fix: it propagates
        errors.guard("report", fail(KeyError("missing")))
