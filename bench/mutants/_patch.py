"""Resolve and replace the objects a monkeypatch mutant names (`module:attr.sub`); shared by the
catalogs, which import each other only one way (catalog.py adds the others' mutants)."""

from __future__ import annotations

import importlib


def obj(target: str):
    module, _, attr = target.partition(":")
    found = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        found = getattr(found, part)
    return found


def set_attr(target: str, value) -> None:
    module, _, attr = target.partition(":")
    owner = obj(f"{module}:{attr.rpartition('.')[0]}") if "." in attr else importlib.import_module(module)
    setattr(owner, attr.rpartition(".")[2], value)
