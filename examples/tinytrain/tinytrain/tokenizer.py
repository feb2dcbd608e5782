"""A byte-level BPE (HF `tokenizers`) trained in memory on the project's own few strings.

`build_tokenizer()` trains it once per process. Special-token *text* in the input is ordinary text
(`encode_special_tokens`): only code appends `<|endoftext|>` between documents, so a document that
mentions it cannot forge a boundary.
"""

from __future__ import annotations

import functools

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB_SIZE = 320  # 256 bytes + the end-of-text token + 63 merges
EOT = "<|endoftext|>"
SPECIAL_TOKENS = (EOT,)

CORPUS = (
    "def add(a, b):\n    return a + b\n",
    "def mul(a, b):\n    return a * b\n",
    "for i in range(10):\n    print(i, add(i, i), mul(i, i))\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "import math\nprint(math.sqrt(2.0), math.pi)\n",
    "while True:\n    break\n",
    "if x > 0 and y < 0:\n    return None\nelse:\n    return [x, y]\n",
    "with open(path) as handle:\n    text = handle.read()\n",
)


class ByteBPE:
    """encode(str) -> list[int], decode(list[int]) -> str, vocab_size, special_tokens {text: id}."""

    def __init__(self, tok: Tokenizer) -> None:
        self._tok = tok
        self._tok.encode_special_tokens = True  # special text in the input is plain text
        self.special_tokens = {s: tok.token_to_id(s) for s in SPECIAL_TOKENS}

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=False)


@functools.cache
def build_tokenizer(vocab_size: int = VOCAB_SIZE) -> ByteBPE:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte, seen or not
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    return ByteBPE(tok)
