"""One module per `pv` subcommand; each exports a click command that pv/cli.py registers."""
