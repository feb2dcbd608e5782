"""examples/: pv pointed at code no one here wrote — HF transformers' GPT-2 and Llama built from tiny
configs, and a training step of a user's own on top of them — run as a user runs it.

Each example is copied to a scratch directory (so nothing of this checkout leaks in, and nothing is
left behind in it) and driven through the `pv` command line: the clean copy validates, its committed
generated tests are in sync, its gate is green and derandomized and leaves no `.hypothesis/`. Then
each deliberate breakage is a text patch of the example's *own* module in a fresh copy, and `pv gate`
of the gates that guard it must exit 1 with exactly the named falsifiers failed.

Cost: every gate is one pytest process that imports torch and transformers (most of its ~10 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="the examples are built on HF transformers (pv-contracts[hf])")
pytest.importorskip("tokenizers", reason="tinytrain trains an HF tokenizers BPE")

pytestmark = pytest.mark.slow  # eight gates, each a pytest process importing torch and transformers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ("gpt2", "llama", "tinytrain")
# A gate that runs past this is a regression worth seeing, not a hang to wait out.
GATE_TIMEOUT = "300s"


def scratch_copy(name: str, dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".pv", ".hypothesis", ".pytest_cache")
    return Path(shutil.copytree(EXAMPLES / name, dest / name, ignore=ignore))


def pv(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`pv ARGS` in `cwd`, as a user's shell runs it: none of this suite's pytest or pv settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "PV_", "HYPOTHESIS")) and k != "PYTHONPATH"
    }
    return subprocess.run(
        [sys.executable, "-m", "pv", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def gate(cwd: Path, *gate_ids: str) -> tuple[int, dict]:
    selected = [a for g in gate_ids for a in ("--gate", g)]
    proc = pv("gate", *selected, "--jobs", "0", "--timeout", GATE_TIMEOUT, "--format", "json", cwd=cwd)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pv gate printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def failed(report: dict) -> set[str]:
    return {t["falsifier"] for t in report["tests"] if t["outcome"] != "passed"}


@pytest.mark.parametrize("name", NAMES)
def test_the_clean_example_validates_generates_and_gates_green(name: str, tmp_path: Path) -> None:
    root = scratch_copy(name, tmp_path)
    validate = pv("validate", cwd=root)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    check = pv("generate", "--check", cwd=root)
    assert check.returncode == 0, f"examples/{name}: committed generated tests are stale:\n{check.stdout}"
    code, report = gate(root)
    assert code == 0 and not failed(report), json.dumps(report["tests"], indent=1)
    assert report["counts"]["executed"] == report["counts"]["passed"] > 0
    assert all(g["verdict"] == "PASS" for g in report["gates"])
    assert not list(root.rglob(".hypothesis")), "the gate left a hypothesis database in the project"


@dataclass(frozen=True)
class Breakage:
    name: str
    example: str
    file: str
    old: str
    new: str
    gates: tuple[str, ...]
    caught_by: frozenset[str]  # exactly the falsifiers that must fail


BREAKAGES = (
    Breakage(
        "causal-mask-off",
        "gpt2",
        "gpt2_example/model.py",
        "    return GPT2LMHeadModel(config)\n",
        "    model = GPT2LMHeadModel(config)\n"
        "    for block in model.transformer.h:  # 'bidirectional context helps'\n"
        "        block.attn.is_causal = False\n"
        "    return model\n",
        ("GATE-GPT2-CAUSAL",),
        frozenset({"FALSIFY-GPT2-CAUSAL"}),
    ),
    Breakage(
        "weights-untied",
        "gpt2",
        "gpt2_example/model.py",
        "tie_word_embeddings=True,",
        "tie_word_embeddings=False,",
        ("GATE-GPT2-TIED", "GATE-GPT2-SIZE"),
        frozenset({"FALSIFY-GPT2-TIED", "FALSIFY-GPT2-PARAMS"}),  # a second V×C matrix counts too
    ),
    Breakage(
        "ids-clamped",
        "llama",
        "llama_example/model.py",
        "                raise OutOfVocabulary(input_ids[bad], self.config.vocab_size)\n",
        "                input_ids = input_ids.clamp(0, self.config.vocab_size - 1)  # 'never crash a run'\n",
        ("GATE-LLAMA-OOV",),
        frozenset({"FALSIFY-LLAMA-OOV"}),
    ),
    Breakage(
        "vocab-drift",
        "tinytrain",
        "tinytrain/tokenizer.py",
        "    return ByteBPE(tok)\n",
        '    tok.add_special_tokens(["<|pad|>"])  # a pad token for batching, added after training\n'
        "    return ByteBPE(tok)\n",
        ("GATE-TT-TOK-VOCAB", "GATE-TT-RUN"),
        # the pinned vocabulary, and the run itself: its preflight refuses 321 ids for 320 rows
        frozenset({"FALSIFY-TT-TOK-VOCAB", "FALSIFY-TT-RUN-LOG"}),
    ),
    Breakage(
        "schedule-bug",
        "tinytrain",
        "tinytrain/optim.py",
        "span = max(1, cfg.num_steps - cfg.warmup_steps)",
        "span = max(1, cfg.num_steps)",  # the cosine stretched over the warmup too
        ("GATE-TT-SCHEDULE",),
        frozenset({"FALSIFY-TT-SCHEDULE"}),
    ),
)


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_a_deliberate_breakage_turns_the_gate_red(breakage: Breakage, tmp_path: Path) -> None:
    root = scratch_copy(breakage.example, tmp_path)
    path = root / breakage.file
    text = path.read_text(encoding="utf-8")
    assert text.count(breakage.old) == 1, f"{breakage.name}: the code it patches in {breakage.file} changed"
    path.write_text(text.replace(breakage.old, breakage.new), encoding="utf-8")
    code, report = gate(root, *breakage.gates)
    assert code == 1, f"{breakage.name} was not caught: {json.dumps(report['tests'], indent=1)}"
    assert failed(report) == breakage.caught_by, json.dumps(report["tests"], indent=1)
    assert all(g["verdict"] == "FAIL" for g in report["gates"])


def test_the_project_kind_fails_a_step_that_never_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    """tinytrain's own kind (overfit-batch), as pv loads it, passes the real step and fails a broken one."""
    import importlib

    root = EXAMPLES / "tinytrain"
    monkeypatch.setenv("PV_PROJECT_ROOT", str(root))  # target_packages = ["tinytrain"]
    monkeypatch.syspath_prepend(str(root))
    from pv.config import load_config
    from pv.kinds import KindRegistry

    kind = KindRegistry.for_config(load_config(root)).load("overfit-batch")
    import torch

    model = importlib.import_module("tinytrain.model")
    optim = importlib.import_module("tinytrain.optim")
    params = {
        "config": "tinytrain.config:TrainConfig",
        "config_kwargs": {"lr": 0.01, "warmup_steps": 2, "num_steps": 30},
        "optimizer": "tinytrain.optim:build_optimizer",
        "update": "tinytrain.optim:update",
        "vocab_size": 64,
        "seq_len": 16,
    }
    kind.check(model.build_model, 0, **params)

    def update_without_step(optimizer, schedule, step, cfg):  # clips and reports, never steps
        params_ = [p for group in optimizer.param_groups for p in group["params"]]
        return float(torch.nn.utils.clip_grad_norm_(params_, cfg.grad_clip))

    update_without_step.__module__ = "tinytrain.optim"  # the project's code, as a user's bug would be
    monkeypatch.setattr(optim, "update", update_without_step)
    with pytest.raises(AssertionError, match="the step does not train"):
        kind.check(model.build_model, 0, **params)
