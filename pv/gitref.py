"""Read contract files as they were at a git ref, through the `git` executable (no library).

Everything here returns data or raises GitRefError; nothing prints. Paths handed in are
filesystem paths (relative to the cwd or absolute); paths handed out are relative to the
repository's top level, POSIX-spelled, as git spells them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pv.errors import PvError

CONTRACT_SUFFIXES = (".yaml", ".yml")
# Remote refs tried, in order, when the base is `auto` and the branch has no upstream.
AUTO_CANDIDATES = ("origin/HEAD", "origin/main", "origin/master")


class GitRefError(PvError):
    """git is missing, the cwd is not in a repository, or the ref does not name a commit."""

    exit_code = 2


class NoBaseError(GitRefError):
    """`--base auto` found nothing to compare against (no repository, no remote branch, no
    merge base). Callers treat this as a clean skip, not a failure."""


@dataclass(frozen=True)
class BaseRef:
    spec: str  # what the user typed, e.g. "origin/main" or "auto"
    commit: str  # full sha
    description: str  # e.g. "merge base of HEAD and origin/main (3f2a1c0)"


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("git")
    if exe is None:
        raise GitRefError("git is not installed or not on PATH; `pv diff --base` needs it.")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, env=env, check=False)


def toplevel(cwd: str | Path = ".") -> Path:
    """The repository root containing `cwd`; GitRefError when there is none."""
    proc = _git(["rev-parse", "--show-toplevel"], Path(cwd))
    if proc.returncode != 0:
        raise GitRefError(
            f"{Path(cwd).resolve()} is not inside a git repository "
            "(`pv diff --base` compares with a commit; use `pv diff OLD NEW` for two files)."
        )
    return Path(proc.stdout.decode().strip()).resolve()


def resolve(spec: str, repo: Path) -> str:
    """The commit sha `spec` names; GitRefError with a hint when it names none."""
    proc = _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], repo)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise GitRefError(
            f"git ref {spec!r} does not name a commit in {repo}. "
            "Fetch it first (`git fetch origin main`), or pass a branch, tag or sha that exists."
        )
    return proc.stdout.decode().strip()


def auto_base(repo: Path) -> BaseRef:
    """Merge base of HEAD with the branch's upstream (or origin/HEAD, origin/main, origin/master).

    NoBaseError when none of those exists or HEAD shares no history with it.
    """
    candidates: list[str] = []
    up = _git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], repo)
    if up.returncode == 0 and up.stdout.strip():
        candidates.append(up.stdout.decode().strip())
    candidates += [c for c in AUTO_CANDIDATES if c not in candidates]
    for cand in candidates:
        check = _git(["rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}"], repo)
        if check.returncode != 0:
            continue
        mb = _git(["merge-base", "HEAD", cand], repo)
        if mb.returncode == 0 and mb.stdout.strip():
            sha = mb.stdout.decode().strip()
            return BaseRef("auto", sha, f"merge base of HEAD and {cand} ({sha[:10]})")
        raise NoBaseError(f"HEAD and {cand} share no history (no merge base).")
    raise NoBaseError(f"no upstream branch and none of {', '.join(AUTO_CANDIDATES)} exists.")


def base_ref(spec: str, cwd: str | Path = ".") -> tuple[Path, BaseRef]:
    """(repository root, resolved base). `spec == "auto"` may raise NoBaseError."""
    if spec == "auto":
        try:
            repo = toplevel(cwd)
        except GitRefError as exc:
            raise NoBaseError(str(exc)) from None
        return repo, auto_base(repo)
    repo = toplevel(cwd)
    sha = resolve(spec, repo)
    return repo, BaseRef(spec, sha, f"{spec} ({sha[:10]})")


def repo_relative(path: str | Path, repo: Path) -> str:
    """`path` (cwd-relative or absolute) as a POSIX path relative to `repo`; GitRefError outside it."""
    p = Path(path).absolute()
    try:
        rel = p.resolve().relative_to(repo)
    except ValueError:
        try:
            rel = p.relative_to(repo)
        except ValueError:
            raise GitRefError(f"{path} lies outside the git repository {repo}.") from None
    return rel.as_posix() or "."


def list_contract_files(commit: str, repo: Path, rel_paths: list[str]) -> list[str]:
    """Every *.yaml / *.yml file under `rel_paths` (files or folders) in `commit`, repo-relative."""
    args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit]
    if rel_paths and "." not in rel_paths:
        args += ["--", *rel_paths]
    proc = _git(args, repo)
    if proc.returncode != 0:
        raise GitRefError(f"git ls-tree {commit[:10]} failed: {proc.stderr.decode(errors='replace').strip()}")
    names = [n for n in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0") if n]
    return sorted(n for n in names if n.endswith(CONTRACT_SUFFIXES))


def read_at(commit: str, repo: Path, rel_path: str) -> bytes | None:
    """The bytes of `rel_path` at `commit`, or None when the file does not exist there."""
    proc = _git(["cat-file", "blob", f"{commit}:{rel_path}"], repo)
    if proc.returncode != 0:
        return None
    return proc.stdout
