"""`pv new ID --kind KIND`: write a starter contract that validates as is (one documented warning)."""

from __future__ import annotations

import datetime
import os
import re
import string
from importlib import resources
from pathlib import Path

import click

from pv.commands._common import atomic_write_text
from pv.errors import UsageError

CONTRACT_ID = re.compile(r"^C-[A-Z0-9]+(-[A-Z0-9]+)*$")
KIND = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Used in the yaml-language-server comment when the packaged schema is not inside the project.
SCHEMA_URL = "https://pv.dev/schema/contract-v1.json"


def _check_id(contract_id: str) -> str:
    if CONTRACT_ID.match(contract_id):
        return contract_id
    guess = "C-" + re.sub(r"[^A-Z0-9]+", "-", contract_id.upper().removeprefix("C-")).strip("-")
    hint = f" Did you mean {guess}?" if CONTRACT_ID.match(guess) else ""
    raise UsageError(
        f"contract id {contract_id!r} is not C-UPPER-KEBAB (C- then A-Z/0-9 words joined by -).{hint}"
    )


def _check_kind(kind: str) -> str:
    if KIND.match(kind):
        return kind
    raise UsageError(
        f"--kind {kind!r} is not lower-kebab (e.g. tokenizer, training-loop, model-family, data, tool)."
    )


def schema_ref(dest: Path, root: Path) -> str:
    """A relative path from the new file to the packaged schema when both live inside the project
    (a checkout of pv or an editable install); else the schema's $id URL."""
    schema = resources.files("pv").joinpath("schema", "contract-v1.json")
    try:
        schema_path = Path(str(schema)).resolve()
        schema_path.relative_to(root.resolve())
        dest.resolve().relative_to(root.resolve())
    except ValueError:
        return SCHEMA_URL
    return Path(os.path.relpath(schema_path, dest.resolve().parent)).as_posix()


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
        ref = SCHEMA_URL
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
    text = render_starter(contract_id, kind, path=dest.as_posix(), ref=ref, date=date)
    atomic_write_text(dest, text, overwrite=False)
    click.echo(f"wrote {dest}: edit the TODOs, then run `pv validate {dest}`")
