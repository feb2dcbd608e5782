"""Guards: each refusal carries the right status, the gate id and the numbers involved.

Messages are part of the user contract (they name both numbers, the gate id and the fix), so the
load-bearing ones are asserted verbatim; device branches live in test_guards_device.py.
"""

from __future__ import annotations

import math

import pytest

from trainer import guards
from trainer.errors import DeviceError, DivergenceError, NonFiniteError, PreflightError
from trainer.status import RunStatus


def test_vocab_preflight_names_both_numbers_and_the_gate() -> None:
    with pytest.raises(PreflightError) as err:
        guards.vocab_preflight(512, 500)
    assert str(err.value) == (
        "[GATE-MODEL-VOCAB] tokenizer vocab_size 512 (max token id 511) does not fit the model vocab_size "
        "500: ids >= 500 have no embedding row. Pass --vocab-size 512 (or larger), or omit --vocab-size "
        "to use the tokenizer's."
    )
    assert err.value.status is RunStatus.PREFLIGHT and err.value.gate == "GATE-MODEL-VOCAB"


def test_vocab_preflight_accepts_equal_or_larger_model() -> None:
    guards.vocab_preflight(512, 512)
    guards.vocab_preflight(512, 600)
    guards.vocab_preflight(500, 512, max_token_id=511)  # the last row is usable


def test_vocab_preflight_checks_max_token_id() -> None:
    # The tokenizer's size fits, but one id it emits does not: either condition alone refuses.
    with pytest.raises(PreflightError, match=r"vocab_size 500 \(max token id 512\) does not fit") as err:
        guards.vocab_preflight(500, 512, max_token_id=512)
    assert err.value.gate == "GATE-MODEL-VOCAB"


def test_budget_preflight_boundaries() -> None:
    assert guards.budget_preflight(100, 100, False) is False  # exactly the corpus: one pass, no cycling
    assert guards.budget_preflight(1, 1, False) is False  # the smallest non-empty corpus is usable
    assert guards.budget_preflight(1, 1, True) is False  # cycling allowed but not needed
    assert guards.budget_preflight(101, 100, True) is True


def test_budget_preflight_refusal_names_plan_corpus_passes_and_fixes() -> None:
    with pytest.raises(PreflightError) as err:
        guards.budget_preflight(101, 100, False)
    assert str(err.value) == (
        "[GATE-TRAIN-BUDGET] the plan needs 101 training tokens (num_steps x batch_size x seq_length) but "
        "the dataset has 100 (1.01 passes). Lower --num-steps/--batch-size/--seq-length, prepare more "
        "data, or pass --allow-shard-cycle to repeat the shards."
    )
    assert err.value.status is RunStatus.PREFLIGHT and err.value.gate == "GATE-TRAIN-BUDGET"


@pytest.mark.parametrize("corpus", [0, -3])
@pytest.mark.parametrize("allow_cycle", [False, True])
def test_budget_preflight_refuses_an_empty_corpus_even_when_cycling(corpus: int, allow_cycle: bool) -> None:
    with pytest.raises(PreflightError) as err:
        guards.budget_preflight(1, corpus, allow_cycle)
    assert str(err.value) == (
        f"[GATE-TRAIN-BUDGET] the dataset has {corpus} training tokens; prepare a non-empty dataset with "
        "`trainer data prepare`."
    )
    assert err.value.gate == "GATE-TRAIN-BUDGET"


def test_epoch_zero_cap_is_regime_aware() -> None:
    assert guards.epoch_zero_cap("finetune", 512) == 10.0
    assert guards.epoch_zero_cap("finetune", 1) == 10.0  # finetune's cap does not depend on the vocab
    assert guards.epoch_zero_cap("from-scratch", 512) == pytest.approx(2 * math.log(512))
    assert guards.epoch_zero_cap("from-scratch", 2) == pytest.approx(2 * math.log(2))  # smallest vocab


@pytest.mark.parametrize("vocab", [1, 0])
def test_epoch_zero_cap_refuses_a_vocab_below_two(vocab: int) -> None:
    with pytest.raises(PreflightError) as err:
        guards.epoch_zero_cap("from-scratch", vocab)
    assert str(err.value) == f"vocab_size must be >= 2, got {vocab}"
    assert err.value.gate == "GATE-TRAIN-005" and err.value.status is RunStatus.PREFLIGHT


@pytest.mark.parametrize(("mode", "ok", "bad"), [("finetune", 10.0, 10.01), ("from-scratch", 12.4, 12.5)])
def test_epoch_zero_cap_enforced(mode: str, ok: float, bad: float) -> None:
    guards.check_epoch(0, ok, None, mode, 512)
    with pytest.raises(DivergenceError) as err:
        guards.check_epoch(0, bad, None, mode, 512)
    assert err.value.status is RunStatus.DIVERGENCE and err.value.gate == "GATE-TRAIN-005"


def test_epoch_zero_cap_is_inclusive() -> None:
    cap = 2 * math.log(512)
    guards.check_epoch(0, cap, None, "from-scratch", 512)


def test_epoch_zero_messages_name_value_cap_and_rule() -> None:
    with pytest.raises(DivergenceError) as err:
        guards.check_epoch(0, 10.5, None, "finetune", 512)
    assert str(err.value) == (
        "[GATE-TRAIN-005] epoch 0: val_loss 10.5000 exceeds the epoch-0 cap 10.0000 = 10.0 (finetune); "
        "the model is worse than chance. Lower --lr or check --mode."
    )
    with pytest.raises(DivergenceError) as err:
        guards.check_epoch(0, 12.5, None, "from-scratch", 512)
    assert str(err.value) == (
        "[GATE-TRAIN-005] epoch 0: val_loss 12.5000 exceeds the epoch-0 cap 12.4766 = 2*ln(512) "
        "(from-scratch); the model is worse than chance. Lower --lr or check --mode."
    )


def test_epoch_zero_uses_the_cap_even_when_a_previous_loss_is_given() -> None:
    # Epoch 0 has no real predecessor: a passed-in previous value must not switch to the doubling rule.
    guards.check_epoch(0, 5.0, 2.0, "from-scratch", 512)  # 5.0 > 2 x 2.0 but under the 12.48 cap
    with pytest.raises(DivergenceError, match="exceeds the epoch-0 cap"):
        guards.check_epoch(0, 13.0, 10.0, "from-scratch", 512)  # under 2 x 10.0 but over the cap


def test_later_epoch_without_a_previous_loss_uses_the_cap() -> None:
    guards.check_epoch(2, 12.0, None, "from-scratch", 512)
    with pytest.raises(DivergenceError, match=r"epoch 2: val_loss 12\.5000 exceeds the epoch-0 cap"):
        guards.check_epoch(2, 12.5, None, "from-scratch", 512)


def test_later_epoch_ignores_the_cap_once_a_previous_loss_exists() -> None:
    guards.check_epoch(1, 15.0, 8.0, "from-scratch", 512)  # over the epoch-0 cap, under 2 x 8.0


def test_doubling_rule_is_strict() -> None:
    guards.check_epoch(3, 4.0, 2.0, "from-scratch", 512)  # exactly 2x is allowed
    with pytest.raises(DivergenceError) as err:
        guards.check_epoch(3, 4.0001, 2.0, "from-scratch", 512)
    assert str(err.value) == (
        "[GATE-TRAIN-005] epoch 3: val_loss 4.0001 > 2 x previous 2.0000 (= 4.0000); training diverged. "
        "Lower --lr or raise --warmup-steps, then --resume from an earlier checkpoint or restart."
    )
    assert err.value.status is RunStatus.DIVERGENCE and err.value.gate == "GATE-TRAIN-005"


@pytest.mark.parametrize(("value", "shown"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")])
@pytest.mark.parametrize("previous", [2.0, None])
def test_nonfinite_val_is_nonfinite(value: float, shown: str, previous: float | None) -> None:
    with pytest.raises(NonFiniteError) as err:
        guards.check_epoch(1, value, previous, "finetune", 512)
    assert str(err.value) == (
        f"[GATE-TRAIN-007] epoch 1: val_loss is {shown}; lower --lr or raise --warmup-steps."
    )
    assert err.value.status is RunStatus.NONFINITE and err.value.gate == "GATE-TRAIN-007"


@pytest.mark.parametrize(
    ("loss", "grad", "what"),
    [
        (math.nan, 1.5, "loss (loss=nan, grad_norm=1.5)"),
        (2.0, math.inf, "grad_norm (loss=2.0, grad_norm=inf)"),
        (-math.inf, math.nan, "loss and grad_norm (loss=-inf, grad_norm=nan)"),
    ],
)
def test_check_finite(loss: float, grad: float, what: str) -> None:
    with pytest.raises(NonFiniteError) as err:
        guards.check_finite(7, loss, grad)
    assert str(err.value) == (
        f"[GATE-TRAIN-007] step 7: non-finite {what}; the step was not logged. Lower --lr, raise "
        "--warmup-steps, or --resume from the last checkpoint."
    )
    assert err.value.status is RunStatus.NONFINITE and err.value.gate == "GATE-TRAIN-007"


def test_check_finite_passes_finite_values() -> None:
    guards.check_finite(1, 3.0, 0.5)
    guards.check_finite(2, -1e308, 0.0)


def test_final_status_is_honest() -> None:
    assert guards.final_status([5.0, 2.9], 3.0, True) is RunStatus.OK
    assert guards.final_status([5.0, 3.0], 3.0, True) is RunStatus.OK
    assert guards.final_status([2.9, 5.0], 3.0, False) is RunStatus.OK  # the best epoch counts
    assert guards.final_status([5.0, 3.1], 3.0, True) is RunStatus.NOT_CONVERGED
    assert guards.final_status([5.0, 3.1], 3.0, False) is RunStatus.EARLY_STOP


def test_final_status_without_evaluations_is_never_ok() -> None:
    assert guards.final_status([], 3.0, True) is RunStatus.NOT_CONVERGED
    assert guards.final_status([], 3.0, False) is RunStatus.EARLY_STOP
    assert guards.final_status([], math.inf, True) is RunStatus.NOT_CONVERGED  # even a target nothing misses


def test_patience() -> None:
    assert not guards.patience_exhausted([5.0, 4.0, 4.5], None)
    assert guards.patience_exhausted([5.0, 4.0, 4.5], 1)
    assert not guards.patience_exhausted([5.0, 4.0, 4.5, 3.9], 2)
    assert guards.patience_exhausted([5.0, 4.0, 4.5, 4.0], 2)  # equal is no improvement


@pytest.mark.parametrize("patience", [0, -1])
def test_patience_off_when_not_positive(patience: int) -> None:
    assert not guards.patience_exhausted([5.0, 6.0, 7.0], patience)


def test_patience_needs_more_epochs_than_its_window() -> None:
    # With no epoch before the window there is nothing to improve on.
    assert not guards.patience_exhausted([5.0, 6.0], 2)
    assert not guards.patience_exhausted([], 1)
    assert guards.patience_exhausted([5.0, 6.0, 7.0], 2)


def test_patience_window_is_the_last_epochs() -> None:
    # Window of 2 over 3 epochs: an improvement at index 1 counts even though index 2 got worse.
    assert not guards.patience_exhausted([5.0, 4.0, 6.0], 2)
    # The best-before is the minimum of everything before the window, not the first epoch.
    assert guards.patience_exhausted([5.0, 3.0, 4.0, 3.5], 2)
    assert not guards.patience_exhausted([5.0, 3.0, 4.0, 2.5], 1)


def test_memory_preflight_refuses_only_what_cannot_fit() -> None:
    assert guards.TRAIN_BYTES_PER_PARAM == 16  # float32 weights, gradients and two AdamW moments
    guards.memory_preflight(1000, 16_000, "cpu")  # exactly fits
    guards.memory_preflight(10**12, None, "mps")  # free memory unknown: nothing to judge
    with pytest.raises(DeviceError) as err:
        guards.memory_preflight(1001, 16_000, "cuda:0")
    assert str(err.value) == (
        "[GATE-TRAIN-DEVICE] the model has 1,001 parameters: training needs at least 0.0 GiB (weights, "
        "gradients, AdamW state) but cuda:0 has 0.0 GiB available; lower --vocab-size or choose a smaller "
        "--model"
    )
    with pytest.raises(DeviceError, match=r"needs at least 32\.0 GiB .* cpu has 2\.0 GiB available"):
        guards.memory_preflight(2**31, 2**31, "cpu")
