"""The ``learnpath`` dispatcher: help, usage errors, and lazy subcommand imports."""

import subprocess
import sys

from learnpath import cli
from learnpath.exits import ExitCode


def test_help_lists_every_subcommand(capsys):
    assert cli.run(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_no_subcommand_is_a_usage_error(capsys):
    assert cli.run([]) == ExitCode.USAGE
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_subcommand_is_a_usage_error_without_traceback(capsys):
    assert cli.run(["frobnicate"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_subcommand_help_shows_its_own_options(capsys):
    assert cli.run(["check-links", "--help"]) == 0
    assert "--per-host" in capsys.readouterr().out


def test_validate_does_not_import_the_link_checker(tmp_path):
    # Start-up cost: a validate run must not pay for requests and the fetch engine.
    code = (
        "import sys; from learnpath import cli; cli.run(['validate', '--help']);"
        "print(sorted(m for m in sys.modules if m.startswith('learnpath.linkcheck') or m == 'requests'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
