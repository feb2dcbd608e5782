"""cli-routing, round-trip, record-schema, run-artifacts, model-property, stream-exhaustion,
dataset-integrity, validator-robustness: a local broken target fails the kind, the clean one passes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
import torch
from torch import nn

import pv.runtime
from falsifiers import runtime
from falsifiers.kinds import dataset_integrity, run_artifacts, stream_exhaustion, validator_robustness
from pv.kinds import cli_routing, model_property, record_schema, round_trip
from tests.falsifiers.conftest import search

torch.set_num_threads(1)

# ── cli-routing: a local command module, clean and with --synthetic defaulting on ─────────────────────
REGIMES = {
    "from-scratch": {"lr": 3e-3, "warmup_steps": 20, "target_val_loss": 3.0},
    "finetune": {"lr": 3e-4, "warmup_steps": 50, "target_val_loss": 2.2},
}


def drive_real(cfg):
    return "real"


def drive_synthetic(cfg):
    return "synthetic"


class Cfg:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def make_command(synthetic_default: bool):
    @click.command("pretrain")
    @click.option("--dataset")
    @click.option("--tokenizer")
    @click.option("--run-dir")
    @click.option("--synthetic", is_flag=True, default=synthetic_default)
    @click.option("--mode", type=click.Choice(sorted(REGIMES)), default="from-scratch")
    @click.option("--lr", type=float)
    @click.option("--warmup-steps", type=int)
    @click.option("--target-val-loss", type=float)
    @click.option("--vocab-size", type=int)
    @click.option("--device", default="auto")
    def pretrain(**params):
        raise AssertionError("the falsifier must never run the command")

    return pretrain


def resolve_clean(params):
    mode = params["mode"]
    hp = {k: params[k] if params.get(k) is not None else REGIMES[mode][k] for k in REGIMES[mode]}
    return Cfg(
        synthetic=params["synthetic"],
        mode=mode,
        vocab_size=params["vocab_size"],
        device=params["device"],
        **hp,
    )


def resolve_ignores_explicit_lr(params):
    cfg = resolve_clean(params)
    cfg.lr = REGIMES[cfg.mode]["lr"]
    return cfg


def select(cfg):
    return drive_synthetic if cfg.synthetic else drive_real


@pytest.fixture
def cli_module(monkeypatch):
    """Route the kind's resolve() calls to this module's objects (the real ones need target_packages)."""
    objs = {
        "resolve_clean": resolve_clean,
        "resolve_ignores_explicit_lr": resolve_ignores_explicit_lr,
        "select": select,
    }
    monkeypatch.setattr(pv.runtime, "resolve_sibling", lambda target, name: objs[name])
    monkeypatch.setattr(pv.runtime, "resolve", lambda target: objs[target])


# The flag mapping this repo's cli.yaml declares for `trainer pretrain`, on the local command.
PRETRAIN = {
    "required": ["--dataset", "d", "--tokenizer", "t", "--run-dir", "r"],
    "flag_space": {
        "synthetic": "switch",
        "mode": [None, *sorted(REGIMES)],
        "lr": {"values": [1e-4, 3e-3], "float": [1e-6, 1.0]},
        "warmup_steps": {"int": [0, 500]},
        "target_val_loss": {"float": [0.1, 9.0]},
        "vocab_size": {"int": [2, 70000]},
        "device": [None, "cpu", "cuda", "cuda:1", "mps", "auto"],
    },
    "defaults": {"mode": "from-scratch", "vocab_size": None},
    "presets": {"field": "mode", "table": REGIMES},
    "selector": "select",
    "route_by": "synthetic",
    "routes": {"true": "drive_synthetic", "false": "drive_real"},  # YAML keys arrive as text
}


def test_cli_routing_catches_synthetic_default_and_ignored_flag(cli_module, falsified):
    search(cli_routing, make_command(False), resolver="resolve_clean", **PRETRAIN)
    falsified(cli_routing, make_command(True), resolver="resolve_clean", **PRETRAIN)
    falsified(cli_routing, make_command(False), resolver="resolve_ignores_explicit_lr", **PRETRAIN)


def make_parser(lr_dest="lr"):
    import argparse

    parser = argparse.ArgumentParser(prog="train")
    parser.add_argument("--lr", type=float, default=1e-3, dest=lr_dest)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--no-tie", action="store_true")
    return parser


def test_cli_routing_reads_an_argparse_parser_without_a_resolver(falsified):
    space = {
        "lr": {"float": [1e-5, 1.0]},
        "steps": [None, 1, 7],
        "no_tie": {"switch": True, "option": "--no-tie", "field": "no_tie"},
    }
    params = {"flag_space": space, "defaults": {"lr": 1e-3, "steps": 100}}
    search(cli_routing, make_parser, **params)  # a factory of the parser
    search(cli_routing, make_parser(), **params)  # the parser itself
    with pytest.raises(AssertionError, match="has no field 'lr'"):
        search(cli_routing, make_parser("learning_rate"), **params)
    falsified(cli_routing, make_parser(), flag_space=space, defaults={"lr": 3e-4, "steps": 100})
    with pytest.raises(AssertionError, match="refused argv"):  # a flag the parser does not know
        search(cli_routing, make_parser(), flag_space={"epochs": [1]})


# ── round-trip: a byte tokenizer, clean and one that drops NUL bytes ──────────────────────────────────
class ByteTok:
    drop = b""
    vocab_size = 258
    special_tokens: ClassVar[dict[str, int]] = {"<|endoftext|>": 256, "<|pad|>": 257}

    @classmethod
    def load(cls, directory):
        return cls()

    def encode(self, text):
        return [b for b in text.encode("utf-8") if bytes([b]) not in self.drop]

    def decode(self, ids):
        names = {v: k.encode() for k, v in self.special_tokens.items()}
        return b"".join(names.get(i, bytes([i]) if i < 256 else b"") for i in ids).decode(
            "utf-8", errors="replace"
        )


class DroppingTok(ByteTok):
    drop = b"\x00"


class SpecialTok(ByteTok):
    def encode(self, text):
        return [256] if text == "<|endoftext|>" else super().encode(text)


class ShortVocabTok(ByteTok):
    vocab_size = 200  # says 200 but emits every byte: ids leave the vocabulary


def test_round_trip_catches_dropped_byte_forged_special_and_ids_out_of_range(falsified):
    search(round_trip, ByteTok, subject="tokenizer")  # a class: built with no arguments
    search(round_trip, ByteTok(), subject="tokenizer")  # the tokenizer itself
    falsified(round_trip, DroppingTok, subject="tokenizer")
    falsified(round_trip, SpecialTok, subject="tokenizer")
    falsified(round_trip, ShortVocabTok, subject="tokenizer")
    falsified(round_trip, ByteTok, subject="tokenizer", vocab_size=128)  # the model's vocabulary
    search(round_trip, SpecialTok, subject="tokenizer", specials_in_text="allowed")


def test_round_trip_reads_an_hf_tokenizers_tokenizer_as_it_is():
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(["def f(x):\n    return x + 1\n"] * 20, trainer)
    search(round_trip, tok, subject="tokenizer", max_examples=40)  # Encoding.ids, get_vocab_size()


@pytest.fixture
def local_loader(monkeypatch):
    real = pv.runtime.resolve
    monkeypatch.setattr(
        pv.runtime, "resolve", lambda t: (lambda cls: cls.load("unused")) if t == "local:load" else real(t)
    )


def test_round_trip_loads_through_the_declared_adapter(local_loader, falsified):
    search(round_trip, ByteTok, subject="tokenizer", load="local:load")
    falsified(round_trip, DroppingTok, subject="tokenizer", load="local:load")


class Config:
    def __init__(self, name, steps, lossy=False):
        self.name, self.steps, self.lossy = name, steps, lossy

    def to_json(self):
        return json.dumps({"name": self.name.strip() if self.lossy else self.name, "steps": self.steps})

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))

    def __eq__(self, other):
        return (self.name, self.steps) == (other.name, other.steps)


class LossyConfig(Config):
    def __init__(self, name, steps, lossy=True):
        super().__init__(name, steps, lossy)


def test_round_trip_of_a_config_with_drawn_fields(falsified):
    fields = {"name": "text", "steps": "int"}
    search(round_trip, Config, subject="config", fields=fields)
    falsified(round_trip, LossyConfig, subject="config", fields=fields)


# ── record-schema and run-artifacts: hand-made records and run dirs ──────────────────────────────────
REQUIRED = ["step", "epoch", "train_loss", "grad_norm", "drive", "tokens_seen"]


def step(i, **over):
    rec = {
        "step": i,
        "epoch": 0,
        "train_loss": 5.0 - i / 10,
        "grad_norm": 1.0 + i / 7,
        "drive": "real",
        "tokens_seen": 128 * i,
    }
    rec.update(over)
    return rec


def test_record_schema_catches_missing_field_synthetic_label_placeholder_and_short_budget():
    good = [step(i) for i in range(1, 7)] + [{"event": "epoch", "epoch": 0, "val_loss": 4.0}]
    record_schema.check_records(good, 6, REQUIRED, "real")
    broken = {
        "missing": [step(i) for i in range(1, 6)] + [{k: v for k, v in step(6).items() if k != "grad_norm"}],
        "synthetic": [step(i, drive="synthetic") for i in range(1, 7)],
        "placeholder": [step(i, grad_norm=1.0) for i in range(1, 7)],
        "short": [step(i) for i in range(1, 6)],
        "nan": [step(i, train_loss=float("nan") if i == 3 else 1.0) for i in range(1, 7)],
    }
    for name, recs in broken.items():
        with pytest.raises(AssertionError):
            record_schema.check_records(recs, 6, REQUIRED, "real")
            pytest.fail(f"{name} records were accepted")


def user_run(run_dir, steps=5, constant_norm=False):
    """A user's launcher: writes its own log, with its own field names, into run_dir."""
    run_dir.mkdir(parents=True)
    with open(run_dir / "log.jsonl", "w", encoding="utf-8") as fh:
        for i in range(steps):
            norm = 1.0 if constant_norm else 1.0 + i
            fh.write(json.dumps({"it": i, "loss": 3.0 - i / 10, "gnorm": norm, "split": "train"}) + "\n")
        fh.write(json.dumps({"kind": "eval", "val": 2.0}) + "\n")


def test_record_schema_runs_a_users_launcher_with_its_own_schema():
    schema = {
        "required": ["it", "loss", "gnorm"],
        "log": "log.jsonl",
        "step_field": "it",
        "event_field": "kind",
        "epoch_event": "eval",
        "epoch_required": ["val"],
        "labels": {"split": "train"},
        "increasing": [],
        "varying": ["gnorm"],
    }
    record_schema.check(user_run, num_steps=5, launch_kwargs={"steps": 5}, **schema)
    with pytest.raises(AssertionError, match="exactly 7 steps"):
        record_schema.check(user_run, num_steps=7, launch_kwargs={"steps": 5}, **schema)
    with pytest.raises(AssertionError, match="placeholder"):
        record_schema.check(user_run, launch_kwargs={"constant_norm": True}, **schema)
    with pytest.raises(AssertionError, match="lacks"):
        record_schema.check(user_run, **{**schema, "epoch_required": ["val", "acc"]})


def write_ckpt(run_dir, epoch, optim_bytes=b"optim", sha=None):
    ckpt = run_dir / "ckpt"
    ckpt.mkdir(parents=True, exist_ok=True)
    base = ckpt / f"epoch-{epoch:03d}"
    (ckpt / f"{base.name}.safetensors").write_bytes(b"weights")
    (ckpt / f"{base.name}.optim.safetensors").write_bytes(optim_bytes)
    meta = {
        "epoch": epoch,
        "optimizer_state_sha": sha or hashlib.sha256(optim_bytes).hexdigest(),
        "model_sha256": hashlib.sha256(b"weights").hexdigest(),
    }
    (ckpt / f"{base.name}.metadata.json").write_text(json.dumps(meta))


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_artifacts_catches_stale_sha_and_missing_epoch(tmp_path):
    for e in range(2):
        write_ckpt(tmp_path / "good", e)
    run_artifacts.check_run_dir(tmp_path / "good", 2, sha, ["epoch", "optimizer_state_sha"])
    write_ckpt(tmp_path / "stale", 0, sha="0" * 64)
    with pytest.raises(AssertionError, match="optimizer_state_sha"):
        run_artifacts.check_run_dir(tmp_path / "stale", 1, sha)
    write_ckpt(tmp_path / "short", 0)
    with pytest.raises(AssertionError, match="missing"):
        run_artifacts.check_run_dir(tmp_path / "short", 2, sha)


# ── model-property: tied vs untied, clamped ids ──────────────────────────────────────────────────────
def tiny_config(preset, vocab, seq):
    return {"vocab": vocab}


class TinyLM(nn.Module):
    tie, clamp = True, False

    def __init__(self, cfg):
        super().__init__()
        self.vocab = cfg["vocab"]
        self.emb = nn.Embedding(self.vocab, 8)
        self.head = nn.Linear(8, self.vocab, bias=False)
        if self.tie:
            self.head.weight = self.emb.weight

    def forward(self, idx):
        if self.clamp:
            idx = idx.clamp(0, self.vocab - 1)
        elif idx.max() >= self.vocab or idx.min() < 0:
            raise ValueError("id outside the vocabulary")
        return self.head(self.emb(idx))


class UntiedLM(TinyLM):
    tie = False


class ClampingLM(TinyLM):
    clamp = True


@pytest.fixture
def local_builder(monkeypatch):
    real = pv.runtime.resolve
    monkeypatch.setattr(pv.runtime, "resolve", lambda t: tiny_config if t == "local:config" else real(t))


def test_model_property_catches_untied_head_and_clamped_ids(local_builder, falsified):
    kw = {"builder": "local:config", "vocab_size": 50}
    search(model_property, TinyLM, property="tied-embeddings", max_examples=2, **kw)
    falsified(model_property, UntiedLM, property="tied-embeddings", **kw)
    search(model_property, TinyLM, property="rejects-oov", max_examples=20, **kw)
    falsified(model_property, ClampingLM, property="rejects-oov", **kw)
    band = {"lo": 400, "hi": 450, "counter": "trainer.model:count_parameters"}
    search(model_property, TinyLM, property="param-band", max_examples=1, **kw, **band)  # 50·8 = 400
    falsified(model_property, UntiedLM, property="param-band", **kw, **band)  # 800: the head counted twice


def tiny_factory(vocab_size, max_seq_len, tie=True):
    return (TinyLM if tie else UntiedLM)({"vocab": vocab_size})


def test_model_property_through_a_factory_and_named_modules(falsified):
    search(model_property, tiny_factory, property="tied-embeddings", vocab_size=40)
    search(
        model_property, tiny_factory, property="tied-embeddings", vocab_size=40, embedding="emb", head="head"
    )
    untied = {"vocab_size": 40, "factory_kwargs": {"tie": False}}
    falsified(model_property, tiny_factory, property="tied-embeddings", **untied)
    search(model_property, tiny_factory, property="untied-embeddings", **untied)
    falsified(model_property, tiny_factory, property="untied-embeddings", vocab_size=40)
    search(model_property, tiny_factory, property="param-band", vocab_size=40, lo=320, hi=320)
    with pytest.raises(AssertionError, match="has no 'wte'"):
        search(model_property, tiny_factory, property="tied-embeddings", vocab_size=41, embedding="wte")


# ── stream-exhaustion: a stream that pads with zeros when it runs dry ────────────────────────────────
class Exhausted(Exception):
    status = "PREFLIGHT"


class Stream:
    pad = False

    def __init__(self, tokens, b, t, *, seed, allow_cycle, on_cycle=None):
        self.tokens, self.b, self.t, self.allow_cycle, self.on_cycle = tokens, b, t, allow_cycle, on_cycle
        self.per_pass = ((len(tokens) - 1) // t) // b
        self.pos, self.cycles = 0, 0

    def __next__(self):
        if self.pos == self.per_pass:
            if self.pad:
                return torch.zeros(self.b, self.t, dtype=torch.long), torch.zeros(
                    self.b, self.t, dtype=torch.long
                )
            if not self.allow_cycle:
                raise Exhausted("dry")
            self.pos, self.cycles = 0, self.cycles + 1
            if self.cycles == 1 and self.on_cycle:
                self.on_cycle(1)
        starts = torch.arange(self.pos * self.b, (self.pos + 1) * self.b) * self.t
        idx = starts[:, None] + torch.arange(self.t + 1)
        chunk = self.tokens[idx]
        self.pos += 1
        return chunk[:, :-1], chunk[:, 1:]


class PaddingStream(Stream):
    pad = True


class NoisyStream(Stream):
    def __next__(self):
        out = super().__next__()
        if self.cycles and self.on_cycle and self.pos == 1:
            self.on_cycle(self.cycles)  # announces every cycle, not once
        return out


def test_stream_exhaustion_catches_placeholders_and_repeated_notices(falsified):
    search(stream_exhaustion, Stream, max_examples=40)
    falsified(stream_exhaustion, PaddingStream)
    falsified(stream_exhaustion, NoisyStream)


# ── dataset-integrity: a loader that never checks the sha ───────────────────────────────────────────
def fake_dataset(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    shard = d / "train-00000.bin"
    shard.write_bytes(bytes(range(64)))
    (d / "manifest.json").write_text(json.dumps({"shards": [{"file": shard.name, "sha256": sha(shard)}]}))
    return d


class DataError(Exception):
    status = "DATA_ERROR"


def load_checked(directory, tokenizer=None):
    manifest = json.loads((directory / "manifest.json").read_text())
    for s in manifest["shards"]:
        if sha(directory / s["file"]) != s["sha256"]:
            raise DataError(s["file"])
    return manifest


def load_unchecked(directory, tokenizer=None):
    return json.loads((directory / "manifest.json").read_text())


def test_dataset_integrity_catches_unchecked_sha(monkeypatch, tmp_path, falsified):
    d = fake_dataset(tmp_path)
    monkeypatch.setattr(runtime, "tiny_dataset_dir", lambda: d)
    monkeypatch.setattr(runtime, "tiny_tokenizer_dir", lambda: tmp_path)
    search(dataset_integrity, load_checked, property="manifest-sha", max_examples=10)
    falsified(dataset_integrity, load_unchecked, property="manifest-sha")


# ── validator-robustness: a validator that crashes or swallows unknown keys ──────────────────────────
def test_validator_robustness_catches_crash_and_swallowed_unknown_key():
    from pv.findings import Report
    from pv.validate import validate_paths

    def crashing(paths, **kw):
        text = Path(paths[0]).read_text(encoding="utf-8", errors="replace")
        if text.count("[") > 100:
            raise RecursionError("maximum recursion depth exceeded")
        return validate_paths(paths, **kw)

    def lenient(paths, **kw):
        r = validate_paths(paths, **kw)
        return Report(findings=tuple(f for f in r.findings if f.rule_name != "unknown-key"), counts=r.counts)

    search(validator_robustness, validate_paths, case="hostile-yaml", max_examples=15)
    with pytest.raises(RecursionError):
        validator_robustness.check(crashing, "[" * 5000 + "]" * 5000, case="hostile-yaml")
    search(validator_robustness, validate_paths, case="unknown-key", max_examples=5)
    with pytest.raises(AssertionError, match="accepted"):
        search(validator_robustness, lenient, case="unknown-key", max_examples=5)
