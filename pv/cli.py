"""The `pv` command line: parses and dispatches only; every subcommand lives in pv/commands/.

Errors: a pv.errors.PvError becomes `pv: error: <message>` on stderr and its exit code; anything
unexpected becomes a short "internal error, please report" line and exit 2 (`--debug` re-raises).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys

import click

from pv import __version__
from pv.errors import PvError

INTERNAL_ERROR_EXIT = 2

# ---- Subcommands: name -> "module:attribute". To add one, add ONE line here. ---------------------
# Imported lazily, only when invoked (or for --help), so `pv validate` never pays for torch or
# hypothesis imported by other commands.
COMMANDS: dict[str, str] = {
    "validate": "pv.commands.validate:validate",
    "schema": "pv.commands.schema:schema",
    "rules": "pv.commands.rules:rules",
    "explain": "pv.commands.explain:explain",
    "new": "pv.commands.new:new",
    "trace": "pv.commands.trace:trace",
    "hunt": "pv.commands.hunt:hunt",
    "diff": "pv.commands.diff:diff",
    "migrate": "pv.commands.migrate:migrate",
    "generate": "pv.commands.generate:generate",
    "gate": "pv.commands.gate:gate",
    "kinds": "pv.commands.kinds:kinds",
}
# ---- end of subcommands ---------------------------------------------------------------------------


class PvGroup(click.Group):
    """Loads subcommands from COMMANDS on demand, and turns pv's own errors into messages and exit
    codes, never tracebacks."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return super().get_command(ctx, name)
        module, _, attr = spec.partition(":")
        return getattr(importlib.import_module(module), attr)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        bad = next((a for a in args if "\0" in a), None)
        if bad is not None:  # no path, id or value can hold one; the OS would raise ValueError later
            raise click.UsageError(f"argument {bad!r} contains a NUL byte", ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # `pv … | head`: the reader left; main() exits quietly
            raise
        except PvError as exc:
            click.echo(f"pv: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # a path the user named that the OS refuses: an I/O error, exit 2
            if _debug(ctx):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"pv: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(2)
        except Exception as exc:
            if _debug(ctx):
                raise
            click.echo(_internal_error(exc), err=True)
            ctx.exit(INTERNAL_ERROR_EXIT)


def _debug(ctx: click.Context) -> bool:
    return bool((ctx.obj or {}).get("debug")) or os.environ.get("PV_DEBUG") == "1"


def _internal_error(exc: BaseException) -> str:
    return (
        f"pv: internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in pv, please report it with the command you ran; "
        "rerun with `pv --debug …` for the traceback."
    )


@click.group(cls=PvGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="pv")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors (or set PV_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """pv: executable contracts for LLM pretraining stacks.

    Exit codes: 0 ok, 1 findings / failed check, 2 usage or I/O error.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _tolerant_streams()


def _tolerant_streams() -> None:
    """Paths from the file system may hold bytes that are not UTF-8 (surrogate escapes): print them
    escaped (`\\udcff`) instead of dying on the first one."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a detached or closed stream stays as it is
                reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        cli.main(args=args, prog_name="pv")
    except BrokenPipeError:
        # Python's recommended handling: silence the flush at exit, report the cut-off as exit 1.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # outside a subcommand, e.g. while building --help
        if "--debug" in args or os.environ.get("PV_DEBUG") == "1":
            raise
        click.echo(_internal_error(exc), err=True)
        sys.exit(INTERNAL_ERROR_EXIT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
