"""The layers point one way: core → formats → ml → app (ARCHITECTURE.md §2).

Every module of the installed package is parsed (``ast``), and every import is
checked, the lazy ones inside functions included: a module may import its own
layer and the layers below it, never one above.  ``segstudio`` itself,
``errors``, ``progress`` and ``assets`` (where the shipped files are) sit under everything; ``commands`` are front ends over
core/formats/ml; only ``cli`` (and ``__main__``) may reach the app, to launch it.
core and formats never import Qt or torch; ml never imports Qt.  Module imports
must not form circles either (a circle is two modules that each need the other:
one of them is in the wrong place).
"""

from __future__ import annotations

import ast
from pathlib import Path

import segstudio

PACKAGE = Path(segstudio.__file__).resolve().parent

# rank of each layer: a module may import modules of the same or a lower rank
RANKS = {"base": 0, "core": 1, "formats": 2, "ml": 3, "app": 4, "commands": 4, "cli": 5}
# what a layer may import from the layers of the same rank (commands never import the app)
SAME_RANK_OK = {"app": {"app"}, "commands": {"commands"}}
FORBIDDEN_THIRD_PARTY = {
    "base": ("torch", "torchvision", "PySide6", "shiboken6", "pydensecrf", "cv2"),
    "core": ("torch", "torchvision", "PySide6", "shiboken6", "pydensecrf", "pycocotools", "PIL"),
    "formats": ("torch", "torchvision", "PySide6", "shiboken6", "pydensecrf"),
    "ml": ("PySide6", "shiboken6"),
    "commands": ("PySide6", "shiboken6"),
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("errors", "progress", "assets"):
        return "base"
    if parts[1] in ("cli", "__main__"):
        return "cli"
    return parts[1]


def package_modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("segstudio",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement, at any depth (lazy ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # "from segstudio.formats import imports" imports the module segstudio.formats.imports
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names
                      if f"{target}.{alias.name}" in known]
    return found


def _graph():
    modules = package_modules()
    known = set(modules)
    return modules, {m: imports_of(m, p, known) for m, p in modules.items()}


def test_layers_point_one_way():
    modules, graph = _graph()
    assert len(modules) > 50 and "segstudio.app.window" in modules  # the whole package was found
    wrong = []
    for module, imports in graph.items():
        layer = layer_of(module)
        rel = modules[module].relative_to(PACKAGE.parent)
        for target, line in imports:
            top = target.split(".")[0]
            if top == "segstudio":
                other = layer_of(target)
                up = RANKS[other] > RANKS[layer] or (
                    RANKS[other] == RANKS[layer] and other != layer
                    and other not in SAME_RANK_OK.get(layer, ()))
                if up:
                    wrong.append(f"{rel}:{line}: {layer} module {module} imports {target} ({other}); "
                                 f"{layer} may only use the layers below it")
            elif top in FORBIDDEN_THIRD_PARTY.get(layer, ()):
                wrong.append(f"{rel}:{line}: {layer} module {module} imports {target}; "
                             f"{layer} must not depend on {top}")
    assert not wrong, ("imports against the layer direction core → formats → ml → app "
                       "(move the code to the layer that owns it, or pass the value in):\n  "
                       + "\n  ".join(wrong))


def test_no_import_circles():
    modules, graph = _graph()
    edges = {m: sorted({t for t, _ in imports if t in modules and t != m and not m.startswith(t + ".")})
             for m, imports in graph.items()}
    # Tarjan's strongly connected components, iteratively
    index, low, on_stack, stack, circles = {}, {}, set(), [], []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    circles.append(sorted(group))
    described = []
    for group in circles:
        links = [f"{a} → {b} (line {line})" for a in group for b, line in graph[a] if b in group and b != a]
        described.append(", ".join(group) + ":\n      " + "\n      ".join(sorted(set(links))))
    assert not circles, ("modules that import each other (lazy imports count too; move the shared "
                         "part into a module both can import):\n  " + "\n  ".join(described))


def test_the_checks_catch_a_wrong_import(tmp_path):
    """The parser sees lazy imports inside functions and relative imports."""
    f = tmp_path / "mod.py"
    f.write_text("import numpy\n\ndef later():\n    from ..ml import registry\n    import torch\n")
    found = imports_of("segstudio.core.mod", f, {"segstudio.ml.registry"})
    assert ("segstudio.ml", 4) in found and ("segstudio.ml.registry", 4) in found and ("torch", 5) in found
    assert RANKS[layer_of("segstudio.ml.registry")] > RANKS[layer_of("segstudio.core.mod")]
