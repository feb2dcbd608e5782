"""A finished run's model, back in memory: pick a checkpoint, rebuild the model, generate text.

Used by `trainer sample`, `trainer export` and `trainer report`. Never prints. A run directory is read,
never written; every checkpoint is verified against its recorded sha256 before it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainer import checkpoint, guards
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.model import Transformer, model_config
from trainer.runlog import CONFIG_FILE
from trainer.tokenizer import BpeTokenizer

CHECKPOINT_HELP = "best (lowest val loss), last, or an epoch number"


@dataclass(frozen=True)
class Trained:
    """A run's model in eval mode with the tokenizer it was trained with."""

    model: Transformer
    tokenizer: BpeTokenizer
    config: TrainConfig
    epoch: int
    meta: dict[str, Any]
    meta_path: Path

    @property
    def label(self) -> str:
        val = self.meta.get("val_loss")
        shown = f"{val:.4f}" if isinstance(val, int | float) else "unknown"
        return f"epoch {self.epoch} (step {self.meta.get('step')}, val_loss {shown})"


def run_config(run_dir: str | Path) -> TrainConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise DataError("not a directory; pass the run directory of a `trainer pretrain`", path=str(run_dir))
    if not path.is_file():
        raise DataError(f"no {CONFIG_FILE}: this is not a trainer run directory", path=str(path))
    return TrainConfig.load(path)


def select_checkpoint(run_dir: str, which: str = "best") -> tuple[int, Path, dict[str, Any]]:
    """(epoch, metadata path, metadata) of the `best`, `last` or numbered epoch's checkpoint."""
    found = checkpoint.list_checkpoints(Path(run_dir))
    if not found:
        raise DataError(
            "the run has no checkpoint (a synthetic run writes none; a real run writes one per epoch)",
            path=str(Path(run_dir) / checkpoint.CKPT_DIR),
        )
    metas = {epoch: (path, checkpoint.read_metadata(path)) for epoch, path in found}
    if which == "last":
        epoch = found[-1][0]
    elif which == "best":
        try:
            epoch = min(metas, key=lambda e: (float(metas[e][1]["val_loss"]), e))  # ties: the earliest
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"a checkpoint's metadata has no usable val_loss ({exc})", path=run_dir) from exc
    else:
        try:
            epoch = int(which)
        except ValueError:
            raise DataError(f"--checkpoint {which!r}: use {CHECKPOINT_HELP}") from None
        if epoch not in metas:
            raise DataError(
                f"--checkpoint {epoch}: the run has checkpoints for epochs {sorted(metas)}", path=str(run_dir)
            )
    path, meta = metas[epoch]
    return epoch, path, meta


def resolve_tokenizer(cfg: TrainConfig, override: str | None) -> BpeTokenizer:
    where = override or cfg.tokenizer
    if not Path(where).is_dir():
        raise DataError(
            "the run's tokenizer is not there (config.json records this path, relative to where the run "
            "started); pass --tokenizer DIR",
            path=where,
        )
    return BpeTokenizer.load(where)


def load_trained(
    run_dir: str | Path, which: str = "best", *, tokenizer: str | None = None, device: str = "cpu"
) -> Trained:
    cfg = run_config(run_dir)
    epoch, meta_path, meta = select_checkpoint(str(run_dir), which)
    tok = resolve_tokenizer(cfg, tokenizer)
    vocab = meta.get("vocab_size") or cfg.vocab_size or tok.vocab_size
    guards.vocab_preflight(tok.vocab_size, int(vocab), max_token_id=tok.max_token_id)
    dev = guards.resolve_device(device)
    model = Transformer(model_config(cfg.model, int(vocab), cfg.seq_length)).to(dev)
    checkpoint.load_checkpoint(meta_path, model, device=dev)  # verifies the sha256 first
    return Trained(model.eval(), tok, cfg, epoch, meta, meta_path)


@dataclass(frozen=True)
class Sample:
    prompt: str
    completion: str
    new_tokens: int
    stopped: str  # "end-of-text" or "max-new-tokens"

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "completion": self.completion, "new_tokens": self.new_tokens,
                "stopped": self.stopped}  # fmt: skip


@torch.no_grad()
def generate(
    model: Transformer,
    prompt_ids: list[int],
    *,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator,
    stop_id: int | None = None,
) -> list[int]:
    """Autoregressive sampling; temperature 0 is greedy (argmax). Returns the new ids only.

    The context is the last max_seq_len ids (the model has no positions past that). No KV cache: each
    token re-reads the window, which is fine at the sizes this trainer runs on a CPU.
    """
    if not prompt_ids:
        raise ValueError("generate needs at least one prompt id")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)  # (1, T)
    window = model.config.max_seq_len
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits, _ = model(ids[:, -window:])
        last = logits[0, -1].float()  # (V,)
        if temperature == 0:
            nxt = int(last.argmax())
        else:
            last = last / temperature
            if top_k is not None and top_k < last.numel():
                kth = torch.topk(last, top_k).values[-1]
                last = last.masked_fill(last < kth, float("-inf"))
            nxt = int(torch.multinomial(torch.softmax(last, dim=-1), 1, generator=generator))
        new.append(nxt)
        if nxt == stop_id:
            break
        ids = torch.cat([ids, torch.tensor([[nxt]], device=device)], dim=1)
    return new


def sample(
    trained: Trained,
    prompts: list[str],
    *,
    num_samples: int = 1,
    max_new_tokens: int = 64,
    temperature: float = 0.8,
    top_k: int | None = 50,
    seed: int = 0,
) -> list[Sample]:
    """num_samples completions per prompt, one seeded generator for all: same seed, same texts.

    An empty prompt starts a new document (the end-of-text id the data pipeline puts between files).
    """
    device = next(trained.model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    tok, eot = trained.tokenizer, trained.tokenizer.eot_id
    out = []
    for prompt in prompts:
        ids = tok.encode(prompt) if prompt else [eot]
        for _ in range(num_samples):
            new = generate(trained.model, ids, max_new_tokens=max_new_tokens, temperature=temperature,
                           top_k=top_k, generator=gen, stop_id=eot)  # fmt: skip
            stopped = "end-of-text" if new and new[-1] == eot else "max-new-tokens"
            text_ids = new[:-1] if stopped == "end-of-text" else new
            out.append(Sample(prompt, tok.decode(text_ids), len(new), stopped))
    return out
