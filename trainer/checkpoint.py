"""Per-epoch checkpoints: model and optimizer as safetensors, metadata (with resume state) as JSON.

Layout under {run_dir}/ckpt/:
  epoch-{N:03d}.safetensors        model weights (tied embedding stored once)
  epoch-{N:03d}.optim.safetensors  optimizer tensors; param_groups and scalars in the header metadata
  epoch-{N:03d}.metadata.json      metrics, sha256 of both files, stream + RNG state; written LAST
No pickle anywhere. A checkpoint without metadata is incomplete (the run died while saving) and is
ignored on resume; a checkpoint whose files do not match their recorded sha256 is a DataError.

The metadata file carries `metadata_sha256`, the sha256 of the canonical JSON of all its other fields,
and `verify_metadata` checks it and every field --resume relies on: an edited step, tokens_seen or
val_loss, a file name pointing elsewhere, a shortened RNG state are refused, never trusted. The checksum
guards against accidents and careless edits (integrity), not against someone who recomputes it
(authenticity): there is no secret key.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, load_model, save_file, save_model

from trainer.errors import DataError, io_error
from trainer.runlog import atomic_write_json, publishable, temp_path

CKPT_DIR = "ckpt"
OPTIM_FORMAT = "trainer-optim-v1"
CHECKSUM_FIELD = "metadata_sha256"
_META_RE = re.compile(r"^epoch-(\d{3,})\.metadata\.json$")
_FIX_EPOCH = "delete this epoch's three checkpoint files to resume from the previous epoch"

# Fields every metadata file carries (qa checks them).
METADATA_FIELDS = (
    "epoch",
    "step",
    "train_loss",
    "val_loss",
    "train_ppl",
    "val_ppl",
    "optimizer_state_sha",
    "model_sha256",
    "wall_seconds",
    "tokens_seen",
    "grad_norm_max",
)


def ckpt_paths(run_dir: Path, epoch: int) -> tuple[Path, Path, Path]:
    base = Path(run_dir) / CKPT_DIR / f"epoch-{epoch:03d}"
    return (
        base.with_name(base.name + ".safetensors"),
        base.with_name(base.name + ".optim.safetensors"),
        base.with_name(base.name + ".metadata.json"),
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def optimizer_state_sha(path: Path) -> str:
    """sha256 of the saved optimizer file's bytes (what metadata records and qa recomputes)."""
    return sha256_file(Path(path))


def flatten_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split an optimizer state_dict into named tensors and a JSON header (no pickle)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in state["state"].items():
        for name, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{name}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = value
    # ONE header key: safetensors serialises its metadata map in hash order, so several keys would make
    # the file bytes (and optimizer_state_sha) differ between identical runs.
    header = {
        "trainer": json.dumps(
            {"format": OPTIM_FORMAT, "param_groups": state["param_groups"], "scalars": scalars},
            sort_keys=True,
        )
    }
    return tensors, header


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], header: dict[str, str]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    doc = json.loads(header["trainer"])
    if doc.get("format") != OPTIM_FORMAT:
        raise DataError(f"optimizer file format is {doc.get('format')!r}, expected {OPTIM_FORMAT}")
    for idx, per_param in doc["scalars"].items():
        state.setdefault(int(idx), {}).update(per_param)
    # JSON has no tuples; torch keeps betas as a tuple, and a list would change the next save's bytes.
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in doc["param_groups"]]  # fmt: skip
    return {"state": state, "param_groups": groups}


def metadata_checksum(meta: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace) of every field but the checksum."""
    body = {k: v for k, v in meta.items() if k != CHECKSUM_FIELD}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _publish_tensors(write, path: Path) -> None:
    """`write(tmp)` a safetensors file to a temp name, then rename it over `path`; a disk error names path."""
    tmp = temp_path(path)
    try:
        write(str(tmp))
        publishable(tmp)  # safetensors re-creates the file 0600
        os.replace(tmp, path)
    except OSError as exc:
        raise io_error(exc, "cannot write the checkpoint", path) from exc
    except SafetensorError as exc:  # the Rust writer wraps the OS error in its own text
        full = "os error 28" in str(exc) or "No space left" in str(exc)
        cause = OSError(errno.ENOSPC if full else 0, str(exc))
        raise io_error(cause, "cannot write the checkpoint", path) from exc
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(
    run_dir: Path, epoch: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, meta: dict[str, Any]
) -> Path:
    """Write model, optimizer, then metadata (last), each atomically. Returns the metadata path.

    On any error no temp file remains and neither do this epoch's model and optimizer files: without
    their metadata they are not a checkpoint (resume ignores them), only used disk space.
    """
    model_path, optim_path, meta_path = ckpt_paths(Path(run_dir), epoch)
    try:
        # save_model drops the tied duplicate, keeps one name per storage
        _publish_tensors(lambda tmp: save_model(model, tmp), model_path)
        tensors, header = flatten_optimizer_state(optimizer.state_dict())
        _publish_tensors(lambda tmp: save_file(tensors, tmp, metadata=header), optim_path)
        full = dict(meta)
        full.update(
            epoch=epoch,
            model_file=model_path.name,
            optimizer_file=optim_path.name,
            model_sha256=sha256_file(model_path),
            optimizer_state_sha=optimizer_state_sha(optim_path),
        )
        full[CHECKSUM_FIELD] = metadata_checksum(full)
        atomic_write_json(meta_path, full)
    except BaseException:
        if not meta_path.exists():
            model_path.unlink(missing_ok=True)
            optim_path.unlink(missing_ok=True)
        raise
    return meta_path


def read_metadata(meta_path: Path) -> dict[str, Any]:
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read checkpoint metadata: {exc.strerror}", path=str(meta_path)) from exc
    except json.JSONDecodeError as exc:
        raise DataError(
            f"checkpoint metadata is not valid JSON (line {exc.lineno}: {exc.msg}); the file is corrupt or "
            f"truncated. Delete it to resume from the previous epoch.",
            path=str(meta_path),
        ) from exc
    if not isinstance(data, dict):
        raise DataError("checkpoint metadata must be a JSON object", path=str(meta_path))
    return data


def _need(ok: bool, what: str, meta_path: Path, fix: str = _FIX_EPOCH) -> None:
    if not ok:
        raise DataError(f"checkpoint metadata: {what}; {fix}", path=str(meta_path))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def verify_metadata(meta: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    """Refuse metadata that was edited (checksum) or cannot be what save_checkpoint wrote; returns it."""
    meta_path = Path(meta_path)
    recorded = meta.get(CHECKSUM_FIELD)
    _need(
        isinstance(recorded, str),
        f"no {CHECKSUM_FIELD}, so its values cannot be trusted (written by an older trainer, or edited)",
        meta_path,
    )
    try:
        actual = metadata_checksum(meta)
    except (TypeError, ValueError) as exc:  # NaN/Infinity, or a value JSON cannot hold
        raise DataError(f"checkpoint metadata: a value JSON cannot hold ({exc}); {_FIX_EPOCH}",
                        path=str(meta_path)) from exc  # fmt: skip
    _need(
        actual == recorded,
        f"the file was modified after it was written ({CHECKSUM_FIELD} records {str(recorded)[:12]}…, "
        f"its fields hash to {actual[:12]}…)",
        meta_path,
        fix="restore the original file, or " + _FIX_EPOCH,
    )
    named = _META_RE.match(meta_path.name)
    epoch = int(named.group(1)) if named else meta.get("epoch")
    _need(
        _is_int(epoch) and meta.get("epoch") == epoch,
        f"epoch is {meta.get('epoch')!r}, the file name says {epoch}",
        meta_path,
    )
    model_path, optim_path, _ = ckpt_paths(meta_path.parent.parent, epoch)
    for key, want in (("model_file", model_path.name), ("optimizer_file", optim_path.name)):
        got = meta.get(key)
        _need(got == want, f"{key} must be {want!r} (the file beside it), got {got!r}", meta_path)
    for key in ("model_sha256", "optimizer_state_sha"):
        got = meta.get(key)
        _need(isinstance(got, str) and len(got) == 64, f"{key} must be a sha256 hex digest", meta_path)
    return meta


def check_resume_fields(meta: dict[str, Any], meta_path: Path, fields: tuple[str, ...]) -> None:
    """The counters and losses --resume continues from: integers >= 0 and finite numbers."""
    for key in fields:
        got = meta.get(key)
        if key in ("step", "tokens_seen"):
            _need(_is_int(got) and got >= 0, f"{key} must be an integer >= 0, got {got!r}", Path(meta_path))
        else:
            _need(_is_number(got), f"{key} must be a finite number, got {got!r}", Path(meta_path))


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, metadata path) for every checkpoint whose metadata exists, by epoch."""
    ckpt = Path(run_dir) / CKPT_DIR
    if not ckpt.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt.iterdir() if (m := _META_RE.match(p.name))]
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def _verify(path: Path, expected_sha: str | None, what: str) -> None:
    if not path.is_file():
        raise DataError(f"{what} file is missing (its metadata exists)", path=str(path))
    if expected_sha is not None and sha256_file(path) != expected_sha:
        raise DataError(
            f"{what} file does not match the sha256 recorded in its metadata: truncated or modified. "
            f"Delete this epoch's checkpoint files to resume from the previous one.",
            path=str(path),
        )


def load_checkpoint(
    meta_path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Verify and load one checkpoint into `model` (and `optimizer`); returns its metadata."""
    meta_path = Path(meta_path)
    meta = verify_metadata(read_metadata(meta_path), meta_path)
    model_path = meta_path.with_name(meta["model_file"])
    optim_path = meta_path.with_name(meta["optimizer_file"])
    _verify(model_path, meta.get("model_sha256"), "model checkpoint")
    try:
        missing, unexpected = load_model(model, str(model_path), strict=False, device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise DataError(f"cannot load model checkpoint: {exc}", path=str(model_path)) from exc
    if missing or unexpected:
        raise DataError(
            f"model checkpoint does not fit this model (missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(unexpected)[:3]}); was it saved with another --model/--vocab-size?",
            path=str(model_path),
        )
    if optimizer is not None:
        _verify(optim_path, meta.get("optimizer_state_sha"), "optimizer checkpoint")
        try:
            tensors = load_file(str(optim_path))
            with safe_open(str(optim_path), framework="pt") as fh:
                header = fh.metadata() or {}
            optimizer.load_state_dict(unflatten_optimizer_state(tensors, header))
        except DataError as exc:
            raise DataError(str(exc), path=str(optim_path)) from exc
        except (SafetensorError, OSError, RuntimeError, ValueError, KeyError) as exc:
            raise DataError(f"cannot load optimizer checkpoint: {exc}", path=str(optim_path)) from exc
    return meta
