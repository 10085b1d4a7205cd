"""`python app.py chat`: talk to the real bot in the terminal, no Teams and no network.

The command line only: the console adapter and the chat itself are in bot/local_chat.py (botbuilder stays in bot/).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import TextIO

from bot.local_chat import PERSONAS, Leave, LocalChat
from cli.base import Invocation, Subcommands, add_command
from domain.people.roles import CHANNEL_ROLES, Role, parse_role
from wiring.services import build_services


def register(commands: Subcommands) -> None:
    """Add the chat command."""
    parser = add_command(commands, "chat", run_chat, "talk to the bot in the terminal (no Teams needed)",
                         "Talk to ThinkFirst in the terminal: the real dialogs, commands and records, no Teams and "
                         "no network. Cards are drawn as text; type a button's number to press it.",
                         "examples:\n  python app.py chat            as a member of staff\n"
                         "  python app.py chat --as dsl   as the Designated Safeguarding Lead, to handle a report")
    parser.add_argument("--as", dest="role", default="staff", choices=list(PERSONAS),
                        help="who you are: a member of staff (default) or a lead; each is a person of their own")
    parser.add_argument("--name", default=None, help="your name in the chat (default: the role's own person)")
    parser.add_argument("--data-dir", default=None, help="where to keep the chat's data (default: DATA_DIR)")


def run_chat(options: argparse.Namespace, run: Invocation) -> int:
    """The chat command."""
    settings, stdin, stdout = run.settings, run.stdin, run.stdout
    logging.getLogger().setLevel(logging.WARNING)  # the conversation is the output; keep log lines out of it
    if options.data_dir:
        settings = settings.with_overrides(data_dir=Path(options.data_dir))
    services = build_services(settings)
    try:
        # One event loop for the whole chat, run a turn at a time: typing is read outside it, so Ctrl-C and
        # Ctrl-D reach the chat at once rather than a loop blocked on the keyboard.
        with asyncio.Runner() as runner:
            chat = LocalChat(services, options.role, options.name, stdout)
            return _loop(chat, runner, stdin, stdout)
    finally:
        services.close()


def _loop(chat: LocalChat, runner: asyncio.Runner, stdin: TextIO, stdout: TextIO) -> int:
    def ask(prompt: str) -> str:
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise Leave
        return line.rstrip("\n")

    channels = ", ".join(f"#{r}" for r in CHANNEL_ROLES)
    others = ", ".join(f"#{r}" for r in CHANNEL_ROLES if r != Role.DSL)
    stdout.write(f"ThinkFirst local chat as {chat.name}.\nType a message, or a button's number to press it. "
                 f"'#dsl' shows the DSL's channel and '#dsl cases' speaks there (also {others}). "
                 "quit, Ctrl-D or Ctrl-C leaves.\n")
    try:
        runner.run(chat.start())
        while True:
            text = ask("\nyou> ").strip()
            if not text:
                continue
            if text.lower() in ("quit", "exit", "/quit", "bye now"):
                break
            if text.isdigit():
                button = chat.button(int(text))
                if button is None:
                    continue
                if button.kind == "Action.ShowCard":
                    chat.open_form(button)
                    continue
                values = chat.fill_in(button, ask)
                if values is not None:
                    runner.run(chat.press(button, values))
            elif text.startswith("#"):
                role_name, _, said = text[1:].partition(" ")
                role = parse_role(role_name)
                binding = chat.services.directory.channel_for(chat.services.directory.default_school.id, role) \
                    if role in CHANNEL_ROLES else None
                if binding is None:
                    stdout.write(f"No such lead channel. Try {channels}.\n")
                elif said.strip():
                    runner.run(chat.say(said.strip(), binding.conversation_id))
                else:
                    chat.buttons = []
                    runner.run(chat.show_channel(binding.conversation_id))
            else:
                runner.run(chat.say(text))
    except (KeyboardInterrupt, EOFError, Leave):
        pass  # leaving is not an error: no traceback, whatever was saved stays saved
    stdout.write("\nBye.\n")
    return 0
