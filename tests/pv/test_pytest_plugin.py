"""pv's pytest plugin (pytest11 entry point `pv`) in scratch projects, each run in its own pytest.

What it must do: register the `falsifier` marker, load pv's hypothesis profile only when one is
selected, run `expensive=True` falsifiers without shrinking, stream per-test results as they happen
(a SIGKILL mid-run keeps the earlier verdicts and names the dying test) — and change nothing in a run
that asks for none of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pv.gate import plugin_args

PROBE = """\
import json

from hypothesis import given, settings, strategies as st


def test_settings():
    s = settings.default
    print("PROBE " + json.dumps({
        "derandomize": s.derandomize,
        "database": s.database is not None,
        "deadline": None if s.deadline is None else s.deadline.total_seconds(),
        "max_examples": s.max_examples,
    }))


@given(st.integers())
def test_drawn(n):
    assert isinstance(n, int)
"""


def _pytest(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # This suite's own pv settings must not leak into the scratch run (its ci profile points hypothesis'
    # storage at a temporary directory through the environment).
    own = ("PV_PROFILE", "PV_GATE_REPORT", "HYPOTHESIS_STORAGE_DIRECTORY")
    full_env = {k: v for k, v in os.environ.items() if k not in own}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", *args],
        cwd=root,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _probe(result: subprocess.CompletedProcess) -> dict:
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :])


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A user project of its own: a rootdir config without pv settings, one hypothesis test file."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_probe.py").write_text(PROBE)
    return tmp_path


def test_the_plugin_is_installed_through_its_entry_point() -> None:
    assert plugin_args() == ["-p", "pv"]


def test_an_unrelated_run_is_unchanged(scratch: Path) -> None:
    # Same hypothesis settings with pv's plugin loaded as with it blocked: hypothesis' own defaults
    # (random, a database, the 200 ms deadline), and no `.hypothesis/` beyond what hypothesis makes.
    with_pv, without = _pytest(scratch), _pytest(scratch, "-p", "no:pv")
    assert with_pv.returncode == 0 and without.returncode == 0, with_pv.stdout + with_pv.stderr
    assert _probe(with_pv) == _probe(without)
    assert _probe(with_pv) == {"derandomize": False, "database": True, "deadline": 0.2, "max_examples": 100}


def test_markers_and_strict_markers_in_a_user_project(scratch: Path) -> None:
    (scratch / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    (scratch / "test_marked.py").write_text(
        'import pytest\n\n\n@pytest.mark.falsifier("FALSIFY-X-001")\ndef test_x():\n    pass\n'
    )
    listed = _pytest(scratch, "--markers")
    assert "@pytest.mark.falsifier(id, expensive=False)" in listed.stdout
    run = _pytest(scratch, "test_marked.py")
    assert run.returncode == 0, run.stdout + run.stderr
    blocked = _pytest(scratch, "-p", "no:pv", "test_marked.py")  # the check is real: without pv, refused
    assert blocked.returncode != 0 and "'falsifier' not found in `markers`" in blocked.stdout + blocked.stderr


def test_grouped_falsifiers_pass_strict_markers_without_xdist(scratch: Path) -> None:
    # Kinds with a GROUP (record-schema, the run kinds) render `xdist_group`; a user's venv without
    # pytest-xdist must still collect them (`-p no:xdist` stands in for xdist not installed).
    (scratch / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers -p no:xdist\n")
    (scratch / "test_grouped.py").write_text(
        'import pytest\n\n\n@pytest.mark.falsifier("FALSIFY-X-001")\n'
        '@pytest.mark.xdist_group("tiny-run")\ndef test_x():\n    pass\n'
    )
    (scratch / "test_group_only.py").write_text(
        'import pytest\n\n\n@pytest.mark.xdist_group("tiny-run")\ndef test_y():\n    pass\n'
    )
    run = _pytest(scratch, "test_grouped.py", "test_group_only.py")
    assert run.returncode == 0, run.stdout + run.stderr
    blocked = _pytest(scratch, "-p", "no:pv", "test_group_only.py")  # the check is real: without pv, refused
    refused = "'xdist_group' not found in `markers`"
    assert blocked.returncode != 0 and refused in blocked.stdout + blocked.stderr


@pytest.mark.parametrize(
    ("how", "args", "env", "ini"),
    [
        ("option", ("--pv-profile", "ci"), {}, ""),
        ("environment", (), {"PV_PROFILE": "ci"}, ""),
        ("ini key", (), {}, "pv_profile = ci\n"),
    ],
)
def test_the_ci_profile_when_selected(scratch: Path, how, args, env, ini) -> None:
    (scratch / "pytest.ini").write_text(f"[pytest]\n{ini}")
    result = _pytest(scratch, *args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _probe(result) == {"derandomize": True, "database": False, "deadline": None, "max_examples": 40}
    assert not (scratch / ".hypothesis").exists(), how  # no example database written


def test_option_beats_environment_and_ini_and_bad_names_are_refused(scratch: Path) -> None:
    (scratch / "pytest.ini").write_text("[pytest]\npv_profile = ci\n")
    result = _pytest(scratch, "--pv-profile", "none", env={"PV_PROFILE": "ci"})
    assert _probe(result)["derandomize"] is False
    bad = _pytest(scratch, env={"PV_PROFILE": "fast"})
    assert bad.returncode == 4 and "pv profile 'fast' is unknown" in bad.stdout + bad.stderr


def test_expensive_falsifiers_run_without_shrinking(scratch: Path) -> None:
    (scratch / "test_exp.py").write_text(
        textwrap.dedent("""\
        import pytest
        from hypothesis import Phase, given, strategies as st


        @pytest.mark.falsifier("FALSIFY-X-001", expensive=True)
        @given(st.integers())
        def test_expensive(n):
            pass


        @pytest.mark.falsifier("FALSIFY-X-002")
        @given(st.integers())
        def test_cheap(n):
            pass


        def test_zz_phases():
            def shrinks(fn):
                return Phase.shrink in fn._hypothesis_internal_use_settings.phases

            assert not shrinks(test_expensive) and shrinks(test_cheap)
        """)
    )
    result = _pytest(scratch, "test_exp.py")
    assert result.returncode == 0, result.stdout + result.stderr


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_results_stream_as_they_happen_and_survive_a_sigkill(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_run.py").write_text(
        textwrap.dedent("""\
        import os
        import signal

        import pytest


        def test_a_pass():
            pass


        def test_b_fail():
            assert 1 == 2, "one is not two"


        def test_c_skip():
            pytest.skip("not here")


        def test_d_killed():
            os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does


        def test_e_never():
            pass
        """)
    )
    report = tmp_path / "report.jsonl"
    result = _pytest(tmp_path, "--pv-report", str(report))
    assert result.returncode == -9
    events = _events(report)
    ends = {e["nodeid"].rpartition("::")[2]: e for e in events if e["event"] == "end"}
    assert {k: v["outcome"] for k, v in ends.items()} == {
        "test_a_pass": "passed",
        "test_b_fail": "failed",
        "test_c_skip": "skipped",
    }
    assert "one is not two" in ends["test_b_fail"]["message"] and "not here" in ends["test_c_skip"]["message"]
    started = [e["nodeid"].rpartition("::")[2] for e in events if e["event"] == "start"]
    assert started[-1] == "test_d_killed" and "test_d_killed" not in ends  # named: started, never ended
    assert "test_e_never" not in started
    assert events[0]["event"] == "session" and not any(e["event"] == "finish" for e in events)


def test_no_report_no_reordering(tmp_path: Path) -> None:
    # Cheapest-first ordering is the gate's; a plain run keeps the collection order.
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers = xdist_group(name): g\n")
    (tmp_path / "test_order.py").write_text(
        "import pytest\n\n\n@pytest.mark.xdist_group('g')\ndef test_1():\n    pass\n\n\n"
        "def test_2():\n    pass\n"
    )
    plain = _pytest(tmp_path, "-vv")
    assert plain.stdout.index("test_1") < plain.stdout.index("test_2")
    gate = _pytest(tmp_path, "-vv", "--pv-report", str(tmp_path / "r.jsonl"))
    assert gate.stdout.index("test_2 PASSED") < gate.stdout.index("test_1 PASSED")
