"""`pv new ID --kind KIND`: write a starter contract that validates as is (one documented warning)."""

from __future__ import annotations

import datetime
import os
import re
import string
import sys
from importlib import resources
from pathlib import Path

import click

from pv.commands._common import atomic_write_text
from pv.errors import UsageError

# Matched with re.fullmatch: `$` would accept a trailing newline (`pv new $'C-X\n'` wrote a file whose
# name and header carried it).
CONTRACT_ID = re.compile(r"C-[A-Z0-9]+(-[A-Z0-9]+)*")
KIND = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MAX_ID = 100  # characters: the id names the file (file systems stop at 255 bytes) and every derived id


# Where `pv new` puts an editor's copy of the schema, next to the contracts, when pv is installed
# rather than checked out in the project. The schema's `$id` is a URN: no URL to fetch it from exists,
# and pointing editors at a domain this project does not control would let its owner serve them anything.
SCHEMA_COPY = Path(".schema") / "contract-v1.json"


def _schema_text() -> str:
    return resources.files("pv").joinpath("schema", "contract-v1.json").read_text(encoding="utf-8")


def _check_id(contract_id: str) -> str:
    if len(contract_id) > MAX_ID:
        raise UsageError(f"contract id is {len(contract_id)} characters long; keep it to {MAX_ID} or fewer.")
    if CONTRACT_ID.fullmatch(contract_id):
        return contract_id
    guess = "C-" + re.sub(r"[^A-Z0-9]+", "-", contract_id.upper().removeprefix("C-")).strip("-")
    hint = f" Did you mean {guess}?" if CONTRACT_ID.fullmatch(guess) else ""
    raise UsageError(
        f"contract id {contract_id!r} is not C-UPPER-KEBAB (C- then A-Z/0-9 words joined by -).{hint}"
    )


def _check_kind(kind: str) -> str:
    if len(kind) <= MAX_ID and KIND.fullmatch(kind):
        return kind
    raise UsageError(
        f"--kind {kind!r} is not lower-kebab (e.g. tokenizer, training-loop, model-family, data, tool)."
    )


def _installed(path: Path) -> bool:
    """`path` lies in an installation (a virtual environment, site-packages), not in a source tree."""
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    if any(part in ("site-packages", "dist-packages") for part in path.parts):
        return True
    return any(path.is_relative_to(p) for p in prefixes)


def schema_ref(dest: Path, root: Path) -> str | None:
    """A relative path from the new file to pv's schema when pv runs from a source checkout inside
    the project (this repository, a vendored pv); None when pv is installed, where the caller writes
    a copy next to the contract instead. A path into a virtual environment
    (`.venv/lib/python3.X/site-packages/...`) breaks on every other machine, so it is never written."""
    schema = resources.files("pv").joinpath("schema", "contract-v1.json")
    try:
        schema_path = Path(str(schema)).resolve()
        schema_path.relative_to(root.resolve())
        dest.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    if _installed(schema_path):
        return None
    return Path(os.path.relpath(schema_path, dest.resolve().parent)).as_posix()


def _schema_copy(contracts_dir: Path) -> None:
    """Write pv's schema to contracts_dir/.schema/ unless a copy is there."""
    copy = contracts_dir / SCHEMA_COPY
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(copy, _schema_text(), overwrite=False)
        click.echo(f"wrote {copy}: the schema for your editor (`pv schema -o {copy}` refreshes it)")


def render_starter(contract_id: str, kind: str, *, path: str, ref: str, date: str) -> str:
    template = resources.files("pv").joinpath("templates", "contract.yaml.tmpl").read_text(encoding="utf-8")
    slug = contract_id.removeprefix("C-")
    return string.Template(template).substitute(
        id=contract_id, kind=kind, slug=slug, path=path, schema_ref=ref, date=date
    )


@click.command("new")
@click.argument("contract_id", metavar="ID")
@click.option("--kind", required=True, help="What it covers, lower-kebab: tokenizer, training-loop, data, …")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Where to write it (default: <first [tool.pv].contracts dir>/<id>.yaml; '-' for stdout).",
)
def new(contract_id: str, kind: str, output: str | None) -> None:
    """Write a starter contract ID of kind KIND; never overwrites an existing file."""
    from pv.config import load_config

    contract_id, kind = _check_id(contract_id), _check_kind(kind)
    config = load_config()
    date = datetime.date.today().isoformat()
    if output == "-":
        ref = SCHEMA_COPY.as_posix()  # `pv schema -o <contracts dir>/.schema/contract-v1.json` writes it
        click.echo(render_starter(contract_id, kind, path="FILE", ref=ref, date=date), nl=False)
        return
    if output:
        dest = Path(output)
    else:
        base = config.path(config.contracts[0] if config.contracts else "contracts")
        dest = Path(os.path.relpath(base)) / f"{contract_id.removeprefix('C-').lower()}.yaml"
    if not dest.parent.exists() and not output:
        try:  # the default contracts dir may not exist in a new project
            dest.parent.mkdir(parents=True)
        except OSError as exc:
            why = exc.strerror or exc
            raise UsageError(f"{dest.parent}: cannot create it: {why}. Pass -o FILE.") from exc
    ref = schema_ref(dest, config.root)
    installed = ref is None
    text = render_starter(
        contract_id, kind, path=dest.as_posix(), ref=SCHEMA_COPY.as_posix() if installed else ref, date=date
    )
    atomic_write_text(dest, text, overwrite=False)
    if installed:  # only once the contract is written: a refused `pv new` writes nothing
        _schema_copy(dest.parent)
    click.echo(f"wrote {dest}: edit the TODOs, then run `pv validate {dest}`")
