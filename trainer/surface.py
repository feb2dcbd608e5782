"""trainer's run surface, as pv's generic run kinds see it (`pv.kinds._runs` documents the interface).

Everything here drives or reads the trainer the way a user does: `launch` runs the real click command
`trainer pretrain` in-process, and the readers open the files a run leaves (train.jsonl, ckpt/, the
dataset's shards) by their documented formats. The oracles live in the kinds, not here.

  launch(flags, run_dir) -> (exit_code, output)   the real CLI; flags use TrainConfig field names
  read_log(run_dir) -> [record]                   train.jsonl as canonical records (kind step/eval/…)
  read_checkpoints(run_dir) -> [checkpoint]       every complete checkpoint, optimizer state by name
  load_model(flags, state) -> nn.Module           ids (B, T) -> logits (B, T, V), weights from `state`
  heldout_tokens(flags) / train_tokens(flags)     a split's token ids, read from the raw shards
  batch_at(flags, step) -> (x, y)                 the batch the documented data order gives step `step`
  interrupt(run_dir, step)                        leave run_dir as a kill right after `step` would
  inputs(name)                                    the generated tiny inputs (trainer/smoke.py)
  EXIT_CODES                                      {status: exit code} of `trainer pretrain`
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from trainer.runlog import TRAIN_LOG
from trainer.smoke import inputs  # noqa: F401  (part of the surface)
from trainer.status import RunStatus

EXIT_CODES = {status.label: status.exit_code for status in RunStatus}
# train.jsonl field → canonical name (the rest keep their names). Step records have no "event".
_RENAME = {"wall_ms": "step_wall_ms"}
_KINDS = {None: "step", "epoch": "eval"}


def argv(flags: dict[str, Any]) -> list[str]:
    """TrainConfig-named flags → `trainer pretrain` argv: True is a bare flag, None/False are omitted."""
    out: list[str] = []
    for key, value in flags.items():
        if value is None or value is False:
            continue
        opt = "--" + key.replace("_", "-")
        out += [opt] if value is True else [opt, repr(value) if isinstance(value, float) else str(value)]
    return out


def launch(flags: dict[str, Any], run_dir: Path) -> tuple[int, str]:
    """`trainer pretrain <flags> --run-dir run_dir`, in this process, through click's test runner."""
    from click.testing import CliRunner

    from trainer.cli import main

    result = CliRunner().invoke(main, ["pretrain", *argv(flags), "--run-dir", str(run_dir)])
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        output += "".join(traceback.format_exception(result.exception))
    return result.exit_code, output


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / TRAIN_LOG
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        event = rec.pop("event", None)
        rec = {_RENAME.get(k, k): v for k, v in rec.items()}
        rec["kind"] = _KINDS.get(event, event)
        out.append(rec)
    return out


def _model_for(config: dict[str, Any], vocab: int, *, logits_only: bool = False):
    from trainer.model import Transformer, model_config

    cls = _logits_transformer() if logits_only else Transformer
    return cls(model_config(config.get("model") or "tiny", vocab, int(config.get("seq_length") or 128)))


@functools.cache
def _logits_transformer():
    """The trainer's Transformer returns (logits, loss); the surface's model maps ids to logits only.
    A subclass rather than a wrapper, so parameter names stay those of the checkpoint."""
    from trainer.model import Transformer

    class LogitsTransformer(Transformer):
        def forward(self, idx, targets=None):
            return super().forward(idx)[0]  # (B, T, V)

    return LogitsTransformer


def read_checkpoints(run_dir: Path) -> list[dict[str, Any]]:
    """[{"epoch", "step", "model": {name: tensor}, "optimizer": {"groups", "state"}, "metadata"}].

    Metadata is checksum-verified (a damaged file raises DataError) and returned without the checksum.

    The optimizer state is keyed by parameter name: the trainer's own optimizer is built for a model of
    the run's config, loaded from the file, and each of its parameters named through the model.
    """
    import torch
    from safetensors.torch import load_file

    from trainer import checkpoint
    from trainer.real import make_optimizer

    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    out = []
    for epoch, meta_path in checkpoint.list_checkpoints(run_dir):
        # The checksum is verified here and then dropped: it hashes wall-clock fields too, so two runs
        # equal in every measured value still differ in it.
        meta = checkpoint.verify_metadata(checkpoint.read_metadata(meta_path), meta_path)
        meta = {k: v for k, v in meta.items() if k != checkpoint.CHECKSUM_FIELD}
        weights = load_file(str(meta_path.with_name(meta["model_file"])))
        vocab = next(t.shape[0] for k, t in weights.items() if k in ("tok_emb.weight", "lm_head.weight"))
        model = _model_for(config, vocab)
        optimizer = make_optimizer(model, 1.0, 0.0, torch.device("cpu"))
        checkpoint.load_checkpoint(meta_path, model, optimizer)
        names = {id(p): n for n, p in model.named_parameters()}
        groups, state = [], {}
        for group in optimizer.param_groups:
            groups.append(
                {k: v for k, v in group.items() if k != "params"}
                | {"names": [names[id(p)] for p in group["params"]]}
            )
            for p in group["params"]:
                if p in optimizer.state:
                    state[names[id(p)]] = {
                        k: v.detach().clone() if isinstance(v, torch.Tensor) else v
                        for k, v in optimizer.state[p].items()
                    }
        out.append(
            {
                "epoch": epoch,
                "step": int(meta["step"]),
                "model": weights,
                "optimizer": {"groups": groups, "state": state},
                "metadata": meta,
            }
        )
    return out


def load_model(flags: dict[str, Any], state: dict[str, Any]):
    """The architecture `flags` name (preset, seq length), vocab from the state, weights from `state`."""
    vocab = next(t.shape[0] for k, t in state.items() if k in ("tok_emb.weight", "lm_head.weight"))
    model = _model_for(flags, vocab, logits_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = {"lm_head.weight", "tok_emb.weight"}
    if set(missing) - tied or unexpected:
        raise ValueError(f"state does not fit the model: missing {missing}, unexpected {unexpected}")
    return model


def _split(dataset: str, split: str):
    """A split's tokens from the raw shard bytes in manifest order (numpy, no trainer.data)."""
    import numpy as np
    import torch

    root = Path(dataset)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    dtype = np.dtype(manifest["dtype"]).newbyteorder("<")
    parts = [
        np.frombuffer((root / s["file"]).read_bytes(), dtype=dtype)
        for s in manifest["shards"]
        if s["split"] == split
    ]
    return torch.from_numpy(np.concatenate(parts).astype(np.int64))


def heldout_tokens(flags: dict[str, Any]):
    return _split(flags["dataset"], "val")


def train_tokens(flags: dict[str, Any]):
    return _split(flags["dataset"], "train")


@functools.lru_cache(maxsize=8)
def _stream(dataset: str, batch_size: int, seq_length: int, seed: int, cycle: bool):
    from trainer.data import TokenStream

    stream = TokenStream(_split(dataset, "train"), batch_size, seq_length, seed=seed, allow_cycle=cycle)
    return stream, []


def batch_at(flags: dict[str, Any], step: int):
    """The (x, y) of 1-based `step`: the trainer's TokenStream over the train split, seeded by --seed."""
    key = (
        flags["dataset"],
        int(flags.get("batch_size") or 8),
        int(flags.get("seq_length") or 128),
        int(flags.get("seed") or 0),
        bool(flags.get("allow_shard_cycle")),
    )
    stream, seen = _stream(*key)
    while len(seen) < step:
        seen.append(next(stream))
    return seen[step - 1]


def interrupt(run_dir: Path, step: int) -> None:
    """What a kill right after `step` leaves: checkpoints of later steps, result.json and later log
    records gone, and half a record at the end of train.jsonl."""
    from trainer import checkpoint

    run_dir = Path(run_dir)
    for epoch, meta_path in checkpoint.list_checkpoints(run_dir):
        if int(checkpoint.read_metadata(meta_path)["step"]) > step:
            for path in checkpoint.ckpt_paths(run_dir, epoch):
                path.unlink(missing_ok=True)
    (run_dir / "result.json").unlink(missing_ok=True)
    log = run_dir / TRAIN_LOG
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = []
    for line in lines:
        if json.loads(line).get("step", 0) > step:
            kept.append(line[: len(line) // 2])  # the write the kill interrupted
            break
        kept.append(line)
    log.write_text("".join(kept), encoding="utf-8")
