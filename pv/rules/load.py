"""PV0xx: the file could not be read or parsed into one safe YAML mapping.

These rules are emitted by `pv.loader` itself (before any other check runs); this module only
registers their records and docs.
"""

from __future__ import annotations

from pv.findings import Severity
from pv.rules._doc import doc as _doc
from pv.rules.registry import Rule, register

E = Severity.ERROR


FILE_UNREADABLE = register(
    Rule(
        "PV001",
        "file-unreadable",
        E,
        "The path cannot be read as a file (missing, a directory, no permission, a symlink loop).",
        _doc(
            "Reports a contract path that cannot be opened and read.",
            "A contract nobody can read guards nothing; silently skipping it would overstate coverage.",
            "# contracts/model.yaml -> symlink to itself",
            "# a regular, readable UTF-8 file",
        ),
        "Point pv at a readable regular file, or fix its permissions.",
    )
)
FILE_TOO_LARGE = register(
    Rule(
        "PV002",
        "file-too-large",
        E,
        "The file is larger than the configured size cap ([tool.pv].max_bytes, default 2 MiB).",
        _doc(
            "Refuses files above the size cap before reading them whole.",
            "Contracts are prose-sized. A huge file is a mistake or an attempt to exhaust memory.",
            "# a 50 MB generated dump",
            "# split it into one contract per component",
        ),
        "Split the contract, or raise [tool.pv].max_bytes if the size is intended.",
    )
)
INVALID_ENCODING = register(
    Rule(
        "PV003",
        "invalid-encoding",
        E,
        "The file is not valid UTF-8 text (bad bytes, NUL bytes).",
        _doc(
            "Decodes the bytes strictly as UTF-8 and rejects NUL bytes, naming the line.",
            "YAML 1.2 files are Unicode text; guessing an encoding changes ids and statements silently.",
            "id: C-MODEL\\xff",
            "id: C-MODEL",
        ),
        "Re-save the file as UTF-8 and remove the offending bytes.",
    )
)
YAML_SYNTAX = register(
    Rule(
        "PV004",
        "yaml-syntax",
        E,
        "The file is not well-formed YAML.",
        _doc(
            "Reports the first YAML syntax error with its line and column.",
            "Nothing else can be checked until the file parses.",
            "invariants: [INV-A-001",
            "invariants: [INV-A-001]",
        ),
        "Fix the YAML syntax at the reported position.",
    )
)
DUPLICATE_KEY = register(
    Rule(
        "PV005",
        "duplicate-key",
        E,
        "A mapping states the same key twice.",
        _doc(
            "Reports the second occurrence of a key within one mapping.",
            "YAML 1.2 forbids duplicate keys; most loaders keep the last value silently, so an "
            "edit to the first copy has no effect.",
            "version: 1.0.0\nversion: 1.1.0",
            "version: 1.1.0",
        ),
        "Remove one of the two entries.",
    )
)
UNSAFE_TAG = register(
    Rule(
        "PV006",
        "unsupported-tag",
        E,
        "A node carries an explicit tag other than the YAML core ones (e.g. !!python/object).",
        _doc(
            "Rejects every explicit tag outside str, int, float, bool, null, map and seq.",
            "Language-specific tags ask a loader to build objects or run code; contracts are data only.",
            "target: !!python/object/apply:os.system [rm -rf /]",
            "target: trainer.model:GPT",
        ),
        "Remove the tag and write the value as plain data.",
    )
)
ALIAS_LIMIT = register(
    Rule(
        "PV007",
        "alias-limit",
        E,
        "The document uses too many aliases, a recursive alias, or expands beyond the node budget.",
        _doc(
            "Counts aliases and expanded nodes while loading and stops beyond the limits.",
            'Aliases nest exponentially ("billion laughs"): a few lines can expand to gigabytes.',
            "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]",
            "# write the values out; contracts rarely need anchors",
        ),
        "Write the values out instead of using anchors and aliases.",
    )
)
TOO_DEEP = register(
    Rule(
        "PV008",
        "nesting-too-deep",
        E,
        "Collections are nested deeper than the depth limit (64).",
        _doc(
            "Stops loading when mappings/sequences nest deeper than 64 levels.",
            "No contract needs that depth; unbounded nesting exhausts the stack of recursive tools.",
            "params: [[[[[[[[...]]]]]]]]",
            "params: {depth: 8}",
        ),
        "Flatten the structure.",
    )
)
EMPTY_DOCUMENT = register(
    Rule(
        "PV009",
        "empty-document",
        E,
        "The file holds no YAML document (empty, or only comments).",
        _doc(
            "Reports files with nothing to validate.",
            "An empty contract is not a passing contract: it states nothing.",
            "# TODO",
            "schema: pv/v1\nid: C-MODEL\n...",
        ),
        "Write the contract, or delete the file.",
    )
)
MULTIPLE_DOCUMENTS = register(
    Rule(
        "PV010",
        "multiple-documents",
        E,
        "The file holds more than one YAML document (`---` separators).",
        _doc(
            "Reports streams with several documents.",
            "One file is one contract; tools that read only the first document would miss the rest.",
            "id: C-A\n---\nid: C-B",
            "# one contract per file",
        ),
        "Split the documents into one file each.",
    )
)
ROOT_NOT_MAPPING = register(
    Rule(
        "PV011",
        "root-not-mapping",
        E,
        "The document's top level is not a mapping.",
        _doc(
            "Requires the top-level node to be a mapping of contract fields.",
            "A contract is a set of named fields; a list or scalar cannot be one.",
            "- id: C-A",
            "id: C-A",
        ),
        "Make the top level a mapping (key: value lines).",
    )
)
NON_SCALAR_KEY = register(
    Rule(
        "PV012",
        "non-scalar-key",
        E,
        "A mapping key is itself a mapping or sequence.",
        _doc(
            "Rejects complex keys (`? [a, b]`).",
            "Contracts are JSON-compatible data; JSON keys are strings.",
            "? [a, b]\n: 1",
            "a_b: 1",
        ),
        "Use a plain string key.",
    )
)
SYMLINK_OUTSIDE = register(
    Rule(
        "PV013",
        "symlink-outside-project",
        E,
        "A contract path inside the project is a symlink to a file outside it.",
        _doc(
            "Resolves every contract path that lies inside the project root; one whose real path "
            "leaves the project is refused without being read.",
            "A planted `contracts/x.yaml -> ~/.ssh/config` would make pv read a file outside the "
            "repository and quote its contents in findings (and in CI logs). A contract outside the "
            "project can still be validated by naming its real path.",
            "# contracts/shared.yaml -> /home/me/secrets.yaml",
            "# contracts/shared.yaml: a regular file (or a symlink within the repository)",
        ),
        "Copy the contract into the project, or pass its real path explicitly.",
    )
)
