"""`python app.py`: one argparse tree. Every command has a working --help, the top-level help lists every command on
a line of its own, and bad arguments exit 2 with one line that says where the help is."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser, main
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# Every command and subcommand, with options its --help must mention.
COMMANDS: dict[str, tuple[str, ...]] = {
    "serve": ("MicrosoftAppId", "local mode"),
    "chat": ("--as", "--name", "--data-dir", "dsl"),
    "check": ("question", "--json", "standard input"),
    "manifest": ("--app-id", "--out", "--teams-app-id", "--version", "--developer-name", "--website-url",
                 "--privacy-url", "--terms-url", "--valid-domain"),
    "campaign": ("export", "status"),
    "campaign export": ("--out", "--campaign"),
    "campaign status": ("--campaign", "--json"),
    "backup": ("--out", "FILE|FOLDER"),
    "restore": ("FILE", "--force"),
    "export-person": ("ID", "--out", "email"),
    "erase-person": ("ID", "--yes"),
    "case": ("export",),
    "case export": ("REF", "--out"),
    "summary": ("PERIOD", "--school", "--trust", "--out", "--card", "from DATE to DATE"),
    "policy-review": ("--school", "--card"),
    "migrate": ("DATABASE_URL", "safe"),
    "copy-store": ("--to", "--schema", "postgresql://"),
}


def run(*argv: str) -> tuple[int, str, str]:
    """main(argv) in this process: the exit code, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv), settings=Settings.from_mapping({"SCHEDULER": "off"}), stdin=io.StringIO(), stdout=out)
    return code, out.getvalue(), err.getvalue()


def test_every_command_is_in_the_tree_and_tested_here() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert commands is not None
    assert set(commands) == {name for name in COMMANDS if " " not in name}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_works_for_every_command(command: str) -> None:
    code, out, err = run(*command.split(), "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: python app.py {command} ")
    for option in COMMANDS[command]:
        assert option in out, (command, option)


def test_the_top_level_help_lists_every_command_on_a_line_of_its_own() -> None:
    for flag in ("--help", "-h"):
        code, out, _ = run(flag)
        assert code == 0
        lines = out.splitlines()
        for name in (n for n in COMMANDS if " " not in n):
            line = next((line for line in lines if line.startswith(f"    {name} ")), None)
            assert line is not None and len(line.split(maxsplit=1)) == 2, (name, out)  # name and its summary
            assert len(line) <= 80


@pytest.mark.parametrize(("argv", "problem"), [
    (["launch"], "invalid choice: 'launch'"),
    (["campaign"], "required: ACTION"),
    (["campaign", "launch"], "invalid choice: 'launch'"),
    (["backup"], "required: --out"),
    (["restore"], "required: FILE"),
    (["case", "export", "VPS-2026-0001"], "required: --out"),
    (["summary", "--school", "Villiers", "--trust"], "not allowed with argument"),
    (["erase-person", "29:someone", "--yess"], "unrecognized arguments: --yess"),
    (["chat", "--as", "caretaker"], "invalid choice: 'caretaker'"),
    (["manifest"], "required: --app-id"),
    (["serve", "--port", "80"], "unrecognized arguments: --port 80"),
])
def test_bad_arguments_exit_2_with_one_clear_line(argv: list[str], problem: str, tmp_path: Path) -> None:
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and problem in err, err
    command = " ".join(["python app.py", *[a for a in argv[:2] if a in COMMANDS or " ".join(argv[:2]) in COMMANDS]])
    assert err.startswith(f"{command}: ") and err.rstrip().endswith(f"See: {command} --help"), err


def test_help_needs_no_settings_and_no_argument_still_serves(tmp_path: Path) -> None:
    """--help works even where the settings are wrong; with no command the bot starts (and here refuses the bad
    setting, as a start does)."""
    env = {"PATH": "/usr/bin:/bin", "MicrosoftAppId": "nope", "DATA_DIR": str(tmp_path)}
    helped = subprocess.run([sys.executable, str(ROOT / "app.py"), "backup", "--help"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60)
    assert helped.returncode == 0 and "--out" in helped.stdout
    served = subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60)
    assert served.returncode == 2 and "ThinkFirst cannot start: MicrosoftAppId" in served.stderr
