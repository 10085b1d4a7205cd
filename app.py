"""ThinkFirst: a Microsoft Teams bot that puts a school's social media policy to work.

python app.py             start the bot (POST /api/messages, GET /healthz)
python app.py --help      the other commands: chat, check, manifest, campaign, backup, restore, ... (cli/)
"""

from __future__ import annotations

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
