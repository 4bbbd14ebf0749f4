"""``bin/post_compile`` as Heroku's Python buildpack runs it: in the build folder, with the
app's config vars, after requirements.txt. The fast graph it builds is what the dyno then
loads from ``/app`` (another folder, and ``$HOME``), without building it again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.faq.embedders.model_files import packaged_weights
from tests.conftest import ROOT, SETTINGS

VENV_BIN = Path(sys.prefix) / "bin"

pytestmark = pytest.mark.skipif(packaged_weights() is None,
                                reason="the float weights package (the tune extra) is absent")


def heroku_env(home: Path) -> dict[str, str]:
    """No faqbot setting and no cache location of ours: only what a dyno has. pip may not
    reach an index: the weights are installed already, as the buildpack's own step would
    have downloaded them."""
    env = {k: v for k, v in os.environ.items()
           if k not in SETTINGS and k not in ("XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env.update(HOME=str(home), PIP_NO_INDEX="1",
               PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]))
    return env


def test_the_build_step_leaves_the_fast_graph_where_the_dyno_loads_it(tmp_path: Path) -> None:
    build = tmp_path / "build_5e0d1c"
    shutil.copytree(ROOT / "bin", build / "bin")
    compiled = subprocess.run(["bash", "bin/post_compile"], cwd=build,
                              env=heroku_env(tmp_path / "builder"), capture_output=True,
                              text=True, timeout=600)
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert "runs its fast graph" in compiled.stdout
    built = [p.name for p in (build / ".cache" / "faqbot" / "onnx").iterdir()]
    assert len(built) == 1 and built[0].endswith(".fast.onnx")

    app = build.rename(tmp_path / "app")  # the slug, unpacked on a dyno
    asked = subprocess.run(["faqbot", "-v", "ask", "--json", "How can Medicare help me?"],
                           cwd=app, env=heroku_env(app), capture_output=True, text=True,
                           timeout=300)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert json.loads(asked.stdout)["shown"]  # answered, from the sample FAQ
    assert "fast graph:" not in asked.stderr  # the build's log line: loaded, not built
    assert [p.name for p in (app / ".cache" / "faqbot" / "onnx").iterdir()] == built
