"""Run ``faqbot serve --port 0`` as a subprocess, the way a platform would, for tests and
benchmarks: learn its port from its log, wait until /healthz says ready, collect its
stdout+stderr for assertions, and stop it with SIGTERM. No sleeps: waits are on new log lines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.standins.lifecycle import Started, loopback_url

LISTENING = re.compile(r"listening on http://[^:\s]+:(\d+)")


def http_status(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class ServerProcess(Started):
    """One ``faqbot`` server subprocess; ``lines`` is everything it printed so far."""

    def __init__(self, env: Mapping[str, str], args: Sequence[str] = ("serve", "--port", "0"),
                 cwd: str | None = None) -> None:
        script = Path(sys.executable).with_name("faqbot")  # the console script, as deployed
        self._command = [str(script), *args] if script.exists() else [
            sys.executable, "-m", "bot", *args]
        self._env = {**os.environ, **env}
        self._cwd = cwd
        self._cond = threading.Condition()
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.closed = False  # the server's output ended: it (and its worker) exited

    def start(self, timeout: float = 30.0) -> ServerProcess:
        """Start the server (again, after ``stop`` or a kill: a new process, a new port)."""
        with self._cond:
            self.lines, self.closed = [], False
        self.proc = subprocess.Popen(self._command, env=self._env, cwd=self._cwd, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, name="server-log", daemon=True).start()
        self.port = int(self.wait_for_line(LISTENING, timeout).group(1))
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    @property
    def base_url(self) -> str:
        return loopback_url(self.port)

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    @property
    def log(self) -> str:
        with self._cond:
            return "".join(self.lines)

    def wait_for_line(self, pattern: re.Pattern[str] | str, timeout: float) -> re.Match[str]:
        """Block until a log line matches; fail with the log if it doesn't (or the server dies)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found[:] = [m for m in map(regex.search, self.lines) if m][:1]
            return bool(found) or self.closed

        with self._cond:
            self._cond.wait_for(seen, timeout=timeout)
        if not found:
            raise AssertionError(f"no log line matching {regex.pattern!r}; log:\n{self.log}")
        return found[0]

    def wait_healthy(self, timeout: float = 30.0) -> list[int]:
        """Poll /healthz once now and again on each new log line until 200; statuses seen."""
        statuses: list[int] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            with self._cond:
                seen = len(self.lines)
            statuses.append(http_status(f"{self.base_url}/healthz"))
            if statuses[-1] == 200:
                return statuses
            self._wait_past(seen, deadline - time.monotonic())
        raise AssertionError(f"/healthz never answered 200 ({statuses}); log:\n{self.log}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _wait_past(self, count: int, timeout: float) -> None:
        """Wait until the server printed more than ``count`` lines, or exited."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.lines) > count or self.closed,
                                timeout=max(timeout, 0))

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, as Heroku sends it; returns the exit code."""
        assert self.proc is not None
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def __exit__(self, *exc: object) -> None:
        if self.running:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
