"""What `pv generate` wrote into an output directory: `.pv-generated.json`, names + content hashes.

Generation removes a module only when the manifest says pv wrote it and its bytes still hash to what
pv wrote: never another project's module in the same directory, never a hand-written test that copies
the header line, never a generated module someone edited since. It overwrites a module only when the
manifest vouches for it or it starts with pv's header (modules from before the manifest existed).

API: Manifest.read(out_dir) / .entries / .owns(path) / .render() / sha256_text(text)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = ".pv-generated.json"
FORMAT = 1
MAX_BYTES = 4 * 1024 * 1024
# Written into an output directory that has no __init__.py: a package's test modules are imported
# under the package's name, so `test_tokenizer.py` here cannot collide with a project's own
# tests/test_tokenizer.py (pytest's default import mode refuses two modules of one basename).
PACKAGE_INIT = "# written by pv generate: makes the generated tests a package (no module name clashes)\n"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class Manifest:
    out_dir: Path
    entries: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {source, sha256}
    problem: str = ""  # why an existing manifest was ignored (unreadable, malformed)

    @property
    def path(self) -> Path:
        return self.out_dir / FILE_NAME

    @classmethod
    def read(cls, out_dir: Path) -> Manifest:
        manifest = cls(Path(out_dir))
        try:
            if not manifest.path.is_file():
                return manifest
            if manifest.path.stat().st_size > MAX_BYTES:
                raise ValueError("too large")
            raw = json.loads(manifest.path.read_bytes())
            files = raw["files"] if isinstance(raw, dict) and raw.get("format") == FORMAT else None
            if not isinstance(files, dict):
                raise ValueError("not a pv manifest")
            for name, entry in files.items():
                ok = isinstance(entry, dict) and all(
                    isinstance(entry.get(k), str) for k in ("source", "sha256")
                )
                if ok and _plain_name(name):
                    manifest.entries[name] = {"source": entry["source"], "sha256": entry["sha256"]}
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            manifest.entries, manifest.problem = {}, f"{manifest.path}: ignored ({type(exc).__name__}: {exc})"
        return manifest

    def owns(self, path: Path) -> bool:
        """pv wrote `path` and nobody changed it since."""
        entry = self.entries.get(path.name)
        return entry is not None and sha256_file(path) == entry["sha256"]

    def record(self, name: str, source: str, text: str) -> None:
        self.entries[name] = {"source": source, "sha256": sha256_text(text)}

    def render(self) -> str:
        files = {name: self.entries[name] for name in sorted(self.entries)}
        return json.dumps({"format": FORMAT, "generator": "pv generate", "files": files}, indent=2) + "\n"


def _plain_name(name: object) -> bool:
    """A bare file name in the output directory (a manifest must not point anywhere else)."""
    return (
        isinstance(name, str)
        and name.endswith(".py")
        and "/" not in name
        and "\\" not in name
        and (name not in (".", "..") and "\0" not in name)
    )
