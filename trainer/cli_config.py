"""`trainer pretrain --config FILE`: option values from a TOML file or a run's own config.json.

A CLI helper (it knows click's options): the file's keys are the option names (`num_steps` or
`num-steps`); each value is checked by the same click type as the flag, so `num_steps = 0` in a file is
refused like `--num-steps 0`. Flags given on the command line override the file; the file overrides the
options' defaults. A JSON `null` (config.json's `"patience": null`) means "the default".
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import click

# Options that configure this invocation, not the run: never read from a file.
NOT_IN_FILE = frozenset({"config_file", "as_json"})


def read_config_file(path: str) -> dict[str, Any]:
    """The file's top-level table. TOML unless the name ends in .json. Errors name file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: cannot read: {exc}", param_hint="'--config'") from exc
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}",
                                 param_hint="'--config'") from exc  # fmt: skip
    except tomllib.TOMLDecodeError as exc:  # its message carries "(at line N, column M)"
        raise click.BadParameter(f"{path}: not valid TOML: {exc}", param_hint="'--config'") from exc
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: must hold a table of options, not a {type(data).__name__}",
                                 param_hint="'--config'")  # fmt: skip
    return data


def _check_type(param: click.Option, value: Any) -> str | None:
    """What is wrong with this value's JSON/TOML type for the option, or None. Strict: no '12' for 12."""
    if isinstance(param, click.Option) and param.is_flag:
        return None if isinstance(value, bool) else "must be true or false"
    kind = param.type
    if isinstance(kind, click.types.IntParamType):  # INT and IntRange
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
    if isinstance(kind, click.types.FloatParamType):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "must be a number"
    return None if isinstance(value, str) else "must be a string"


def merge_config_file(
    path: str, command: click.Command, params: dict[str, Any], explicit: Collection[str]
) -> dict[str, Any]:
    """params with the file's values in place of every option not given explicitly on the command line."""
    options = {p.name: p for p in command.params if p.name and p.name not in NOT_IN_FILE}
    merged = dict(params)
    ctx = click.get_current_context(silent=True) or click.Context(command)
    for raw_key, value in read_config_file(path).items():
        key = str(raw_key).replace("-", "_")
        param = options.get(key)
        if param is None:
            close = difflib.get_close_matches(key, options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(options))}"
            raise click.BadParameter(f"{path}: unknown key {raw_key!r}{hint}", param_hint="'--config'")
        if value is None or key in explicit:
            continue
        problem = _check_type(param, value)
        if problem is None:
            try:
                value = param.type.convert(value, param, ctx)  # ranges and choices, as for the flag
            except click.BadParameter as exc:
                problem = exc.message
        if problem is not None:
            message = f"{path}: key {raw_key!r} = {value!r}: {problem}"
            raise click.BadParameter(message, param_hint="'--config'")
        merged[key] = value
    return merged
