"""What every command is given, and the parser that every level of the command tree uses."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from settings import Settings

USAGE_ERROR = 2  # argparse's own exit code for bad arguments; the commands use it for "nothing to work on" too


@dataclass(frozen=True)
class Invocation:
    """One run of a command: the settings it works with and the terminal it talks to."""

    settings: Settings
    stdin: TextIO
    stdout: TextIO


Handler = Callable[[argparse.Namespace, Invocation], int]
Subcommands = argparse._SubParsersAction  # what add_subparsers() returns: modules add their commands to it


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped line by line, examples (indented lines) kept as written, and one line for each command
    in a list of commands."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(line if line.startswith(" ") else textwrap.fill(line, width, initial_indent=indent,
                                                                         subsequent_indent=indent)
                         for line in text.splitlines())

    def add_argument(self, action: argparse.Action) -> None:
        """Measure a list of commands with the indent it is printed with (argparse leaves it out, so long names
        pushed their help onto a second line)."""
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS and isinstance(action, argparse._SubParsersAction):
            longest = max((len(name) for name in action.choices), default=0)
            self._action_max_length = max(self._action_max_length, longest + self._current_indent + 2 * 2)


class Parser(argparse.ArgumentParser):
    """argparse with bad arguments told in one line that says where the help is (still exit code 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """Parse, and blame arguments nobody took on the command they were given to (argparse blames the top)."""
        options, extras = self.parse_known_args(args, namespace)
        if extras:
            parser: Parser = getattr(options, "command_parser", self)
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return options

    def error(self, message: str) -> NoReturn:
        """Say what is wrong in one line and exit 2."""
        self.exit(USAGE_ERROR, f"{self.prog}: {message}. See: {self.prog} --help\n")


def add_command(commands: Subcommands, name: str, handler: Handler, summary: str, description: str = "",
                epilog: str = "") -> Parser:
    """Add one subcommand: `summary` is its line in the list of commands, `description` heads its own --help."""
    parser: Parser = commands.add_parser(name, help=summary, description=description or _sentence(summary),
                                         epilog=epilog or None)
    parser.set_defaults(run=handler, command_parser=parser)
    return parser


def add_commands(parser: argparse.ArgumentParser, title: str = "commands", metavar: str = "COMMAND") -> Subcommands:
    """Give a parser its own subcommands (one of them must be named)."""
    return parser.add_subparsers(title=title, metavar=metavar, required=True)


def fail(message: str, code: int) -> int:
    """Tell the person why the command could not run (standard error) and return the exit code."""
    print(message, file=sys.stderr)
    return code


def _sentence(summary: str) -> str:
    return summary[:1].upper() + summary[1:] + ("" if summary.endswith(".") else ".")
