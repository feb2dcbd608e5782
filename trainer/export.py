"""`trainer export --format hf`: a run's checkpoint as a folder HF transformers loads locally.

The folder holds what `LlamaForCausalLM.from_pretrained(OUT)` and `AutoTokenizer.from_pretrained(OUT)`
read: config.json, model.safetensors, generation_config.json, tokenizer.json + tokenizer_config.json
(a PreTrainedTokenizerFast around our own tokenizer.json), and trainer_export.json (which run, which
checkpoint). It is built in a staging folder and renamed into place: a reader never sees half of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from trainer import hf
from trainer.atomic import staged_dir, write_text_atomic
from trainer.errors import DataError
from trainer.inference import load_trained
from trainer.runlog import publishable
from trainer.tokenizer import EOT, SPECIAL_TOKENS

FORMATS = ("hf",)
MARKER = "config.json"  # what every HF model folder has; --force replaces only such a folder
PROVENANCE = "trainer_export.json"


@dataclass(frozen=True)
class Exported:
    out: str
    epoch: int
    label: str  # "epoch N (step S, val_loss L)"
    parameters: int


def export_hf(
    run_dir: str, out: str, *, which: str = "best", tokenizer: str | None = None, force: bool = False
) -> Exported:
    transformers = hf.import_transformers()
    out_path = Path(out)
    if out_path.exists() and not force:
        raise DataError("already exists; pass --force to replace it, or choose another OUT", path=out)
    trained = load_trained(run_dir, which, tokenizer=tokenizer)
    tok = trained.tokenizer
    pad = tok.special_tokens[SPECIAL_TOKENS[1]]
    special = {"bos_token_id": tok.eot_id, "eos_token_id": tok.eot_id, "pad_token_id": pad}
    model = hf.to_hf_model(trained.model.state_dict(), trained.model.config, **special)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_file=None,
        tokenizer_object=Tokenizer.from_str(tok.to_json()),
        bos_token=EOT,
        eos_token=EOT,
        pad_token=SPECIAL_TOKENS[1],
        model_max_length=trained.model.config.max_seq_len,
        # Our policy: "<|endoftext|>" typed in text is plain bytes; only code emits the special id.
        split_special_tokens=True,
        clean_up_tokenization_spaces=False,
    )
    provenance = {
        "format": "hf-llama",
        "run_dir": str(Path(run_dir).resolve()),
        "epoch": trained.epoch,
        "step": trained.meta.get("step"),
        "val_loss": trained.meta.get("val_loss"),
        "model_sha256": trained.meta.get("model_sha256"),
        "checkpoint": which,
        "tokenizer_fingerprint": tok.fingerprint,
    }
    try:
        with staged_dir(out_path, MARKER, "HF export") as staging:
            transformers.utils.logging.disable_progress_bar()  # the CLI prints one line of its own
            model.save_pretrained(str(staging), safe_serialization=True)
            fast.save_pretrained(str(staging))
            write_text_atomic(staging / PROVENANCE, json.dumps(provenance, indent=2, sort_keys=True) + "\n")
            for path in staging.iterdir():
                publishable(path)  # safetensors creates 0600; the folder is meant to be shared
    except OSError as exc:
        raise DataError(f"cannot write the export: {exc}", path=out) from exc
    params = sum(p.numel() for p in trained.model.parameters())
    return Exported(out, trained.epoch, trained.label, params)
