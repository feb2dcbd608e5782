"""Code injection into generated tests (issue 11): a contract file name with a newline broke out of the
header comment; a contract under `coding:unicode_escape/` declared the module's source encoding, after
which an escaped quote in a repr()'d string ended the literal. Both ran code on import.

Now every contract string passes pv.codegen.escape, the first line pins UTF-8, and a property test
renders drawn hostile strings everywhere a contract can put text, then proves from the module's own
AST and by executing it that the text stayed data."""

from __future__ import annotations

import ast
import builtins
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import contract

# `a'b` repr()'d is 'a\'b'; read as unicode_escape that is 'a'b: the payload below leaves the literal.
ESCAPE_PAYLOAD = "\"'+__import__('pathlib').Path('CANARY').touch()+'"
LINE_PAYLOAD = "x\n__import__('pathlib').Path('CANARY').touch()\n#"


def _import_in_subprocess(module: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Import a generated module as pytest would (bytes → the source's declared encoding)."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('generated_under_test', {str(module)!r})\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(mod)\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def _loss_guard_contract(example: str) -> str:
    """A contract whose pinned example is rendered into an @example(...) decorator: runs on import."""
    text = contract(kind="loss-guard", target="victim.consts:ANSWER", params="{rule: epoch}")
    quoted = example.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return text + f'    examples: [{{trace: "{quoted}"}}]\n'


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("coding:unicode_escape", "demo.yaml"),  # the header declared the source encoding
        ("contracts", "a\n__import__('pathlib').Path('CANARY').touch()\n#.yaml"),  # a newline in the name
    ],
    ids=["coding-folder", "newline-name"],
)
def test_hostile_contract_paths_run_nothing_on_import(project: Path, runner, folder: str, name: str) -> None:
    from pv.cli import cli

    where = project / "contracts" / folder if folder != "contracts" else project / "contracts"
    where.mkdir(parents=True, exist_ok=True)
    (project / "contracts" / "scratch.yaml").unlink()
    (where / name).write_text(_loss_guard_contract(ESCAPE_PAYLOAD))
    validated = runner.invoke(cli, ["validate", "--no-cache", "contracts"])
    assert validated.exit_code == 0, validated.output
    generated = runner.invoke(cli, ["generate"])
    assert generated.exit_code == 0, generated.output
    (module,) = (project / "gen").glob("test_*.py")
    result = _import_in_subprocess(module, project)
    assert not (project / "CANARY").exists(), "contract text ran as code on import"
    assert result.returncode == 0, result.stderr
    assert module.read_text(encoding="utf-8").splitlines()[0] == "# -*- coding: utf-8 -*-"


# ---- the property: any text, anywhere a contract puts it, stays data ---------------------------------

ECHO_KIND = '''"""A kind for the codegen property: draws nothing of interest, checks nothing."""
from hypothesis import strategies as st

NAME = "echo"
SUMMARY = "renders any params and examples"
PARAMS = {"a": "any value", "b": "any value"}
ARGS = ("x",)


def strategies(**params):
    return {"x": st.just(0)}


def check(target, x, **params):
    pass
'''
PAYLOADS = [
    "\n__import__('builtins').PV_CANARY = 1\n",
    "\r__import__('builtins').PV_CANARY = 1\r",
    '"""\n__import__("builtins").PV_CANARY = 1\n"""',
    "'\n__import__('builtins').PV_CANARY = 1\n'",
    ESCAPE_PAYLOAD.replace("pathlib", "builtins").replace(".Path('CANARY').touch()", ".PV_CANARY"),
    "\\",
    "\\'",
    '\\"',
    '"',
    "\\u0027",
    "\\x27",
    "\\N{APOSTROPHE}",
    "# -*- coding: unicode_escape -*-",
    "coding:unicode_escape",
    "\n# coding: latin-1\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\x0c",
    "\x0b",
    "\x00",
    "\x1b[2J",
    "\u202e",
    "\ufeff",
    "\udcff",
    "é→😀",
    "{0}",
    "%s",
    ")",
    "#",
    "$",
]
hostile = st.lists(st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=6)), max_size=5).map("".join)
# A param string that starts with `$` names a contract constant (by design): keep param text off it.
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile.map(lambda s: s.lstrip("$")),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile, inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def echo_registry(tmp_path_factory: pytest.TempPathFactory):
    from pv.kinds import KindRef, KindRegistry

    where = tmp_path_factory.mktemp("echo-kind")
    (where / "pvsec_echo_kind.py").write_text(ECHO_KIND)
    sys.path.insert(0, str(where))
    yield KindRegistry([KindRef("echo", "pvsec_echo_kind", "project", where / "pvsec_echo_kind.py")])
    sys.path.remove(str(where))


def _value(node: ast.expr) -> object:
    """ast.literal_eval, plus the one call pv renders for YAML data: float("inf"/"-inf"/"nan")."""
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "float" and len(node.args) == 1:
        (arg,) = node.args
        assert isinstance(arg, ast.Constant) and arg.value in ("inf", "-inf", "nan"), ast.unparse(node)
        return float(arg.value)
    if isinstance(node, ast.List):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def _collapsed(text: object) -> str:
    return " ".join(str(text).split())


def _assert_data_only(source: str, doc: dict, falsifier: dict) -> None:
    """The module's AST has exactly the generated shape, and every contract value is a literal in it."""
    tree = ast.parse(source.encode("utf-8"))  # bytes: the declared source encoding applies
    assert ast.get_docstring(tree, clean=False) == _collapsed(f"Falsifiers of {doc['id']}: {doc['summary']}")
    *imports, fn = tree.body[1:]
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in imports)
    assert isinstance(fn, ast.FunctionDef) and fn.name == "test_FALSIFY_HOSTILE_001"
    doc_expr, call = fn.body
    assert _collapsed(doc_expr.value.value) == _collapsed(
        f"FALSIFY-HOSTILE-001 attacks {', '.join(falsifier['attacks'])}: {falsifier['description']}"
    )
    assert isinstance(call, ast.Expr) and ast.unparse(call.value.func) == "echo.check"
    assert _value(call.value.args[0].args[0]) == falsifier["target"]
    assert _plain({k.arg: _value(k.value) for k in call.value.keywords}) == _plain(falsifier["params"])
    decorators = [ast.unparse(d.func) for d in fn.decorator_list]
    assert decorators == ["pytest.mark.falsifier", "given", "example"]
    (example_kw,) = fn.decorator_list[2].keywords
    assert _plain(_value(example_kw.value)) == _plain(falsifier["examples"][0]["x"])


def _plain(value: object) -> object:
    """NaN-free comparison form (NaN != NaN)."""
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.nested_given]
)
@given(
    path=hostile,
    cid=hostile,
    version=hostile,
    summary=hostile,
    description=hostile,
    attacks=st.lists(hostile, max_size=2),
    target=hostile,
    a=values,
    b=values,
    example=values,
)
def test_hostile_text_renders_as_data_and_runs_nothing(
    echo_registry, path, cid, version, summary, description, attacks, target, a, b, example
) -> None:
    from pv.generate import Contract, render_contract

    falsifier = {
        "id": "FALSIFY-HOSTILE-001",
        "attacks": attacks,
        "description": description,
        "kind": "echo",
        "target": target or "x",
        "params": {"a": a, "b": b},
        "examples": [{"x": example}],
    }
    doc = {"id": cid, "version": version, "summary": summary, "falsifiers": [falsifier]}
    shown = Path(path or "c.yaml")
    source, ids = render_contract(
        Contract(path=Path("contracts/c.yaml"), doc=doc, source=str(shown)),
        kinds=echo_registry,
        target_packages=(),
    )
    assert ids == ("FALSIFY-HOSTILE-001",)
    namespace: dict = {"__name__": "generated_hostile"}
    try:
        exec(compile(source.encode("utf-8"), "generated.py", "exec"), namespace)
    finally:
        assert not hasattr(builtins, "PV_CANARY"), "contract text ran as code on import"
    assert callable(namespace["test_FALSIFY_HOSTILE_001"])
    lines = source.split("\n")
    assert lines[0] == "# -*- coding: utf-8 -*-" and lines[1].startswith("# generated by pv generate from ")
    _assert_data_only(source, doc, falsifier)
