"""`trainer export --format hf`: transformers loads the folder locally, and it computes our logits.

One export of the shared tiny run (module scope) serves the loading checks; the CLI checks write their
own small exports to tmp paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trainer.cli import main
from trainer.inference import load_trained

transformers = pytest.importorskip("transformers", reason="HF export needs transformers (pv[dev])")

ATOL = RTOL = 1e-5  # float32 on both sides; see test_hf.py for the observed differences
TEXTS = [
    "def f(x):\n    return x + 1\n",
    "  tabs\tand   spaces  ",
    "naïve café — 🙂",
    "<|endoftext|> typed as text",
]


@pytest.fixture(scope="module")
def exported(tiny_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "hf"
    res = CliRunner().invoke(main, ["export", "--format", "hf", str(tiny_run_dir), str(out)])
    assert res.exit_code == 0, res.output
    assert "exported epoch" in res.stdout
    return out


def test_from_pretrained_logits_equal_ours(exported: Path, tiny_run_dir: Path) -> None:
    hf_model = transformers.AutoModelForCausalLM.from_pretrained(exported, local_files_only=True).eval()
    assert type(hf_model).__name__ == "LlamaForCausalLM"
    ours = load_trained(tiny_run_dir, "best")
    ids = torch.randint(0, ours.model.config.vocab_size, (2, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(hf_model(input_ids=ids).logits, ours.model(ids)[0], atol=ATOL, rtol=RTOL)


def test_best_checkpoint_is_the_lowest_val_loss(exported: Path, tiny_run_dir: Path) -> None:
    provenance = json.loads((exported / "trainer_export.json").read_text())
    metas = sorted((tiny_run_dir / "ckpt").glob("*.metadata.json"))
    losses = {json.loads(p.read_text())["epoch"]: json.loads(p.read_text())["val_loss"] for p in metas}
    assert provenance["epoch"] == min(losses, key=losses.get)
    assert provenance["val_loss"] == min(losses.values())


def test_fast_tokenizer_encodes_and_decodes_like_ours(exported: Path, tiny_run_dir: Path) -> None:
    hf_tok = transformers.AutoTokenizer.from_pretrained(exported, local_files_only=True)
    ours = load_trained(tiny_run_dir).tokenizer
    assert hf_tok.is_fast
    assert hf_tok.eos_token == "<|endoftext|>" and hf_tok.eos_token_id == ours.eot_id
    assert hf_tok.pad_token_id == ours.special_tokens["<|pad|>"]
    for text in TEXTS:
        ids = ours.encode(text)
        assert hf_tok(text)["input_ids"] == ids  # no BOS/EOS added, special text stays bytes
        assert hf_tok.decode(ids) == text


def test_existing_out_is_refused_without_force_and_replaced_with_it(
    tiny_run_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hf"
    runner = CliRunner()
    assert runner.invoke(main, ["export", str(tiny_run_dir), str(out), "--checkpoint", "0"]).exit_code == 0
    again = runner.invoke(main, ["export", str(tiny_run_dir), str(out), "--checkpoint", "last"])
    assert again.exit_code == 8 and "already exists; pass --force" in again.stderr
    assert json.loads((out / "trainer_export.json").read_text())["epoch"] == 0  # untouched
    forced = runner.invoke(main, ["export", str(tiny_run_dir), str(out), "--checkpoint", "last", "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "trainer_export.json").read_text())["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]  # no staging folder left behind


def test_force_never_wipes_an_unrelated_folder(tiny_run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = CliRunner().invoke(main, ["export", str(tiny_run_dir), str(out), "--force"])
    assert res.exit_code == 8 and "refusing to overwrite" in res.stderr
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--checkpoint", "9"], "checkpoints for epochs [0, 1, 2]"),
        (["--checkpoint", "worst"], "use best (lowest val loss), last, or an epoch number"),
        (["--tokenizer", "/nonexistent/tok"], "pass --tokenizer DIR"),
    ],
)
def test_bad_choices_are_clear_errors(
    tiny_run_dir: Path, tmp_path: Path, argv: list[str], message: str
) -> None:
    res = CliRunner().invoke(main, ["export", str(tiny_run_dir), str(tmp_path / "hf"), *argv])
    assert res.exit_code == 8 and message in res.stderr and res.exception.__class__ is SystemExit
    assert not (tmp_path / "hf").exists()


def test_a_synthetic_run_has_nothing_to_export(tiny_run_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "synth"
    run.mkdir()
    (run / "config.json").write_text((tiny_run_dir / "config.json").read_text())
    res = CliRunner().invoke(main, ["export", str(run), str(tmp_path / "hf")])
    assert res.exit_code == 8 and "has no checkpoint" in res.stderr
