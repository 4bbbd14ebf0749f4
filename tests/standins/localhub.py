"""An offline stand-in for the Hugging Face Hub, for tests.

`LocalHub` runs `olah` (a self-hosted Hub mirror) on 127.0.0.1 in offline mode, serving plain
local git repos, so the real `datasets` / `huggingface_hub` client code can be exercised with no
network at all. See shared/notes/local-hub.md for the recipe and olah's quirks.

The clients read `HF_ENDPOINT` at import time, so run them in a subprocess with `hub.env(...)`.
That environment also installs a guard (a `sitecustomize` on `PYTHONPATH`) that refuses any
connection or DNS lookup to a non-loopback address, so an accidental call to the real Hub fails
loudly instead of leaking; olah itself runs under the same guard.

    with LocalHub(tmp_path) as hub:
        sha = hub.add_repo("datasets", "acme/faq", {"README.md": "...", "data/x.parquet": path})
        subprocess.run([sys.executable, "-c", code], env=hub.env(tmp_path / "hf"), check=True)

In pytest, use the session-scoped `local_hub` fixture
(`from tests.standins.localhub import local_hub`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

import pytest

from tests.standins.lifecycle import Started, loopback_url

__all__ = ["LOOPBACK_GUARD", "LocalHub", "LocalHubError", "local_hub"]

KINDS = ("datasets", "models")
FileContent = bytes | str | Path | None
"""A file's new content: bytes, text (UTF-8), a Path to copy, or None to delete the file."""

_PROBE_KIND, _PROBE_REPO = "models", "localhub-probe/ready"
_PORT_ATTEMPTS = 5

# The guard that client subprocesses and olah run under. It is a `sitecustomize`, so it is
# active before any client code imports; it blocks connect() and getaddrinfo() to anything
# that is not loopback (AF_UNIX sockets are allowed).
LOOPBACK_GUARD = r'''"""Installed by tests/localhub.py: refuse non-loopback network access."""
import ipaddress as _ip
import os as _os
import socket as _socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


def _is_loopback(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or str(host).lower() in _LOCAL_NAMES:
        return True
    try:
        return _ip.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


_EXPECTED = {
    h.strip().lower() for h in _os.environ.get("LOCALHUB_EXPECTED_REFUSALS", "").split(",")
}


def _check(host):
    if not _is_loopback(host):
        if str(host).lower() in _EXPECTED - {""}:
            raise ConnectionRefusedError("tests/localhub.py network guard: %r is offline" % host)
        msg = "tests/localhub.py network guard: refusing non-loopback address %r" % (host,)
        log = _os.environ.get("LOCALHUB_REFUSED_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write("%d %r\n" % (_os.getpid(), host))
        raise ConnectionRefusedError(msg)


_orig_getaddrinfo = _socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    _check(host)
    return _orig_getaddrinfo(host, *args, **kwargs)


_socket.getaddrinfo = getaddrinfo


def _guard_method(name, address_index):
    """Wrap socket.<name> to check the address (positional arg `address_index`) first."""
    orig = getattr(_socket.socket, name)

    def guarded(self, *args, **kwargs):
        address = args[address_index] if args else None
        if self.family in (_socket.AF_INET, _socket.AF_INET6) and isinstance(address, tuple):
            _check(address[0])
        return orig(self, *args, **kwargs)

    guarded.__name__ = name
    return guarded


# connect(address), connect_ex(address), sendto(data[, flags], address)
for _name, _index in (("connect", 0), ("connect_ex", 0), ("sendto", -1)):
    setattr(_socket.socket, _name, _guard_method(_name, _index))
'''


class LocalHubError(RuntimeError):
    """olah failed to start or a git step failed; the message carries the relevant output."""


def _olah_cli() -> str:
    """Find `olah-cli`: next to the running interpreter first (a venv), then on PATH."""
    candidate = Path(sys.executable).with_name("olah-cli")
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("olah-cli")
    if found is None:
        raise LocalHubError("olah-cli is neither next to sys.executable nor on PATH (pip olah)")
    return found


def _free_loopback_port() -> int:
    """Ask the kernel for a free port on 127.0.0.1. Racy: start() retries on EADDRINUSE."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the olah child: get SIGTERM if the test process dies hard, so no olah is orphaned."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _no_proxy(env: dict[str, str]) -> None:
    """Make every HTTP client go straight to loopback, never through a configured proxy."""
    for key in ("NO_PROXY", "no_proxy"):
        current = [h for h in env.get(key, "").split(",") if h]
        env[key] = ",".join([*current, "127.0.0.1", "localhost", "::1"])


class LocalHub(Started):
    """A Hugging Face Hub stand-in: olah on 127.0.0.1 serving git repos under `root/mirrors`.

    Repos can be added or changed while olah runs; olah reads the git repos on each request.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.mirrors = self.root / "mirrors"
        self._guard_dir = self.root / "guard"
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The base URL to use as HF_ENDPOINT, e.g. "http://127.0.0.1:41234"."""
        if self._port is None:
            raise LocalHubError("LocalHub is not started")
        return loopback_url(self._port)

    def start(self, timeout: float = 30.0) -> None:
        """Start olah on a free loopback port and wait until it serves our mirrors.

        The port is picked by binding port 0 and releasing it, so another process may grab it
        before olah binds; when olah then exits with "address already in use", retry on a new
        port.
        """
        if self._proc is not None:
            return
        for kind in KINDS:
            (self.mirrors / kind).mkdir(parents=True, exist_ok=True)
        self._guard_dir.mkdir(parents=True, exist_ok=True)
        (self._guard_dir / "sitecustomize.py").write_text(LOOPBACK_GUARD)
        probe_sha = self._ensure_probe()
        last_output = ""
        for attempt in range(_PORT_ATTEMPTS):
            port = _free_loopback_port()
            proc, out_path = self._spawn(port, attempt)
            try:
                ready = self._wait_ready(proc, port, probe_sha, time.monotonic() + timeout)
            except BaseException:  # e.g. Ctrl-C while waiting: never leave olah behind
                self._terminate(proc)
                raise
            if ready:
                self._proc, self._port = proc, port
                atexit.register(self.stop)
                return
            self._terminate(proc)
            last_output = out_path.read_text(errors="replace")
            if "address already in use" not in last_output.lower():
                break
        raise LocalHubError(f"olah did not become ready; its output:\n{last_output[-4000:]}")

    def stop(self) -> None:
        """Stop olah (SIGTERM, then SIGKILL after 10 s). Safe to call more than once."""
        proc, self._proc, self._port = self._proc, None, None
        if proc is not None:
            self._terminate(proc)
            atexit.unregister(self.stop)

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def _spawn(self, port: int, attempt: int) -> tuple[subprocess.Popen[bytes], Path]:
        """Write configs.toml for `port` and launch olah-cli, its output going to a file."""
        netloc = f"127.0.0.1:{port}"
        # offline = true keeps olah from contacting the real Hub; the hf-* settings point the
        # upstream at a closed loopback port (discard, 9) as a second line of defence.
        config = "\n".join(
            [
                "[basic]",
                'host = "127.0.0.1"',
                f"port = {port}",
                f"repos-path = {json.dumps(str(self.root / 'repos'))}",
                f'mirror-netloc = "{netloc}"',
                f'mirror-lfs-netloc = "{netloc}"',
                'hf-scheme = "http"',
                'hf-netloc = "127.0.0.1:9"',
                'hf-lfs-netloc = "127.0.0.1:9"',
                f"mirrors-path = [{json.dumps(str(self.mirrors))}]",
                "[accessibility]",
                "offline = true",
                "",
            ]
        )
        config_path = self.root / "configs.toml"
        config_path.write_text(config)
        out_path = self.root / f"olah-{attempt}.out"
        env = self._guarded_env(dict(os.environ), self.root / "olah-refused.log")
        with out_path.open("wb") as out:
            proc = subprocess.Popen(
                [_olah_cli(), "-c", str(config_path), "--log-path", str(self.root / "logs")],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        return proc, out_path

    def _wait_ready(
        self, proc: subprocess.Popen[bytes], port: int, probe_sha: str, deadline: float
    ) -> bool:
        """Poll olah until it serves the probe repo at its known sha, or it exits, or time is up.

        Checking the sha (not just "something answers") makes sure the server on the port is our
        olah reading our mirrors, and not another process that took the port.
        """
        path = f"/api/{_PROBE_KIND}/{_PROBE_REPO}/revision/main"
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200 and json.loads(body).get("sha") == probe_sha:
                    return proc.poll() is None
            except (OSError, http.client.HTTPException, ValueError):
                pass
            finally:
                conn.close()
            try:
                proc.wait(timeout=0.05)  # the poll interval; returns early if olah exits
                return False
            except subprocess.TimeoutExpired:
                pass
        return False

    def _ensure_probe(self) -> str:
        """A tiny repo that readiness polling asks for (olah 401s on anything it can't serve)."""
        repo = self._repo_dir(_PROBE_KIND, _PROBE_REPO)
        if (repo / ".git").is_dir():
            return self._git(repo, "rev-parse", "HEAD")
        return self.add_repo(_PROBE_KIND, _PROBE_REPO, {"README.md": "localhub readiness probe\n"})

    # ---- repos -----------------------------------------------------------------------------

    def add_repo(self, kind: str, repo_id: str, files: Mapping[str, FileContent]) -> str:
        """Create the git repo for Hub repo `repo_id` ("org/name") with `files`; return its sha.

        Dataset repos need a README.md, or `datasets` reports the dataset as missing.
        """
        repo = self._repo_dir(kind, repo_id)
        if repo.exists():
            raise LocalHubError(f"{kind}/{repo_id} already exists")
        repo.mkdir(parents=True)
        self._git(repo, "init", "-q", "-b", "main")
        return self._commit_files(repo, files, f"add {repo_id}")

    def commit(
        self, kind: str, repo_id: str, files: Mapping[str, FileContent], message: str = "update"
    ) -> str:
        """Add a commit on main changing `files` (None deletes one); return the new sha."""
        repo = self._existing_repo(kind, repo_id)
        return self._commit_files(repo, files, message)

    def branch(
        self, kind: str, repo_id: str, name: str, files: Mapping[str, FileContent] | None = None
    ) -> str:
        """Create branch `name` from main, optionally with a commit of `files`; return its sha.

        main stays checked out, so later `commit()` calls still go to main.
        """
        repo = self._existing_repo(kind, repo_id)
        if not files:
            self._git(repo, "branch", name, "main")
            return self._git(repo, "rev-parse", f"refs/heads/{name}")
        self._git(repo, "checkout", "-q", "-b", name, "main")
        try:
            return self._commit_files(repo, files, f"branch {name}")
        finally:
            self._git(repo, "checkout", "-q", "main")

    def _repo_dir(self, kind: str, repo_id: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        parts = repo_id.split("/")
        if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts):
            raise ValueError(f"repo_id must look like 'org/name', not {repo_id!r}")
        return self.mirrors / kind / parts[0] / parts[1]

    def _existing_repo(self, kind: str, repo_id: str) -> Path:
        repo = self._repo_dir(kind, repo_id)
        if not (repo / ".git").is_dir():
            raise LocalHubError(f"{kind}/{repo_id} does not exist; add_repo() it first")
        return repo

    def _commit_files(self, repo: Path, files: Mapping[str, FileContent], message: str) -> str:
        for name, content in files.items():
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts or not rel.parts:
                raise ValueError(f"file path must be relative inside the repo: {name!r}")
            target = repo.joinpath(*rel.parts)
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            elif isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                target.write_bytes(content)
        self._git(repo, "add", "-A")
        self._git(repo, "commit", "-q", "--allow-empty", "-m", message)
        return self._git(repo, "rev-parse", "HEAD")

    @staticmethod
    def _git(repo: Path, *args: str) -> str:
        """Run git hermetically: no global/system config, fixed identity, no signing."""
        env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
        cmd = [
            "git",
            "-c", "user.name=localhub",
            "-c", "user.email=localhub@localhost",
            "-c", "commit.gpgsign=false",
            "-c", "init.defaultBranch=main",
            *args,
        ]  # fmt: skip
        res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise LocalHubError(f"{' '.join(cmd)} failed in {repo}:\n{res.stderr}{res.stdout}")
        return res.stdout.strip()

    # ---- clients ---------------------------------------------------------------------------

    def env(self, hf_home: Path) -> dict[str, str]:
        """A full environment for a client subprocess that talks to this hub and nothing else.

        Based on os.environ with every HF_* / HUGGINGFACE_* variable dropped (so no token, no
        HF_HUB_OFFLINE and no stray cache dirs leak in), then: HF_ENDPOINT, HF_HOME, telemetry,
        update checks and download counts off, short ETag timeout, no proxy for loopback, and
        the loopback-only network guard on PYTHONPATH (refusals logged, see `refused()`, except
        the expected dataset-viewer lookup).
        """
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HF_", "HUGGINGFACE_")) and k != "TRANSFORMERS_OFFLINE"
        }
        env.update(
            HF_ENDPOINT=self.endpoint,
            HF_HOME=str(hf_home),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_UPDATE_CHECK="1",
            HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            HF_HUB_ETAG_TIMEOUT="3",
            HF_UPDATE_DOWNLOAD_COUNTS="false",
            # datasets asks the dataset viewer at "datasets-server.<endpoint host>" when loading
            # main; that name would go to DNS. Refuse it quietly: datasets then falls back to
            # the card and files, as when the real viewer has no export yet.
            LOCALHUB_EXPECTED_REFUSALS="datasets-server.127.0.0.1",
        )
        Path(hf_home).mkdir(parents=True, exist_ok=True)  # the guard logs refusals there
        return self._guarded_env(env, Path(hf_home) / "localhub-refused.log")

    def refused(self, hf_home: Path | None = None) -> list[str]:
        """Non-loopback addresses the guard refused: for clients run with env(hf_home), or for
        olah itself when hf_home is None. Tests can assert this is empty."""
        if hf_home is None:
            log = self.root / "olah-refused.log"
        else:
            log = Path(hf_home) / "localhub-refused.log"
        return log.read_text().splitlines() if log.exists() else []

    def _guarded_env(self, env: dict[str, str], refused_log: Path) -> dict[str, str]:
        _no_proxy(env)
        env["LOCALHUB_REFUSED_LOG"] = str(refused_log)
        paths = [str(self._guard_dir), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        return env


@pytest.fixture(scope="session")
def local_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """One started LocalHub for the whole session (olah takes about a second to start)."""
    with LocalHub(tmp_path_factory.mktemp("localhub")) as hub:
        yield hub
