"""The layer rules of docs/architecture.md, checked on the source: a broken rule fails here.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a
deferred import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bot"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
HTTP_CLIENTS = ("requests", "urllib3", "httpx", "aiohttp", "urllib.request", "http.client")

# package → what its modules must not import (prefixes of module names)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.faq": ("bot.slack", "bot.storage", "bot.report", "bot.runtime", "bot.cli",
                "bot.check", "slack_bolt", "slack_sdk"),
    "bot.slack": ("numpy", *HTTP_CLIENTS, "bot.runtime", "bot.report", "bot.cli",
                  "bot.check", "sqlalchemy", "bot.live"),
    "bot.live": ("bot.slack", "bot.report", "bot.runtime", "bot.cli", "bot.check",
                 "slack_bolt", "slack_sdk", "sqlalchemy"),
    "bot.storage": ("bot.slack", "bot.report", "bot.runtime", "bot.cli", "bot.check",
                    "numpy", "slack_bolt", "slack_sdk"),
    "bot.report": ("bot.slack", "bot.runtime", "bot.cli", "bot.check", "sqlalchemy"),
    "bot.runtime": ("bot.cli", "bot.check", "bot.report"),
    "bot.check": ("bot.cli", "bot.runtime"),
    "bot.config": ("bot.faq", "bot.slack", "bot.storage", "bot.report", "bot.runtime"),
    "bot.errors": ("bot.faq", "bot.slack", "bot.storage", "bot.report", "bot.runtime"),
}
# package → the modules it may import all the same: the start-up wires the App Home's facts
ALLOWED: dict[str, tuple[str, ...]] = {"bot.runtime": ("bot.report.home",)}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_layer_rules(path: Path) -> None:
    name = module_name(path)
    rules = [rule for package, rule in FORBIDDEN.items() if matches(name, package)]
    allowed = [a for package, rule in ALLOWED.items() if matches(name, package) for a in rule]
    broken = sorted(imported for imported in imports(path) for rule in rules
                    for prefix in rule if matches(imported, prefix)
                    and not any(matches(imported, a) for a in allowed))
    assert not broken, f"{name} imports {broken}; see docs/architecture.md"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_the_database_is_reached_through_bot_storage_only(path: Path) -> None:
    """Outside the package, only ``bot.storage`` itself: its ``__init__`` is the one door."""
    name = module_name(path)
    if matches(name, "bot.storage"):
        return
    inner = sorted(i for i in imports(path) if i.startswith("bot.storage.")
                   and i.removeprefix("bot.storage.") not in _exported())
    assert not inner, f"{name} reaches into {inner}; import from bot.storage"


def _exported() -> set[str]:
    tree = ast.parse((PACKAGE / "storage" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {ast.literal_eval(element) for element in node.value.elts}  # type: ignore[attr-defined]
    return set()


def test_the_architecture_names_only_packages_that_exist() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`(bot(?:/[a-z_]+)+/?)`", text))
    assert named, "docs/architecture.md names no packages"
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists()
                     and not (ROOT / (p.rstrip("/") + ".py")).exists())
    assert not missing, f"docs/architecture.md names {missing}, which do not exist"


def test_every_package_is_described() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    packages = sorted(p.parent.relative_to(ROOT).as_posix()
                      for p in PACKAGE.rglob("__init__.py"))
    undescribed = [p for p in packages if f"`{p}/`" not in text]
    assert not undescribed, f"docs/architecture.md does not describe {undescribed}"


TRAINING_LIBRARIES = ("torch", "transformers", "onnx", "onnxruntime.quantization")
# Building the local model's fast graph takes onnx (only then: the cached graph loads with
# onnxruntime alone, and without onnx the model runs as it is).
FAST_GRAPH_BUILD = ("bot.faq.embedders.fast_graph", "bot.faq.embedders.bert_onnx",
                    "bot.faq.embedders.onnx_session")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_only_the_tune_package_imports_training_libraries(path: Path) -> None:
    """Serving never needs the `tune` extra: torch and its kin stay inside bot.faq.tune."""
    name = module_name(path)
    if matches(name, "bot.faq.tune"):
        return
    allowed = ("onnx",) if name in FAST_GRAPH_BUILD else ()
    found = sorted(imported for imported in imports(path)
                   if any(matches(imported, lib) for lib in TRAINING_LIBRARIES)
                   and not any(matches(imported, lib) for lib in allowed))
    assert not found, f"{module_name(path)} imports {found}"
