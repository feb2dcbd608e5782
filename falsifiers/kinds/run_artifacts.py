"""run-artifacts: a tiny real run leaves one complete checkpoint per epoch, and the hashes are true.

Per epoch N of the shared tiny run: ckpt/epoch-NNN.safetensors, .optim.safetensors and .metadata.json
exist; the metadata carries `metadata_fields`; its optimizer_state_sha and model_sha256 equal sha256s
computed here (hashlib over the saved files' bytes, not the trainer's hash function), and the target (the
optimizer-sha function) gives that same hash for the saved optimizer file.
"""

from __future__ import annotations

import hashlib
import json
import sys

NAME = "run-artifacts"
SUMMARY = "tiny real run: checkpoint + metadata + optimizer state per epoch, sha256s recomputed"
PARAMS = {"metadata_fields": "field names every metadata file must carry"}
ARGS: tuple[str, ...] = ()
GROUP = "tiny-run"


def check_run_dir(run_dir, num_epochs, optimizer_sha, metadata_fields=()):
    __tracebackhide__ = True
    ckpt = run_dir / "ckpt"
    for n in range(num_epochs):
        base = f"epoch-{n:03d}"
        weights, optim, meta = (
            ckpt / f"{base}{s}" for s in (".safetensors", ".optim.safetensors", ".metadata.json")
        )
        for p in (weights, optim, meta):
            assert p.is_file(), f"epoch {n}: {p.name} missing from {ckpt}"
        md = json.loads(meta.read_text(encoding="utf-8"))
        missing = [f for f in metadata_fields if f not in md]
        assert not missing, f"{meta.name} lacks {missing}"
        actual = hashlib.sha256(optim.read_bytes()).hexdigest()
        assert md.get("optimizer_state_sha") == actual, (
            f"{meta.name}: optimizer_state_sha {md.get('optimizer_state_sha')} != sha256 of {optim.name} "
            f"{actual}"
        )
        claimed = optimizer_sha(optim)
        assert claimed == actual, (
            f"the optimizer-sha function says {claimed} for {optim.name}, whose bytes hash to {actual}"
        )
        if "model_sha256" in md:
            actual = hashlib.sha256(weights.read_bytes()).hexdigest()
            assert md["model_sha256"] == actual, f"{meta.name}: model_sha256 does not match {weights.name}"
    extra = sorted(p.name for p in ckpt.glob("epoch-*.metadata.json"))[num_epochs:]
    assert not extra, f"more checkpoints than epochs: {extra}"


def check(target, metadata_fields=()):
    __tracebackhide__ = True
    from falsifiers.runtime import tiny_run

    run = tiny_run()
    check_run_dir(run.run_dir, run.config.num_epochs, target, metadata_fields)


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
