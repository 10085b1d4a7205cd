"""The Playground harness's echo bot is the one in bench/echo_bot.py (also the load bench's baseline)."""

from bench.echo_bot import COUNTER_VERB, EchoBot, counter_card, create_echo_app, start_echo_bot

__all__ = ["COUNTER_VERB", "EchoBot", "counter_card", "create_echo_app", "start_echo_bot"]
