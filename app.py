"""ThinkFirst: a Microsoft Teams bot that puts a school's social media policy to work.

python app.py                       start the bot (POST /api/messages, GET /healthz)
python app.py chat [--as dsl]       talk to the bot in the terminal
python app.py check "can I ...?"    ask the policy from the command line (--json for scripts)
python app.py manifest --app-id ID  build the Teams app package
python app.py campaign export --out acks.csv
python app.py backup --out FILE|FOLDER | restore FILE
python app.py case export REF --out FILE.zip
python app.py summary [term|year|from DATE to DATE] [--trust] --out FILE.csv
python app.py policy-review
python app.py migrate                        bring the store's schema up to date (safe on every start)
python app.py copy-store --to postgresql://...   move DATA_DIR's records and evidence into PostgreSQL
"""

from __future__ import annotations

import logging
import sys

from settings import Settings, SettingsError


def serve(settings: Settings) -> int:
    """Start the web server."""
    from aiohttp import web

    from bot.web import create_app

    log = logging.getLogger("thinkfirst")
    if settings.local_mode:
        log.warning("Local mode: no MicrosoftAppId is set, so requests are not authenticated. Listening on "
                    "%s:%s only. Set MicrosoftAppId and MicrosoftAppPassword to serve Teams.",
                    settings.bind_host, settings.port)
    else:
        log.info("Serving Teams on %s:%s (app id %s).", settings.bind_host, settings.port, settings.app_id)
    web.run_app(create_app(settings), host=settings.bind_host, port=settings.port, print=None)
    return 0


def main(argv: list[str]) -> int:
    """Run the command named in argv (default: serve)."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"ThinkFirst cannot start: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))  # one line a job run
    command, args = (argv[0], argv[1:]) if argv else ("serve", [])
    try:
        if command == "serve":
            return serve(settings)
        if command == "chat":
            from cli.chat import run_chat

            return run_chat(args, settings)
        if command == "check":
            from cli.check import run_check

            return run_check(args, policy_path=settings.policy_path, rules_path=settings.rules_path,
                             stdin=sys.stdin, stdout=sys.stdout, names=(settings.school_name, settings.trust_name))
        if command == "manifest":
            from cli.manifest import run_manifest

            return run_manifest(args, sys.stdout)
        if command in ("campaign", "backup", "restore", "export-person", "erase-person", "case", "summary",
                       "policy-review"):
            from cli.admin import run_admin

            return run_admin(command, args, settings, sys.stdout)
        if command in ("migrate", "copy-store"):
            from cli.database import run_database

            return run_database(command, args, settings, sys.stdout)
        if command in ("-h", "--help", "help"):
            print(__doc__)
            return 0
    except SettingsError as error:
        print(f"ThinkFirst: {error}", file=sys.stderr)
        return 2
    print(f"Unknown command {command!r}.\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
