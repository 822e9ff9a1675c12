"""Imports point down: the product's modules against the layers of docs/architecture.md.

An `ast` pass over the product's folders reads every import, those inside functions too (the
lazy ones that keep the agent and the commands light count as much as the others), and fails on
a module that imports one of a higher layer, on a command module that imports another, on a
cycle, and on a module that no layer names. Every package also says what its folder holds.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# The product's folders and their import names: pyproject.toml's package-dir.
FOLDERS = {folder: package for package, folder in tomllib.loads((ROOT / "pyproject.toml").read_text(
    encoding="utf-8"))["tool"]["setuptools"]["package-dir"].items()}
COMMANDS = "commands"


def product_modules() -> dict[str, Path]:
    """Import name -> file, for every module of the product."""
    modules = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules `name` imports, anywhere in it (module level, functions, conditions)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:  # `from package import module` imports the module
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
    return {module for module in found if module in modules and module != name}


def documented_layers() -> list[tuple[str, list[str]]]:
    """(name, module patterns) per layer, bottom first, from the table under "### Layers"."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("\n### Layers", 1)[1].split("\n#", 1)[0]
    layers = []
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.match(r"^\d+ ", cells[0]):
            assert int(cells[0].split()[0]) == len(layers), f"layers out of order at {cells[0]!r}"
            patterns = [p if p == "fleetprint" else "fleetprint." + p for p in re.findall(r"`([^`]+)`", cells[1])]
            layers.append((cells[0].split(maxsplit=1)[1], patterns))
    assert layers, "no layer table under ### Layers in docs/architecture.md"
    return layers


def layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """The layer whose pattern names `module` most precisely: its own name, else the longest `x.*` above it."""
    best, best_length = None, -1
    for index, (_, patterns) in enumerate(layers):
        for pattern in patterns:
            if pattern == module:
                return index
            if pattern.endswith(".*"):
                package = pattern[:-2]
                if (module == package or module.startswith(package + ".")) and len(package) > best_length:
                    best, best_length = index, len(package)
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


MODULES = product_modules()
GRAPH = {name: imports_of(name, path, MODULES) for name, path in MODULES.items()}
LAYERS = documented_layers()


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in MODULES if layer_of(name, LAYERS) is None]
    assert not unplaced, "no layer in docs/architecture.md names: " + ", ".join(unplaced)


def test_every_layer_pattern_names_a_module() -> None:
    """A pattern left behind by a move or a rename is an error in the document."""
    stale = [pattern for _, patterns in LAYERS for pattern in patterns
             if not any(name == pattern or (pattern.endswith(".*") and name.startswith(pattern[:-2]))
                        for name in MODULES)]
    assert not stale, "no module matches: " + ", ".join(stale)


def test_imports_point_down() -> None:
    upward = [f"{name} ({LAYERS[layer_of(name, LAYERS)][0]}) imports {target} ({LAYERS[layer_of(target, LAYERS)][0]})"
              for name, targets in GRAPH.items() for target in sorted(targets)
              if (layer_of(target, LAYERS) or 0) > (layer_of(name, LAYERS) or 0)]
    assert not upward, "\n".join(upward)


def test_no_command_imports_another() -> None:
    commands = {name for name in MODULES if LAYERS[layer_of(name, LAYERS) or 0][0] == COMMANDS}
    assert commands, f"no layer named {COMMANDS!r}"
    crossed = [f"{name} imports {target}" for name in sorted(commands) for target in sorted(GRAPH[name] & commands)]
    assert not crossed, "\n".join(crossed)


def test_no_cycles() -> None:
    found = cycles(GRAPH)
    assert not found, "\n".join(" <-> ".join(component) for component in found)


def test_the_check_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "__init__.py"
    module.write_text("import os\n\ndef run():\n    from fleetprint.collector.cli import collector\n"
                      "    if True:\n        import fleetprint.schema\n    from . import config\n")
    known = {"fleetprint.collector.cli": module, "fleetprint.schema": module, "fleetprint.agent.config": module}
    assert imports_of("fleetprint.agent", module, known) == {"fleetprint.collector.cli", "fleetprint.schema",
                                                            "fleetprint.agent.config"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_says_what_its_folder_holds() -> None:
    """A package's docstring names what its folder holds and how data flows through it: a few lines at least."""
    short = [name for name, path in MODULES.items() if path.name == "__init__.py"
             and len((ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").split()) < 25]
    assert not short, "docstrings too short: " + ", ".join(short)
