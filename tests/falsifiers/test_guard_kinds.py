"""loss-guard, convergence-verdict, preflight-rejection, raises: broken guards are caught, clean ones pass."""

from __future__ import annotations

import math

import pytest

from pv.kinds import convergence_verdict, loss_guard, preflight_rejection, raises
from tests.falsifiers.conftest import search


class Stop(Exception):
    def __init__(self, label):
        super().__init__(label)
        self.status = type("S", (), {"label": label})()


def make_epoch_guard(strict=True, cap_scratch=lambda v: 2 * math.log(v)):
    def guard(epoch, val, prev, mode, vocab):
        if not math.isfinite(val):
            raise Stop("NONFINITE")
        limit = (10.0 if mode == "finetune" else cap_scratch(vocab)) if prev is None else 2.0 * prev
        if (val > limit) if strict else (val >= limit):
            raise Stop("DIVERGENCE")

    return guard


def test_epoch_guard_clean_passes():
    search(loss_guard, make_epoch_guard(), rule="epoch", vocab_size=2048)
    search(loss_guard, make_epoch_guard(), rule="epoch", mode="finetune")


def test_epoch_guard_with_ge_is_caught(falsified):
    falsified(loss_guard, make_epoch_guard(strict=False), rule="epoch", vocab_size=2048)


def test_epoch_guard_with_wrong_cap_is_caught(falsified):
    falsified(loss_guard, make_epoch_guard(cap_scratch=lambda v: 10.0), rule="epoch", vocab_size=2048)


def test_step_guard_ignoring_grad_norm_is_caught(falsified):
    def clean(step, loss, gnorm):
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            raise Stop("NONFINITE")

    def loss_only(step, loss, gnorm):
        if not math.isfinite(loss):
            raise Stop("NONFINITE")

    search(loss_guard, clean, rule="step-finite")
    falsified(loss_guard, loss_only, rule="step-finite")


def test_verdict_strict_target_is_caught(falsified):
    def clean(vals, target, completed):
        if vals and min(vals) <= target:
            return "OK"
        return "NOT_CONVERGED" if completed else "EARLY_STOP"

    def strict(vals, target, completed):
        if vals and min(vals) < target:
            return "OK"
        return "NOT_CONVERGED" if completed else "EARLY_STOP"

    def patience_ok(vals, target, completed):
        return "OK" if not completed else clean(vals, target, completed)

    search(convergence_verdict, clean)
    falsified(convergence_verdict, strict)
    falsified(convergence_verdict, patience_ok)


def test_vocab_preflight_off_by_one_is_caught(falsified):
    def clean(tok, model):
        if tok > model:
            raise Stop("PREFLIGHT")

    def off_by_one(tok, model):
        if tok >= model:
            raise Stop("PREFLIGHT")

    search(preflight_rejection, clean, guard="vocab")
    falsified(preflight_rejection, off_by_one, guard="vocab")


def test_budget_preflight_ignoring_cycle_flag_is_caught(falsified):
    def clean(planned, corpus, cycle):
        if corpus <= 0 or (planned > corpus and not cycle):
            raise Stop("PREFLIGHT")

    def no_cycle(planned, corpus, cycle):
        if corpus <= 0 or planned > corpus:
            raise Stop("PREFLIGHT")

    search(preflight_rejection, clean, guard="budget")
    falsified(preflight_rejection, no_cycle, guard="budget")


def test_raises_catches_silent_fallback():
    def strict_device(name):
        raise Stop("DEVICE_ERROR")

    def fallback(name):
        return "cpu"

    raises.check(strict_device, status="DEVICE_ERROR", args=["cuda"])
    with pytest.raises(AssertionError, match="instead of raising"):
        raises.check(fallback, status="DEVICE_ERROR", args=["cuda"])
    with pytest.raises(AssertionError, match="status"):
        raises.check(lambda n: (_ for _ in ()).throw(ValueError(n)), status="DEVICE_ERROR", args=["cuda"])


# ── adapters: guards written elsewhere, with their own exceptions and argument order ──────────────────
class VocabMismatch(ValueError):
    """A user's refusal: no `.status` at all, so its class name is the verdict."""


class Verdict:
    def __init__(self, code):
        self.code = code


def user_vocab_check(model_vocab, tokenizer_vocab):  # the user's order: model first
    if tokenizer_vocab > model_vocab:
        raise VocabMismatch(f"tokenizer emits {tokenizer_vocab} ids, the model embeds {model_vocab}")


def test_a_users_vocab_check_with_its_own_exception_and_order(falsified):
    user = {
        "arguments": ["model_vocab", "tokenizer_vocab"],
        "raises": "ValueError",
        "status": "VocabMismatch",
    }
    search(preflight_rejection, user_vocab_check, guard="vocab", **user)
    # the default order feeds (tokenizer, model) into (model, tokenizer): refusals swap
    falsified(preflight_rejection, user_vocab_check, guard="vocab", raises="ValueError", status=None)

    def crashes(model_vocab, tokenizer_vocab):  # a TypeError is a crash, not the declared refusal
        if tokenizer_vocab > model_vocab:
            raise TypeError("bug")

    falsified(preflight_rejection, crashes, guard="vocab", **user)


def test_status_of_and_labels_read_a_users_verdicts(monkeypatch, falsified):
    import pv.runtime

    class Halt(Exception):
        def __init__(self, why):
            super().__init__(why)
            self.why = why

    adapters = {"tests:why": lambda exc: exc.why, "tests:code": lambda v: v.code}
    monkeypatch.setattr(pv.runtime, "resolve", lambda target: adapters[target])

    def guard(val_loss, prev_val_loss, mode, vocab_size):  # no epoch argument
        if not math.isfinite(val_loss):
            raise Halt("nan")
        limit = 2 * math.log(vocab_size) if prev_val_loss is None else 2.0 * prev_val_loss
        if val_loss > limit:
            raise Halt("diverged")

    user = {
        "arguments": ["val_loss", "prev_val_loss", "mode", "vocab_size"],
        "status_of": "tests:why",
        "labels": {"nonfinite": "nan", "divergence": "diverged"},
        "raises": "Halt",
    }
    search(loss_guard, guard, rule="epoch", vocab_size=2048, **user)
    falsified(loss_guard, guard, rule="epoch", vocab_size=2048, **{**user, "raises": "KeyError"})

    def verdict(target_loss, val_losses, completed):
        if val_losses and min(val_losses) <= target_loss:
            return Verdict("converged")
        return Verdict("budget-spent" if completed else "stopped")

    names = {"ok": "converged", "not_converged": "budget-spent", "early_stop": "stopped"}
    order = ["target_loss", "val_losses", "completed"]
    search(convergence_verdict, verdict, arguments=order, verdict_of="tests:code", labels=names)

    def strict(target_loss, val_losses, completed):  # reaching the target exactly is not enough
        if val_losses and min(val_losses) < target_loss:
            return Verdict("converged")
        return Verdict("budget-spent" if completed else "stopped")

    falsified(convergence_verdict, strict, arguments=order, verdict_of="tests:code", labels=names)


def test_raises_by_class_without_a_status():
    def device(name):
        raise VocabMismatch(name)

    raises.check(device, raises="ValueError", args=["cuda"])
    raises.check(device, raises=f"{__name__}:VocabMismatch", args=["cuda"])
    with pytest.raises(AssertionError, match="not the declared KeyError"):
        raises.check(device, raises="KeyError", args=["cuda"])
    with pytest.raises(ValueError, match="needs `status` or `raises`"):
        raises.check(device, args=["cuda"])
