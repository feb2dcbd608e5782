"""`pv schema`: print (or write) the contract JSON Schema shipped inside the package."""

from __future__ import annotations

from importlib import resources

import click

from pv.commands._common import emit

SCHEMA_RESOURCE = ("schema", "contract-v1.json")


def schema_text() -> str:
    return resources.files("pv").joinpath(*SCHEMA_RESOURCE).read_text(encoding="utf-8")


@click.command("schema")
@click.option("-o", "--output", metavar="FILE", help="Write the schema to FILE (atomically), not stdout.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of contract format v1 (for editors and check-jsonschema)."""
    emit(schema_text(), output)
