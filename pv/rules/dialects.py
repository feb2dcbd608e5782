"""PV9xx: files written in another contract dialect (recognised, not validated as pv/v1)."""

from __future__ import annotations

from pv.findings import Severity
from pv.rules._doc import doc
from pv.rules.registry import Rule, register

FOREIGN_DIALECT = register(
    Rule(
        "PV901",
        "foreign-dialect",
        Severity.WARNING,
        "The file is a contract in another dialect (aprender, kernel), not pv/v1.",
        doc(
            "Recognises older contract dialects by their top-level keys and, where pv has a checker for "
            "the dialect, runs it; otherwise it reports the file once instead of a wall of schema errors.",
            "pv/v1 rules (gates, falsifiers, coverage) cannot see into another dialect, so the file guards "
            "less than a pv/v1 contract would.",
            "contract_id: tokenizer-bpe-v1\nproof_obligations: ...",
            "schema: pv/v1\nid: C-TOKENIZER-BPE\n...",
        ),
        "Run `pv migrate` on the file to convert it to pv/v1.",
    )
)
