"""The package's shape, checked: where imports may point, who may print, how long code may grow.

A walk over every module's syntax tree (nested imports included), so a rule broken
anywhere fails here with the module and line named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "inferplan"
MODULES = sorted(SRC.rglob("*.py"))

# Outside backends/, the backend protocol, its settings and the model description are
# all a module may import from there; engines, GGUF readers and ML runtimes stay inside.
BACKEND_PUBLIC = {"inferplan.backends", "inferplan.backends.base", "inferplan.backends.describe"}
ENGINE_LIBRARIES = {"llama_cpp", "gguf", "torch", "transformers", "openai", "accelerate"}
# The core of planning never touches a backend at all.
BACKEND_FREE = ("stats", "fitting", "policy", "replay", "planner")
CLI_LIBRARIES = {"typer", "rich", "click"}


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0] if len(path.relative_to(SRC).parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            # "from inferplan.backends import llamacpp" imports a submodule too.
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "inferplan.backends"]
    return out


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(SRC.parent)}:{line}"


def test_no_module_outside_backends_imports_an_engine() -> None:
    bad = []
    for path in MODULES:
        if _package(path) == "backends":
            continue
        for line, name in _imports(path):
            top = name.split(".")[0]
            inner = name.startswith("inferplan.backends.") and name not in BACKEND_PUBLIC \
                and name.rsplit(".", 1)[-1] not in ("BackendSettings", "open_backend", "DEFAULT_MODEL", "Backend",
                                                     "token_counter", "prepare", "backend_kind", "model_sha256",
                                                     "chat_template_of")
            if top in ENGINE_LIBRARIES or inner:
                bad.append(f"{_where(path, line)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_planning_core_never_imports_a_backend() -> None:
    bad = [f"{_where(p, line)} imports {name}" for p in MODULES if _package(p) in BACKEND_FREE
           for line, name in _imports(p) if name.startswith("inferplan.backends")]
    assert not bad, "\n".join(bad)


def test_only_the_cli_prints_or_uses_typer_and_rich() -> None:
    bad = []
    for path in MODULES:
        if _package(path) == "cli":
            continue
        bad += [f"{_where(path, line)} imports {name}" for line, name in _imports(path)
                if name.split(".")[0] in CLI_LIBRARIES]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                bad.append(f"{_where(path, node.lineno)} calls print()")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text()
    assert text.count("\n") <= 300, f"{path.name} has {text.count(chr(10))} lines (at most 300)"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(ast.parse(text))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert not long, f"{path.name}: functions over 60 lines: {', '.join(long)}"


def test_api_names_stay_functions_after_every_module_is_imported() -> None:
    # Subpackages must not share a name with an API function: importing the package
    # would rebind ``inferplan.<name>`` to the module.
    import importlib

    import inferplan

    for path in MODULES:
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if name.endswith(("_sandbox_child", "__main__")):
            continue  # scripts to run, not modules to import
        importlib.import_module(name)
    for name in inferplan.__all__:
        assert not type(getattr(inferplan, name)).__name__ == "module", f"inferplan.{name} is a module"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _import_graph() -> dict[str, set[str]]:
    """Module → the inferplan modules it imports (``from pkg import mod`` counts as importing mod)."""
    names = {_module_name(p): p for p in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in names}
            elif isinstance(node, ast.ImportFrom) and node.module in names and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(names)
                targets |= subs or {node.module}
                if len(subs) < len(node.names):
                    targets.add(node.module)
        graph[name] = targets - {name}
    return graph


def _layer_of(module: str) -> str:
    """A module's layer: its subpackage, or the top-level module's own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "inferplan"


def _documented_layers() -> list[str]:
    """The layers in the order docs/architecture.md writes them, lowest first (its ``layers:`` line)."""
    doc = (SRC.parents[1] / "docs" / "architecture.md").read_text()
    line = next(ln for ln in doc.splitlines() if ln.strip().lower().startswith("layers, lowest first:"))
    return [name.strip(" `.") for name in line.split(":", 1)[1].split("→")]


def test_no_import_cycle() -> None:
    import graphlib

    try:
        list(graphlib.TopologicalSorter(_import_graph()).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle: {' → '.join(e.args[1])}")


def test_no_import_points_up_the_documented_layers() -> None:
    order = _documented_layers()
    rank = {name: i for i, name in enumerate(order)}
    graph = _import_graph()
    missing = sorted({_layer_of(m) for m in graph} - set(rank))
    assert not missing, f"docs/architecture.md does not place {missing} in its layers"
    bad = [f"{m} ({_layer_of(m)}) imports {t} ({_layer_of(t)})" for m, targets in graph.items() for t in targets
           if rank[_layer_of(t)] > rank[_layer_of(m)]]
    assert not bad, "\n".join(sorted(bad))


def test_the_cli_goes_through_the_public_api_only() -> None:
    allowed = ("inferplan", "inferplan.api", "inferplan.errors")
    bad = [f"{_where(p, line)} imports {name}" for p in MODULES if _package(p) == "cli"
           for line, name in _imports(p) if name.startswith("inferplan")
           and name not in allowed and not name.startswith("inferplan.cli")]
    assert not bad, "\n".join(bad)
