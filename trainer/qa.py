"""Post-hoc QA of a run directory: the guards' rules re-checked from what the run left on disk.

`qa_run(run_dir)` returns a QaReport; it never prints. A check that does not apply (checkpoints of a
synthetic run) is reported as not applicable, never as passed, and the denominator says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer import checkpoint, guards
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.runlog import CONFIG_FILE, RESULT_FILE, TRAIN_LOG, read_log
from trainer.status import RunStatus

STEP_FIELDS = (
    "step",
    "epoch",
    "train_loss",
    "grad_norm",
    "lr",
    "tokens_per_sec",
    "wall_ms",
    "tokens_seen",
    "drive",
)
EPOCH_FIELDS = (
    "epoch",
    "step",
    "train_loss",
    "train_ppl",
    "val_loss",
    "val_ppl",
    "wall_seconds",
    "tokens_seen",
    "grad_norm_max",
    "vocab_size",
    "drive",
)
# A real forward + backward + AdamW step of even the tiniest preset takes far longer than this;
# a whole epoch faster than this per step is the placeholder fingerprint (no compute happened).
MIN_REAL_STEP_MS = 0.1
REL_TOL = 1e-9


@dataclass(frozen=True)
class QaCheck:
    name: str
    ok: bool | None  # None: not applicable to this run
    detail: str


@dataclass(frozen=True)
class QaReport:
    run_dir: str
    checks: list[QaCheck] = field(default_factory=list)

    @property
    def applicable(self) -> list[QaCheck]:
        return [c for c in self.checks if c.ok is not None]

    @property
    def passed(self) -> int:
        return sum(1 for c in self.applicable if c.ok)

    @property
    def ok(self) -> bool:
        return bool(self.applicable) and self.passed == len(self.applicable)

    @property
    def failed(self) -> list[QaCheck]:
        return [c for c in self.applicable if not c.ok]

    def summary(self) -> str:
        na = len(self.checks) - len(self.applicable)
        tail = f" ({na} not applicable)" if na else ""
        return f"{self.passed}/{len(self.applicable)} checks passed{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": self.run_dir,
            "ok": self.ok,
            "passed": self.passed,
            "applicable": len(self.applicable),
            "summary": self.summary(),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _numbers(obj: Any, where: str) -> list[tuple[str, float]]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, int | float):
        return [(where, float(obj))]
    if isinstance(obj, dict):
        return [n for k, v in obj.items() if k != "rng_state" for n in _numbers(v, f"{where}.{k}")]
    if isinstance(obj, list):
        return [n for i, v in enumerate(obj) for n in _numbers(v, f"{where}[{i}]")]
    return []


class _Qa:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.cfg = TrainConfig.load(run_dir / CONFIG_FILE)
        log = run_dir / TRAIN_LOG
        self.log_error: str | None = None
        try:
            self.records = read_log(log) if log.exists() else []
        except DataError as exc:  # a torn or edited log is a failed check, not "not a run"
            self.records, self.log_error = [], str(exc)
        self.steps = [r for r in self.records if "event" not in r]
        self.epochs = [r for r in self.records if r.get("event") == "epoch"]
        self.ckpts = checkpoint.list_checkpoints(run_dir)
        self.metas: dict[int, dict[str, Any]] = {}
        self.meta_errors: list[str] = []
        for epoch, path in self.ckpts:
            try:
                self.metas[epoch] = checkpoint.read_metadata(path)
            except DataError as exc:
                self.meta_errors.append(str(exc))
        self.result: dict[str, Any] | None = None
        rpath = run_dir / RESULT_FILE
        if rpath.exists():
            import json

            try:
                self.result = json.loads(rpath.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.result = None
            if not isinstance(self.result, dict):
                self.result = {"status": "<unreadable>"}
        self.drive = "synthetic" if self.cfg.synthetic else "real"

    def log_present(self) -> QaCheck:
        if self.log_error is not None:
            return QaCheck("log-present", False, self.log_error)
        n = len(self.steps)
        return QaCheck(
            "log-present", n > 0, f"{n} step record(s), {len(self.epochs)} epoch record(s) in {TRAIN_LOG}"
        )

    def required_fields(self) -> QaCheck:
        bad = [
            f"step record #{i + 1} lacks {', '.join(f for f in STEP_FIELDS if f not in r)}"
            for i, r in enumerate(self.steps)
            if any(f not in r for f in STEP_FIELDS)
        ]
        bad += [
            f"epoch record {r.get('epoch')} lacks {', '.join(f for f in EPOCH_FIELDS if f not in r)}"
            for r in self.epochs
            if any(f not in r for f in EPOCH_FIELDS)
        ]
        total = len(self.steps) + len(self.epochs)
        return QaCheck(
            "required-fields",
            total > 0 and not bad,
            f"{total - len(bad)}/{total} records complete" + (f"; {bad[0]}" if bad else ""),
        )

    def step_budget(self) -> QaCheck:
        steps = [r.get("step") for r in self.steps]
        expected = list(range(1, len(steps) + 1))
        if steps != expected:
            first = next((i for i, (a, b) in enumerate(zip(steps, expected, strict=False)) if a != b), 0)
            return QaCheck(
                "step-budget",
                False,
                f"steps are not 1..{len(steps)} in order (record #{first + 1} "
                f"has step {steps[first] if steps else None})",
            )
        status = (self.result or {}).get("status")
        full = status in (RunStatus.OK.label, RunStatus.NOT_CONVERGED.label)
        if full and len(steps) != self.cfg.num_steps:
            return QaCheck(
                "step-budget",
                False,
                f"{len(steps)} step records but status {status} claims the "
                f"whole budget of {self.cfg.num_steps} ran",
            )
        return QaCheck(
            "step-budget", True, f"{len(steps)}/{self.cfg.num_steps} steps logged, status {status}"
        )

    def finite(self) -> QaCheck:
        nums = _numbers(self.records, "train.jsonl") + _numbers(list(self.metas.values()), "metadata")
        bad = [w for w, v in nums if not math.isfinite(v)]
        return QaCheck(
            "finite",
            bool(nums) and not bad,
            f"{len(nums) - len(bad)}/{len(nums)} numbers finite" + (f"; first: {bad[0]}" if bad else ""),
        )

    def drive_labels(self) -> QaCheck:
        labelled = self.records if self.records else []
        bad = [r for r in labelled if "drive" in r and r["drive"] != self.drive]
        res = (self.result or {}).get("drive")
        if res is not None and res != self.drive:
            bad.append({"result.json": res})
        return QaCheck(
            "drive-labels",
            not bad and bool(self.steps),
            f"config says {self.drive}; {len(bad)} record(s) disagree",
        )

    def non_divergence(self) -> QaCheck:
        vals = [r.get("val_loss") for r in self.epochs]
        if not vals:
            return QaCheck("non-divergence", False, "no epoch record: nothing shows the run evaluated")
        vocab = self.epochs[0].get("vocab_size") or self.cfg.vocab_size or 0
        for i, v in enumerate(vals):
            try:
                guards.check_epoch(i, float(v), float(vals[i - 1]) if i else None, self.cfg.mode, int(vocab))
            except Exception as exc:  # GuardError or a malformed value: both fail the check
                return QaCheck("non-divergence", False, str(exc))
        return QaCheck(
            "non-divergence", True, f"{len(vals)}/{len(vals)} epochs within the {self.cfg.mode} rule"
        )

    def ppl_consistency(self) -> QaCheck:
        rows = [("epoch record", r) for r in self.epochs] + [("metadata", m) for m in self.metas.values()]
        bad = [
            f"{kind} epoch {r.get('epoch')}: {p} {r.get(p)} != exp({r.get(lk)})"
            for kind, r in rows
            for lk, p in (("train_loss", "train_ppl"), ("val_loss", "val_ppl"))
            if isinstance(r.get(lk), int | float)
            and isinstance(r.get(p), int | float)
            and not _close(math.exp(min(r[lk], 700.0)), r[p])
        ]
        return QaCheck(
            "ppl-consistency",
            bool(rows) and not bad,
            f"{2 * len(rows) - len(bad)}/{2 * len(rows)} ppl values = exp(loss)"
            + (f"; {bad[0]}" if bad else ""),
        )

    def placeholder(self) -> QaCheck:
        hits = []
        for r in self.epochs + list(self.metas.values()):
            for k in ("train_loss", "val_loss", "grad_norm_max"):
                if r.get(k) == 1.0:
                    hits.append(f"epoch {r.get('epoch')}: {k} exactly 1.0")
            for k in ("train_ppl", "val_ppl"):
                if r.get(k) == math.e:
                    hits.append(f"epoch {r.get('epoch')}: {k} exactly e")
        hits += [
            f"step {r.get('step')}: grad_norm exactly 1.0" for r in self.steps if r.get("grad_norm") == 1.0
        ]
        if self.drive == "real":
            for r in self.epochs:
                n = sum(1 for s in self.steps if s.get("epoch") == r.get("epoch"))
                wall = r.get("wall_seconds", 0.0)
                if n and wall * 1e3 / n < MIN_REAL_STEP_MS:
                    hits.append(
                        f"epoch {r.get('epoch')}: {wall:.6f}s for {n} real steps is implausibly short"
                    )
        return QaCheck(
            "placeholder-fingerprint",
            not hits,
            f"{len(hits)} placeholder value(s)" + (f"; {hits[0]}" if hits else ""),
        )

    def epoch_artifacts(self) -> QaCheck:
        if self.drive == "synthetic":
            return QaCheck("epoch-artifacts", None, "synthetic drive writes no checkpoints")
        problems = list(self.meta_errors)
        ep_ids = [r.get("epoch") for r in self.epochs]
        if ep_ids != sorted(self.metas):
            problems.append(f"epoch records {ep_ids} vs metadata files {sorted(self.metas)}")
        for r in self.epochs:
            m = self.metas.get(r.get("epoch"))
            if m is None:
                continue
            missing = [f for f in checkpoint.METADATA_FIELDS if f not in m]
            if missing:
                problems.append(f"metadata epoch {r['epoch']} lacks {', '.join(missing)}")
            for k in ("step", "tokens_seen", "train_loss", "val_loss", "train_ppl", "val_ppl"):
                if k in m and k in r and not _close(float(m[k]), float(r[k])):
                    problems.append(f"epoch {r['epoch']}: {k} {r[k]} in {TRAIN_LOG} but {m[k]} in metadata")
            model_path, optim_path, _ = checkpoint.ckpt_paths(self.run_dir, r["epoch"])
            problems += [f"missing {p.name}" for p in (model_path, optim_path) if not p.is_file()]
        n = len(self.epochs)
        return QaCheck(
            "epoch-artifacts",
            n > 0 and not problems,
            f"{n} epoch record(s), {len(self.metas)} metadata file(s)"
            + (f"; {problems[0]}" if problems else ""),
        )

    def checkpoint_hashes(self) -> QaCheck:
        if self.drive == "synthetic":
            return QaCheck("checkpoint-sha", None, "synthetic drive writes no checkpoints")
        bad, n = [], 0
        for epoch, meta in sorted(self.metas.items()):
            model_path, optim_path, meta_path = checkpoint.ckpt_paths(self.run_dir, epoch)
            for path, key in ((optim_path, "optimizer_state_sha"), (model_path, "model_sha256")):
                n += 1
                if not path.is_file() or checkpoint.sha256_file(path) != meta.get(key):
                    bad.append(f"{path.name} does not match {key} in its metadata")
            n += 1  # the metadata file itself, against the checksum it carries
            try:
                intact = meta.get(checkpoint.CHECKSUM_FIELD) == checkpoint.metadata_checksum(meta)
            except (TypeError, ValueError):
                intact = False
            if not intact:
                bad.append(f"{meta_path.name} does not match its {checkpoint.CHECKSUM_FIELD} (edited?)")
        return QaCheck(
            "checkpoint-sha",
            n > 0 and not bad,
            f"{n - len(bad)}/{n} files match their recorded sha256" + (f"; {bad[0]}" if bad else ""),
        )

    def result_honest(self) -> QaCheck:
        if self.result is None:
            return QaCheck("result", False, f"no {RESULT_FILE}: the run did not finish (killed?)")
        status = self.result.get("status")
        table = {s.label: s for s in RunStatus}
        if status not in table or self.result.get("exit_code") != table[status].exit_code:
            return QaCheck(
                "result", False, f"status {status!r} / exit {self.result.get('exit_code')} not in table"
            )
        vals = [float(r["val_loss"]) for r in self.epochs if "val_loss" in r]
        reached = bool(vals) and min(vals) <= self.cfg.target_val_loss
        if (status == RunStatus.OK.label) != reached:
            best = min(vals) if vals else None
            return QaCheck(
                "result",
                False,
                f"status {status} but best val_loss {best} vs target {self.cfg.target_val_loss}",
            )
        return QaCheck("result", True, f"status {status} agrees with the epoch records")


def qa_run(run_dir: str | Path) -> QaReport:
    """Every check, in a fixed order. Raises DataError when run_dir is not a run directory at all."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise DataError(
            f"not a run directory: no {CONFIG_FILE} (pass the --run-dir of a pretrain run)", path=str(run_dir)
        )
    qa = _Qa(run_dir)
    checks = [
        ("log-present", qa.log_present),
        ("required-fields", qa.required_fields),
        ("step-budget", qa.step_budget),
        ("finite", qa.finite),
        ("drive-labels", qa.drive_labels),
        ("non-divergence", qa.non_divergence),
        ("ppl-consistency", qa.ppl_consistency),
        ("placeholder-fingerprint", qa.placeholder),
        ("epoch-artifacts", qa.epoch_artifacts),
        ("checkpoint-sha", qa.checkpoint_hashes),
        ("result", qa.result_honest),
    ]
    return QaReport(str(run_dir), [_guarded(name, check) for name, check in checks])


def _guarded(name: str, check: Callable[[], QaCheck]) -> QaCheck:
    """A record with a value of the wrong type (an edited log) fails its check instead of crashing qa."""
    try:
        return check()
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        return QaCheck(name, False, f"malformed value in the run's files ({type(exc).__name__}: {exc})")
