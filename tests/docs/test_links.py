"""Every relative link and anchor in README.md and docs/ leads somewhere (issue 21, item 5)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.docs.markdown import ROOT, anchors, links, pages


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with ``page``'s relative links, one line each (paths shown from ``root``)."""
    problems = []
    for line, target in links(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / unquote(path)).resolve() if path else page
        where = f"{page.relative_to(root)}:{line}: {target}"
        if not destination.exists():
            problems.append(f"{where}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(
                destination.read_text(encoding="utf-8")):
            problems.append(f"{where}: no heading with that anchor")
    return problems


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Real heading\n")
    page = tmp_path / "page.md"
    page.write_text("# Top\n[a](other.md#real-heading) [b](other.md#gone) [c](missing.md)\n"
                    "[d](#top) [e](#nowhere) `[f](missing-in-code.md)`\n"
                    "```\n[g](missing-in-fence.md)\n```\n")
    found = [p.split(": ", 1)[1] for p in broken_links(page, tmp_path)]
    assert found == ["other.md#gone: no heading with that anchor",
                     "missing.md: no such file", "#nowhere: no heading with that anchor"]

