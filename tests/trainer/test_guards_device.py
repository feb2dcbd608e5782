"""resolve_device on every branch: CUDA and MPS presence is monkeypatched, so this runs on a CPU box.

An explicitly requested device that is missing is an error (exit 9), never a silent fallback.
"""

from __future__ import annotations

import types

import pytest
import torch

from trainer import guards
from trainer.errors import DeviceError
from trainer.status import RunStatus


@pytest.fixture
def cuda(monkeypatch: pytest.MonkeyPatch):
    """Pretend `count` CUDA devices exist (0 means CUDA is unavailable)."""

    def set_count(count: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)

    return set_count


@pytest.fixture
def mps(monkeypatch: pytest.MonkeyPatch):
    def set_available(available: bool) -> None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: available)

    return set_available


@pytest.mark.parametrize(("count", "expected"), [(0, "cpu"), (1, "cuda"), (2, "cuda")])
def test_auto_prefers_cuda_when_present(cuda, count: int, expected: str) -> None:
    cuda(count)
    assert guards.resolve_device("auto") == torch.device(expected)


@pytest.mark.parametrize("spelling", ["cpu", " CPU ", "Cpu"])
def test_cpu_is_always_available_and_spelling_is_lenient(cuda, spelling: str) -> None:
    cuda(1)  # an explicit cpu stays cpu even where CUDA exists
    assert guards.resolve_device(spelling) == torch.device("cpu")


def test_auto_spelling_is_lenient(cuda) -> None:
    cuda(1)
    assert guards.resolve_device(" AUTO\n") == torch.device("cuda")


@pytest.mark.parametrize(
    ("requested", "count", "expected"),
    [("cuda", 1, torch.device("cuda")), ("cuda:0", 1, torch.device("cuda", 0)),
     ("cuda:1", 2, torch.device("cuda", 1)), (" CUDA:1 ", 2, torch.device("cuda", 1))],
)  # fmt: skip
def test_explicit_cuda_when_present(cuda, requested: str, count: int, expected: torch.device) -> None:
    cuda(count)
    assert guards.resolve_device(requested) == expected


@pytest.mark.parametrize("requested", ["cuda", "cuda:0", "CUDA:1"])
def test_explicit_cuda_without_cuda_is_an_error(cuda, requested: str) -> None:
    cuda(0)
    with pytest.raises(DeviceError) as err:
        guards.resolve_device(requested)
    assert str(err.value) == (
        f"[GATE-TRAIN-DEVICE] --device {requested} requested but CUDA is not available "
        f"(torch {torch.__version__}, cuda build: {torch.version.cuda}); use --device cpu or auto."
    )
    assert err.value.status is RunStatus.DEVICE_ERROR


@pytest.mark.parametrize(("requested", "count"), [("cuda:1", 1), ("cuda:2", 2), ("Cuda:3", 1)])
def test_cuda_index_beyond_the_device_count_is_an_error(cuda, requested: str, count: int) -> None:
    cuda(count)
    with pytest.raises(DeviceError) as err:
        guards.resolve_device(requested)
    assert str(err.value) == f"[GATE-TRAIN-DEVICE] --device {requested}: only {count} CUDA device(s)."
    assert err.value.status is RunStatus.DEVICE_ERROR


@pytest.mark.parametrize("spelling", ["mps", " MPS "])
def test_mps_when_present(mps, spelling: str) -> None:
    mps(True)
    assert guards.resolve_device(spelling) == torch.device("mps")


def test_mps_missing_is_an_error(mps) -> None:
    mps(False)
    with pytest.raises(DeviceError) as err:
        guards.resolve_device("MPS")
    assert str(err.value) == (
        "[GATE-TRAIN-DEVICE] --device mps requested but MPS is not available; use --device cpu or auto."
    )
    assert err.value.status is RunStatus.DEVICE_ERROR


def test_mps_missing_from_the_torch_build_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Builds without torch.backends.mps exist (older torch); `delattr` cannot hide the lazily loaded
    # submodule, so swap in a backends namespace that lacks it.
    monkeypatch.setattr(torch, "backends", types.SimpleNamespace())
    with pytest.raises(DeviceError, match="MPS is not available"):
        guards.resolve_device("mps")


@pytest.mark.parametrize("requested", ["tpu", "", "gpu", "cpu0"])
def test_unknown_device_is_an_error(cuda, requested: str) -> None:
    cuda(1)
    with pytest.raises(DeviceError) as err:
        guards.resolve_device(requested)
    assert str(err.value) == (
        f"[GATE-TRAIN-DEVICE] unknown device {requested!r}; use auto, cpu, cuda[:N] or mps."
    )
    assert err.value.status is RunStatus.DEVICE_ERROR


@pytest.mark.parametrize("spec", ["cuda:abc", "cuda:-1", "cuda:0:1", "cudax"])
@pytest.mark.parametrize("count", [0, 2])
def test_malformed_cuda_spec_is_a_device_error_not_a_torch_traceback(cuda, count: int, spec: str) -> None:
    cuda(count)
    with pytest.raises(DeviceError, match="malformed device") as exc:
        guards.resolve_device(spec)
    assert exc.value.status is RunStatus.DEVICE_ERROR
