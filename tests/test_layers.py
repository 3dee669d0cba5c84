"""The layers import one way, with no circles: domain → state → checks → pipeline → service → adapters.

Every import of every module is read from its source (TYPE_CHECKING imports included): a module may import
only its own layer and the layers before it. Checks see the state's interface (curator.state.index: an
index of what a collection kept), never the collection's state itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "curator"
# Packages (or modules) by layer, lowest first. Helpers with no curator imports of their own sit at 0.
# Settings and metrics are cross-cutting: the typed settings tree and the Prometheus registry sit with state.
LAYERS: list[set[str]] = [
    {"domain", "errors", "arrays"},
    {"state", "settings", "observability", "monitor", "dedup", "embeddings", "quality", "bias"},
    {"checks"},
    {"pipeline"},
    {"service"},
    {"api", "cli", "web", "formats", "v1", "batch"},
]
# Within-layer facts the direction alone does not say.
FORBIDDEN = {"checks": ("curator.state.collection", "curator.state.sql", "curator.state.store")}


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.startswith("curator.") else module
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"{module}: add its package to a layer in tests/test_layers.py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
    return [m for m in out if m == "curator" or m.startswith("curator.")]


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = "curator." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        if module == "curator" or module.startswith("curator.v1"):
            continue
        own = _layer(module)
        top = module.split(".")[1]
        for imported in _imports(path):
            if imported == "curator":
                continue
            if _layer(imported) > own:
                problems.append(f"{module} imports {imported} (a layer above)")
            if any(imported.startswith(f) for f in FORBIDDEN.get(top, ())):
                problems.append(f"{module} imports {imported} (checks see state.index only)")
    assert not problems, "\n".join(problems)
