"""The command line: `python app.py [COMMAND]`. Each module here registers its own subcommands on one argparse tree
(cli/main.py builds it); `python app.py --help` lists them and `python app.py COMMAND --help` explains each."""
