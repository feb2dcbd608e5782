"""`trainer sample` and trainer/inference.py: checkpoint choice, greedy = argmax, seeded = repeatable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trainer.cli import main
from trainer.inference import generate, load_trained, select_checkpoint


def _sample(run: Path, *argv: str):
    return CliRunner().invoke(main, ["sample", "--run-dir", str(run), "--json", *argv])


def test_best_is_the_lowest_val_loss_and_last_the_latest(tiny_run_dir: Path) -> None:
    metas = {e: json.loads(p.read_text()) for e, p in
             ((int(p.name[6:9]), p) for p in (tiny_run_dir / "ckpt").glob("*.metadata.json"))}  # fmt: skip
    best = min(metas, key=lambda e: metas[e]["val_loss"])
    assert select_checkpoint(str(tiny_run_dir), "best")[0] == best
    assert select_checkpoint(str(tiny_run_dir), "last")[0] == max(metas)
    assert select_checkpoint(str(tiny_run_dir), "1")[0] == 1


def test_same_seed_same_samples_other_seed_other_samples(tiny_run_dir: Path) -> None:
    a = _sample(tiny_run_dir, "--seed", "5", "--num-samples", "2", "--max-new-tokens", "12")
    b = _sample(tiny_run_dir, "--seed", "5", "--num-samples", "2", "--max-new-tokens", "12")
    c = _sample(tiny_run_dir, "--seed", "6", "--num-samples", "2", "--max-new-tokens", "12")
    assert a.exit_code == 0, a.output
    sa, sc = json.loads(a.stdout)["samples"], json.loads(c.stdout)["samples"]
    assert sa == json.loads(b.stdout)["samples"]
    assert sa != sc
    assert sa[0] != sa[1]  # two draws from one generator, not one draw twice
    assert all(s["new_tokens"] == 12 or s["stopped"] == "end-of-text" for s in sa)


def test_temperature_zero_is_greedy_argmax(tiny_run_dir: Path) -> None:
    trained = load_trained(tiny_run_dir)
    prompt = trained.tokenizer.encode("def ")
    new = generate(trained.model, prompt, max_new_tokens=6, temperature=0.0, top_k=None,
                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(6):
            ids.append(int(trained.model(torch.tensor([ids]))[0][0, -1].argmax()))
    assert new == ids[len(prompt) :]
    res = [_sample(tiny_run_dir, "--temperature", "0", "--prompt", "def ", "--max-new-tokens", "6",
                   "--seed", str(seed)) for seed in (1, 2)]  # fmt: skip
    assert json.loads(res[0].stdout)["samples"] == json.loads(res[1].stdout)["samples"]  # no randomness
    assert json.loads(res[0].stdout)["samples"][0]["completion"] == trained.tokenizer.decode(new)


def test_top_k_one_is_greedy_too(tiny_run_dir: Path) -> None:
    trained = load_trained(tiny_run_dir)
    prompt = trained.tokenizer.encode("import ")
    kw = {"max_new_tokens": 5, "generator": torch.Generator().manual_seed(3)}
    assert generate(trained.model, prompt, temperature=1.5, top_k=1, **kw) == generate(
        trained.model, prompt, temperature=0.0, top_k=None, **kw
    )


def test_context_longer_than_the_window_is_cropped(tiny_run_dir: Path) -> None:
    trained = load_trained(tiny_run_dir)
    window = trained.model.config.max_seq_len
    long_prompt = list(range(3, 3 + window + 10))  # longer than the positions the model has
    new = generate(trained.model, long_prompt, max_new_tokens=3, temperature=0.0, top_k=None,
                   generator=torch.Generator())  # fmt: skip
    assert len(new) == 3


def test_text_output_shows_prompt_and_completion(tiny_run_dir: Path) -> None:
    res = CliRunner().invoke(main, ["sample", "--run-dir", str(tiny_run_dir), "--prompt", "class ",
                                    "--prompt", "for ", "--max-new-tokens", "4"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stdout.count("--- sample ") == 2
    assert "\nclass " in res.stdout and "\nfor " in res.stdout
    assert "2 sample(s) from" in res.stderr and "seed 0" in res.stderr


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--temperature", "-1"], 2, "-1"),
        (["--checkpoint", "7"], 8, "checkpoints for epochs"),
        (["--max-new-tokens", "0"], 2, "0"),
    ],
)
def test_bad_options(tiny_run_dir: Path, argv: list[str], code: int, message: str) -> None:
    res = _sample(tiny_run_dir, *argv)
    assert res.exit_code == code and message in res.stderr


def test_not_a_run_directory(tmp_path: Path) -> None:
    res = _sample(tmp_path)
    assert res.exit_code == 8 and "no config.json" in res.stderr
