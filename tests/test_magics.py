"""``%%bash_fails`` must prove a failure, never merely tolerate one."""

import pytest

from workshop.magics import FailureNotReproduced, bash_fails, run_expecting_failure


def test_passes_when_the_command_fails_with_the_expected_text(capsys):
    output = run_expecting_failure(
        "echo 'boom: port is already allocated' >&2; exit 3", "already allocated"
    )
    assert "already allocated" in output
    assert "[exit status 3]" in capsys.readouterr().out


def test_fails_when_the_command_succeeds():
    with pytest.raises(FailureNotReproduced, match="succeeded"):
        run_expecting_failure("echo all fine", "all fine")


def test_fails_when_the_error_text_differs():
    with pytest.raises(FailureNotReproduced, match="lacks"):
        run_expecting_failure("echo 'some other error' >&2; exit 1", "No such container")


def test_magic_line_takes_one_quoted_argument():
    bash_fails('"No such container"', "echo 'Error: No such container: x' >&2; exit 1")
    with pytest.raises(ValueError, match="usage"):
        bash_fails("two words", "exit 1")
