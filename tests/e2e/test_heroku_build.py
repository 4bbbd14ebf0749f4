"""``bin/post_compile`` as Heroku's Python buildpack runs it: in the build folder, with the
app's config vars, after requirements.txt. The fast graph it builds is what the dyno then
loads from ``/app`` (another folder, and ``$HOME``), without the weights it was built from
(the script uninstalls them) and without building anything.

Each side runs in a venv of its own that sees the test venv's packages through a ``.pth``
file, so the script's pip can neither download (no index) nor change the test venv (pip
won't uninstall outside its environment). The dyno's venv sees every package but the
weights, as the slug has them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from bot.faq.embedders.model_files import PACKAGED_WEIGHTS, WEIGHTS_INSTALL, packaged_weights
from tests.conftest import ROOT, SETTINGS

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])

pytestmark = pytest.mark.skipif(packaged_weights() is None,
                                reason="the float weights package (the tune extra) is absent")


def overlay_env(where: Path, site_packages: Path) -> Path:
    """A venv at ``where`` whose Python also imports from ``site_packages`` (processing its
    ``.pth`` files, so an editable faqbot is found), with a ``faqbot`` script; its bin."""
    venv.create(where, with_pip=True)
    own = Path(sysconfig.get_paths(vars={"base": str(where), "platbase": str(where)})["purelib"])
    (own / "overlay.pth").write_text(f"import site; site.addsitedir({str(site_packages)!r})\n")
    script = where / "bin" / "faqbot"
    script.write_text(f"#!{where / 'bin' / 'python'}\nimport sys\nfrom bot.cli import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)
    return where / "bin"


def without_weights(into: Path) -> Path:
    """The test venv's packages as links, all but the weights package's."""
    weights_dist = PACKAGED_WEIGHTS[0].replace("-", "_")
    weights_module = PACKAGED_WEIGHTS[1].split("/")[0]
    into.mkdir()
    for entry in SITE_PACKAGES.iterdir():
        if not entry.name.startswith((weights_dist + "-", weights_module)):
            (into / entry.name).symlink_to(entry)
    return into


def heroku_env(home: Path, bin_dir: Path) -> dict[str, str]:
    """No faqbot setting and no cache location of ours: only what a dyno has."""
    env = {k: v for k, v in os.environ.items()
           if k not in SETTINGS and k not in ("XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env.update(HOME=str(home), PIP_NO_INDEX="1", PIP_FIND_LINKS="",
               PATH=os.pathsep.join([str(bin_dir), env.get("PATH", "")]))
    return env


def test_the_script_installs_what_the_code_asks_for() -> None:
    assert WEIGHTS_INSTALL in (ROOT / "bin" / "post_compile").read_text(encoding="utf-8")


def test_the_build_step_leaves_the_fast_graph_where_the_dyno_loads_it(tmp_path: Path) -> None:
    build = tmp_path / "build_5e0d1c"
    shutil.copytree(ROOT / "bin", build / "bin")
    builder = overlay_env(tmp_path / "build-python", SITE_PACKAGES)
    compiled = subprocess.run(["bash", "bin/post_compile"], cwd=build,
                              env=heroku_env(tmp_path / "builder", builder),
                              capture_output=True, text=True, timeout=600)
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert "runs its fast graph" in compiled.stdout
    built = [p.name for p in (build / ".cache" / "faqbot" / "onnx").iterdir()]
    assert len(built) == 1 and built[0].endswith(".fast.onnx")

    app = build.rename(tmp_path / "app")  # the slug, unpacked on a dyno
    dyno = overlay_env(tmp_path / "dyno-python", without_weights(tmp_path / "slug-packages"))
    asked = subprocess.run(["faqbot", "-v", "ask", "--json", "How can Medicare help me?"],
                           cwd=app, env=heroku_env(app, dyno), capture_output=True, text=True,
                           timeout=300)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert json.loads(asked.stdout)["shown"]  # answered, from the sample FAQ
    assert "fast graph:" not in asked.stderr and "unfused" not in asked.stderr
    # loaded as built: nothing rebuilt, and no unfused copy of the int8 file made instead
    assert [p.name for p in (app / ".cache" / "faqbot" / "onnx").iterdir()] == built


def test_without_the_weights_prepare_stops_with_their_install(tmp_path: Path) -> None:
    dyno = overlay_env(tmp_path / "python", without_weights(tmp_path / "packages"))
    prepared = subprocess.run(["faqbot", "prepare"], cwd=tmp_path,
                              env=heroku_env(tmp_path, dyno), capture_output=True, text=True,
                              timeout=300)
    assert prepared.returncode == 2
    assert WEIGHTS_INSTALL in prepared.stderr and "Traceback" not in prepared.stderr
    assert not list((tmp_path / ".cache" / "faqbot" / "onnx").glob("*.fast.onnx"))
