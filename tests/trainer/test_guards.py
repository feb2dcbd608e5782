"""Guards: each refusal carries the right status, the gate id and the numbers involved."""

from __future__ import annotations

import math

import pytest
import torch

from trainer import guards
from trainer.errors import DeviceError, DivergenceError, NonFiniteError, PreflightError
from trainer.status import RunStatus


def test_vocab_preflight_names_both_numbers_and_the_gate() -> None:
    with pytest.raises(PreflightError) as err:
        guards.vocab_preflight(512, 500)
    msg = str(err.value)
    assert "512" in msg and "500" in msg and "GATE-MODEL-VOCAB" in msg
    assert err.value.status is RunStatus.PREFLIGHT and err.value.gate == "GATE-MODEL-VOCAB"


def test_vocab_preflight_accepts_equal_or_larger_model() -> None:
    guards.vocab_preflight(512, 512)
    guards.vocab_preflight(512, 600)


def test_vocab_preflight_checks_max_token_id() -> None:
    with pytest.raises(PreflightError, match="max token id 512"):
        guards.vocab_preflight(500, 512, max_token_id=512)


def test_budget_preflight_refuses_unless_cycling() -> None:
    assert guards.budget_preflight(100, 100, False) is False
    with pytest.raises(PreflightError) as err:
        guards.budget_preflight(101, 100, False)
    assert "101" in str(err.value) and "100" in str(err.value) and "--allow-shard-cycle" in str(err.value)
    assert guards.budget_preflight(101, 100, True) is True
    with pytest.raises(PreflightError):
        guards.budget_preflight(1, 0, True)


def test_epoch_zero_cap_is_regime_aware() -> None:
    assert guards.epoch_zero_cap("finetune", 512) == 10.0
    assert guards.epoch_zero_cap("from-scratch", 512) == pytest.approx(2 * math.log(512))


@pytest.mark.parametrize(("mode", "ok", "bad"), [("finetune", 10.0, 10.01), ("from-scratch", 12.4, 12.5)])
def test_epoch_zero_cap_enforced(mode: str, ok: float, bad: float) -> None:
    guards.check_epoch(0, ok, None, mode, 512)
    with pytest.raises(DivergenceError) as err:
        guards.check_epoch(0, bad, None, mode, 512)
    assert err.value.status is RunStatus.DIVERGENCE and "GATE-TRAIN-005" in str(err.value)


def test_doubling_rule_is_strict() -> None:
    guards.check_epoch(3, 4.0, 2.0, "from-scratch", 512)  # exactly 2x is allowed
    with pytest.raises(DivergenceError, match=r"4\.0001 > 2 x previous 2\.0000"):
        guards.check_epoch(3, 4.0001, 2.0, "from-scratch", 512)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nonfinite_val_is_nonfinite(value: float) -> None:
    with pytest.raises(NonFiniteError):
        guards.check_epoch(1, value, 2.0, "finetune", 512)


@pytest.mark.parametrize(("loss", "grad"), [(math.nan, 1.5), (2.0, math.inf), (-math.inf, math.nan)])
def test_check_finite(loss: float, grad: float) -> None:
    with pytest.raises(NonFiniteError) as err:
        guards.check_finite(7, loss, grad)
    assert "step 7" in str(err.value) and err.value.status is RunStatus.NONFINITE


def test_check_finite_passes_finite_values() -> None:
    guards.check_finite(1, 3.0, 0.5)


def test_final_status_is_honest() -> None:
    assert guards.final_status([5.0, 2.9], 3.0, True) is RunStatus.OK
    assert guards.final_status([5.0, 3.0], 3.0, True) is RunStatus.OK
    assert guards.final_status([5.0, 3.1], 3.0, True) is RunStatus.NOT_CONVERGED
    assert guards.final_status([5.0, 3.1], 3.0, False) is RunStatus.EARLY_STOP
    assert guards.final_status([], 3.0, True) is RunStatus.NOT_CONVERGED


def test_patience() -> None:
    assert not guards.patience_exhausted([5.0, 4.0, 4.5], None)
    assert guards.patience_exhausted([5.0, 4.0, 4.5], 1)
    assert not guards.patience_exhausted([5.0, 4.0, 4.5, 3.9], 2)
    assert guards.patience_exhausted([5.0, 4.0, 4.5, 4.0], 2)  # equal is no improvement


def test_resolve_device_auto_and_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert guards.resolve_device("auto").type == expected
    assert guards.resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_explicit_cuda_without_cuda_is_an_error() -> None:
    with pytest.raises(DeviceError) as err:
        guards.resolve_device("cuda")
    assert err.value.status is RunStatus.DEVICE_ERROR


def test_unknown_device_is_an_error() -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        guards.resolve_device("tpu")
