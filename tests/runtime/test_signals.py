"""StopSignal wakes the main thread even when the kernel hands SIGTERM to another thread.
``Event.wait()`` with a handler that sets the event does not: that is how ``faqbot socket``
once ignored a SIGTERM. Each case runs in a subprocess, since it installs signal handlers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads thread states from /proc")

# The signal goes to a chosen thread (pthread_kill), once the main thread is asleep in its
# wait (per /proc): which thread gets it, and when, is not left to luck.
SCRIPT = textwrap.dedent("""
    import signal, sys, threading, time
    from bot.runtime.signals import StopSignal

    main = threading.main_thread()

    def main_asleep_in_wait():
        frame = sys._current_frames()[main.ident]
        with open(f"/proc/self/task/{main.native_id}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        return frame.f_code.co_name == "wait" and state == "S"

    def signal_another_thread(signum):
        def catch():
            while not main_asleep_in_wait():
                time.sleep(0.001)
            signal.pthread_kill(threading.get_ident(), signum)  # delivered to this thread
        threading.Thread(target=catch, daemon=True).start()

    if sys.argv[1] == "event":
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal_another_thread(signal.SIGTERM)
        stop.wait()
    else:
        with StopSignal() as stop:
            signal_another_thread(getattr(signal, sys.argv[1]))
            stop.wait()
    print("woke")
""")


def run(case: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, case], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_stop_signal_caught_by_another_thread_wakes_the_waiter(signame: str) -> None:
    done = run(signame, timeout=20)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "woke", "")


def test_an_event_wait_does_not_wake_so_the_case_above_is_real() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run("event", timeout=3)
