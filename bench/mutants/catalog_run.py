# ruff: noqa: E501  (each patch is a pair of literal source lines; wrapping them would hide the diff)
"""Run-surface mutants: bugs in how the trainer's units are wired together, the way an outside
benchmark author would write them (issue 9's classes 1-5). Each is a text patch on a scratch copy
(`bench/mutants/run.py` applies it; catalog.py adds them to MUTANTS); the run-level kinds (pv/kinds/run_*.py) must kill every one
through the real `trainer pretrain` command.
"""

from __future__ import annotations

from typing import Any

LOOP, REAL, CLI, DATA = "trainer/loop.py", "trainer/real.py", "trainer/cli.py", "trainer/data.py"
C1 = "wrong quantity at the call site"
C2 = "configuration that never arrives"
C3 = "paths the tests never take"
C4 = "telemetry that lies"
C5 = "evaluation that measures the wrong thing"


def _m(name, klass, target, patches, expect) -> dict[str, Any]:
    return {
        "name": name,
        "klass": klass,
        "targets": (target,),
        "text_patch": tuple(patches),
        "expect": tuple(expect),
    }


_EPOCH_CHECK = (
    "            guards.check_epoch(epoch, val, prev, cfg.mode, self.vocab_size)\n            self.save("
)
_VAL_HISTORY = """        self.val_losses = [
            float(_verified_val_loss(p)) for e, p in checkpoint.list_checkpoints(self.run_dir) if e <= epoch
        ]
        if len(self.val_losses) != epoch + 1:
            raise DataError(
                f"resume needs the metadata of epochs 0..{epoch}, found {len(self.val_losses)}",
                path=str(meta_path.parent),
            )
"""

_SPECS: tuple[dict[str, Any], ...] = (
    # ── 1. wrong quantity at the call site ────────────────────────────────────────────────────────
    _m(
        "divergence-fed-train-loss", C1, "trainer.loop:_Loop._epochs",
        [(LOOP, _EPOCH_CHECK, _EPOCH_CHECK.replace("(epoch, val, prev", "(epoch, train_loss, prev"))],
        ["FALSIFY-TRAIN-VERDICT-RUN"],
    ),
    _m(
        "vocab-preflight-tokenizer-twice", C1, "trainer.loop:_load_inputs",
        [(LOOP, "vocab_preflight(tok.vocab_size, vocab,", "vocab_preflight(tok.vocab_size, tok.vocab_size,")],
        ["FALSIFY-CLI-RUN-FLAGS"],
    ),
    _m(
        "budget-over-val-split", C1, "trainer.loop:_load_inputs",
        [(LOOP, "probe = TokenStream(ds.train_tokens,", "probe = TokenStream(ds.val_tokens,")],
        ["FALSIFY-DATA-BUDGET-RUN"],
    ),
    _m(
        "budget-without-seq-length", C1, "trainer.loop:_load_inputs",
        [(LOOP, "budget_preflight(cfg.planned_tokens,", "budget_preflight(cfg.num_steps * cfg.batch_size,")],
        ["FALSIFY-DATA-BUDGET-RUN"],
    ),
    # ── 2. configuration that never arrives ───────────────────────────────────────────────────────
    _m(
        "lr-schedule-bypassed-at-step", C2, "trainer.real:RealLoop._step",
        [(REAL, "optim.update(self.optimizer, self.schedule, step, self.cfg,", "optim.update(self.optimizer, lambda _s: self.cfg.lr, step, self.cfg,")],
        ["FALSIFY-TRAIN-REPLAY"],
    ),
    _m(
        "weight-decay-replaced-at-build", C2, "trainer.real:RealLoop.build",
        [(REAL, "optim.build_optimizer(cfg, self.model, self.device)", "optim.build_optimizer(__import__('dataclasses').replace(cfg, weight_decay=0.1), self.model, self.device)")],
        ["FALSIFY-TRAIN-REPLAY"],
    ),
    _m(
        "grad-clip-replaced-at-step", C2, "trainer.real:RealLoop._step",
        [(REAL, "step, self.cfg, before_update=guard)", "step, __import__('dataclasses').replace(self.cfg, grad_clip=1.0), before_update=guard)")],
        ["FALSIFY-TRAIN-REPLAY"],
    ),
    _m(
        "seed-not-to-stream", C2, "trainer.real:RealLoop.build",
        [(REAL, "            seed=cfg.seed,\n            allow_cycle=cfg.allow_shard_cycle,", "            seed=0,\n            allow_cycle=cfg.allow_shard_cycle,")],
        ["FALSIFY-TRAIN-REPLAY"],
    ),
    _m(
        "warmup-dropped-by-resolver", C2, "trainer.cli:resolve_pretrain_config",
        [(CLI, 'warmup_steps=params.get("warmup_steps"),', "warmup_steps=None,")],
        ["FALSIFY-TRAIN-REPLAY"],
    ),
    _m(
        "patience-dropped-by-resolver", C2, "trainer.cli:resolve_pretrain_config",
        [(CLI, '"device", "patience", "grad_clip",', '"device", "grad_clip",')],
        ["FALSIFY-TRAIN-VERDICT-RUN"],
    ),
    _m(
        "eval-batches-dropped-by-resolver", C2, "trainer.cli:resolve_pretrain_config",
        [(CLI, '"weight_decay", "eval_batches",', '"weight_decay",')],
        ["FALSIFY-EVAL-HELDOUT-LOSS"],
    ),
    _m(
        "device-ignored-by-real-drive", C2, "trainer.real:RealLoop.__init__",
        [(REAL, "self.device = guards.resolve_device(cfg.device)", 'self.device = guards.resolve_device("auto")')],
        ["FALSIFY-CLI-RUN-FLAGS"],
    ),
    _m(
        "vocab-flag-not-to-model", C2, "trainer.real:RealLoop.build",
        [(REAL, "build_model(vocab, cfg.seq_length, preset=cfg.model)", "build_model(tok.vocab_size, cfg.seq_length, preset=cfg.model)")],
        ["FALSIFY-CLI-RUN-FLAGS"],
    ),
    _m(
        "cycle-flag-not-to-stream", C2, "trainer.real:RealLoop.build",
        [(REAL, "            allow_cycle=cfg.allow_shard_cycle,\n            on_cycle", "            allow_cycle=False,\n            on_cycle")],
        ["FALSIFY-DATA-BUDGET-RUN"],
    ),
    # ── 3. paths the tests never take ─────────────────────────────────────────────────────────────
    _m(
        "resume-without-optimizer", C3, "trainer.real:RealLoop.resume",
        [(REAL, "load_checkpoint(meta_path, self.model, self.optimizer,", "load_checkpoint(meta_path, self.model, None,")],
        ["FALSIFY-RESUME-EXACT"],
    ),
    _m(
        "resume-without-stream-state", C3, "trainer.real:RealLoop.resume",
        [(REAL, '            self.stream.load_state_dict(meta["stream_state"])\n', "")],
        ["FALSIFY-RESUME-EXACT"],
    ),
    _m(
        "resume-forgets-val-history", C3, "trainer.real:RealLoop.resume",
        [(REAL, _VAL_HISTORY, "        self.val_losses = []\n")],
        ["FALSIFY-RESUME-GUARDS"],
    ),
    _m(
        "resume-ignores-spent-patience", C3, "trainer.loop:_Loop._epochs",
        [(LOOP, "stopped_early = self._patience_ran_out(self.start_step)", "stopped_early = False")],
        ["FALSIFY-RESUME-GUARDS"],
    ),
    _m(
        "resume-forgets-tokens-seen", C3, "trainer.real:RealLoop.resume",
        [(REAL, '        self.tokens_seen = meta["tokens_seen"]\n', "")],
        ["FALSIFY-RESUME-EXACT"],
    ),
    _m(
        "cycle-position-not-reset", C3, "trainer.data:TokenStream.__next__",
        [(DATA, "            self.cycles += 1\n            self.position = 0\n", "            self.cycles += 1\n")],
        ["FALSIFY-DATA-BUDGET-RUN"],
    ),
    _m(
        "eval-short-batch-dropped", C3, "trainer.data:val_batches",
        [(DATA, "    for first in range(0, n_windows, batch_size):", "    for first in range(0, n_windows - n_windows % batch_size or n_windows, batch_size):")],
        ["FALSIFY-EVAL-HELDOUT-LOSS"],
    ),
    _m(
        "eval-short-batch-padded", C3, "trainer.data:val_batches",
        [(DATA, "w = torch.arange(first, min(first + batch_size, n_windows))", "w = torch.arange(first, first + batch_size).clamp(max=n_windows - 1)")],
        ["FALSIFY-EVAL-HELDOUT-LOSS"],
    ),
    # ── 4. telemetry that lies ────────────────────────────────────────────────────────────────────
    _m(
        "tokens-per-sec-cumulative", C4, "trainer.loop:_Loop._epochs",
        [(LOOP, '"tokens_per_sec": out.tokens / wall', '"tokens_per_sec": self.tokens_seen / wall')],
        ["FALSIFY-TELEMETRY-STEPS"],
    ),
    _m(
        "tokens-seen-rows-only", C4, "trainer.loop:_Loop._epochs",
        [(LOOP, "self.tokens_seen += out.tokens", "self.tokens_seen += self.cfg.batch_size")],
        ["FALSIFY-TELEMETRY-STEPS"],
    ),
    _m(
        "grad-norm-after-clip", C4, "trainer.real:RealLoop._step",
        [
            (
                REAL,
                "self.global_loss(loss).detach().float(), pre_clip_norm.float()]",
                "self.global_loss(loss).detach().float(), "
                "torch.nn.utils.get_total_norm([p.grad for p in self.model.parameters()]).float()]",
            )
        ],
        ["FALSIFY-TRAIN-REPLAY"],
    ),
    _m(
        "metadata-val-of-previous-epoch", C4, "trainer.loop:_Loop._epochs",
        [
            (
                LOOP,
                '            self.save(epoch, {k: v for k, v in record.items() if k != "event"})',
                '            self.save(epoch, {k: v for k, v in record.items() if k != "event"} | '
                '{"val_loss": val if prev is None else prev})',
            )
        ],
        ["FALSIFY-TELEMETRY-METADATA"],
    ),
    _m(
        "epoch-train-loss-last-step", C4, "trainer.loop:_Loop._epochs",
        [(LOOP, "train_loss = sum(losses) / len(losses)", "train_loss = losses[-1]")],
        ["FALSIFY-TELEMETRY-METADATA"],
    ),
    # ── 5. evaluation that measures the wrong thing ───────────────────────────────────────────────
    _m(
        "eval-on-train-split", C5, "trainer.real:RealLoop.build",
        [(REAL, "batches = val_batches(ds.val_tokens,", "batches = val_batches(ds.train_tokens,")],
        ["FALSIFY-EVAL-HELDOUT-LOSS"],
    ),
    _m(
        "eval-mean-of-batch-means", C5, "trainer.real:RealLoop.evaluate",
        [(REAL, "            total += loss.double() * y.numel()\n            count += y.numel()\n", "            total += loss.double()\n            count += 1\n")],
        ["FALSIFY-EVAL-HELDOUT-LOSS"],
    ),
    _m(
        "eval-batches-ignored", C5, "trainer.real:RealLoop.build",
        [(REAL, "max_batches=cfg.eval_batches)", "max_batches=None)")],
        ["FALSIFY-EVAL-HELDOUT-LOSS"],
    ),
)  # fmt: skip


def run_mutants(mutant_cls: type) -> tuple:
    """The specs as `bench.mutants.catalog.Mutant`s (passed in: catalog.py imports this module)."""
    return tuple(mutant_cls(**spec) for spec in _SPECS)
