"""The command tree: `python app.py` serves the bot, `python app.py COMMAND` runs one of the commands below."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from cli import admin, chat, check, manifest, serve
from cli.base import Invocation, Parser, add_commands
from settings import Settings, SettingsError
from store.base import StoreError

# Each module adds its subcommands, in the order `python app.py --help` lists them.
COMMAND_MODULES = (serve, chat, check, manifest, admin)


def build_parser() -> Parser:
    """The whole command line, one subparser per command."""
    parser = Parser(prog="python app.py", description="ThinkFirst: the school's social media policy at work in "
                    "Microsoft Teams. With no command, it serves the bot.",
                    epilog="Settings come from environment variables or a .env file beside app.py (README: "
                    "Settings). Run python app.py COMMAND --help for a command's options.")
    commands = add_commands(parser)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None, stdin: TextIO | None = None,
         stdout: TextIO | None = None) -> int:
    """Run the command named in argv (none: serve) and return its exit code; settings default to the environment's."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    args = list(sys.argv[1:] if argv is None else argv) or ["serve"]
    try:
        with contextlib.redirect_stdout(stdout):  # --help goes where the caller's output goes
            options = build_parser().parse_args(args)
    except SystemExit as done:  # --help (0) or bad arguments (2): argparse has said what it had to
        return int(done.code or 0)
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError as error:
            print(f"ThinkFirst cannot start: {error}", file=sys.stderr)
            return 2
    configure_logging(settings)
    try:
        return int(options.run(options, Invocation(settings, stdin, stdout)))
    except SettingsError as error:
        print(f"ThinkFirst: {error}", file=sys.stderr)
        return 2
    except StoreError as error:  # the records cannot be opened or read now (for example, the bot holds them)
        print(f"ThinkFirst: {error}", file=sys.stderr)
        return 1


def configure_logging(settings: Settings) -> None:
    """Log lines at the configured level, with APScheduler kept to one line a job run."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))


