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


def test_every_subcommand_names_functions_that_exist():
    import importlib
    import inspect

    for name, command in cli.COMMANDS.items():
        module = importlib.import_module(command.module)
        assert callable(getattr(module, command.add_arguments)), name
        assert callable(getattr(module, command.run)), name
        # Findable with grep: cli.py spells out the module of every subcommand.
        assert f'"{command.module}"' in inspect.getsource(cli), name


def test_a_usage_error_inside_a_subcommand_exits_2_without_traceback(capsys, tmp_path):
    from tests.conftest import FIXTURES

    catalog = tmp_path / "resources.yaml"
    catalog.write_bytes((FIXTURES / "valid" / "small.yaml").read_bytes())
    assert cli.run(["add", "--file", str(catalog), "--stage", "x"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--stage, --why and --optional need --path" in err and "Traceback" not in err
