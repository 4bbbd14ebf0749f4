"""requirements.txt is the lock Heroku's Python buildpack installs: every dependency of
``faqbot[local,fast]`` pinned to one version that pyproject.toml allows, then the project itself.
The floors stay above the releases with known CVEs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+, as .python-version asks

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")
PROJECT_LINE = "."  # pip installs faqbot itself (and its console script) from the app dir
# The last release with the CVE (requests CVE-2024-35195 and CVE-2024-47081; tqdm
# CVE-2024-34062), and the first with the fix. gunicorn (CVE-2024-6827) is no longer used.
CVE_FIXES = {"requests": ("2.32.3", "2.32.4"), "tqdm": ("4.66.2", "4.66.3")}
SETUPTOOLS_FLOOR = "78.1.1"


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def deployed_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    return [Requirement(r) for r in
            [*project["dependencies"], *project["optional-dependencies"]["local"],
             *project["optional-dependencies"]["fast"]]
            if not r.startswith("faqbot")]


def lock_lines() -> list[str]:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def pins() -> dict[str, Version]:
    found = {}
    for line in lock_lines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def test_every_line_is_a_pin_or_the_project() -> None:
    lines = lock_lines()
    assert lines.count(PROJECT_LINE) == 1
    loose = [line for line in lines if line != PROJECT_LINE and not PIN.match(line)]
    assert loose == []


def test_every_pyproject_dependency_is_pinned_within_its_specifier() -> None:
    locked = pins()
    for requirement in deployed_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not pinned in requirements.txt"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.txt pins {name}=={locked[name]}, outside {requirement}")
        for extra in requirement.extras:  # psycopg[binary] → psycopg-binary pinned too
            assert canonicalize_name(f"{requirement.name}-{extra}") in locked


def test_floors_are_past_the_known_cves() -> None:
    declared = {canonicalize_name(r.name): r.specifier for r in deployed_requirements()}
    for name, (vulnerable, fixed) in CVE_FIXES.items():
        assert not declared[name].contains(vulnerable), f"{name} allows {vulnerable}"
        assert declared[name].contains(fixed)
        assert pins()[name] >= Version(fixed)
    [setuptools] = [Requirement(r) for r in pyproject()["build-system"]["requires"]
                    if r.startswith("setuptools")]
    assert setuptools.specifier == SpecifierSet(f">={SETUPTOOLS_FLOOR}")


def test_the_lock_says_how_to_regenerate_it() -> None:
    header = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()[:3]
    assert any("uv pip compile requirements.in" in line for line in header)
    source = [line for line in (ROOT / "requirements.in").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert source == [".[local,fast]"]
