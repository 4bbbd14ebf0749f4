"""Ack time of a signed event with N idle and trickling connections held open, against the
same server with none: `python -m benchmarks.slow_clients [--held 200] [--events 30]`.

Prints the median and worst ack for both, and their ratio (the machines are noisy; the ratio
from one run is what to compare).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time

from tests.conftest import server_env
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn, event_body, send_signed
from tests.standins.slow_clients import hold_connections

SECRET = "slow-clients-benchmark-signing-secret"
TOKEN = "xoxb-slow-clients-benchmark"


def acks(server: ServerProcess, count: int, tag: str) -> list[float]:
    times = []
    for n in range(count):
        event = {"type": "message", "channel": "C1", "user": "U1", "ts": f"{tag}{n}.000001",
                 "channel_type": "channel", "text": "lol"}
        started = time.perf_counter()
        status, _, _ = send_signed(server.events_url, event_body(event), SECRET, timeout=30)
        times.append(time.perf_counter() - started)
        assert status == 200, status
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held", type=int, default=200)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    with SlackStandIn() as slack, tempfile.TemporaryDirectory() as tmp:
        env = server_env(slack, token=TOKEN, secret=SECRET,
                         DATABASE_URL=f"sqlite:///{tmp}/log.sqlite3")
        with ServerProcess(env, cwd=tmp) as server:
            server.wait_healthy()
            baseline = acks(server, args.events, "1")
            held = hold_connections(server.port, args.held)
            try:
                loaded = acks(server, args.events, "2")
            finally:
                for sock in held:
                    with contextlib.suppress(OSError):
                        sock.close()
    for name, times in (("no slow connections", baseline),
                        (f"{args.held} slow connections", loaded)):
        print(f"{name:>24}: median ack {statistics.median(times) * 1000:6.1f} ms, "
              f"worst {max(times) * 1000:6.1f} ms")
    print(f"ratio (median, held / none): "
          f"{statistics.median(loaded) / statistics.median(baseline):.2f}x")


if __name__ == "__main__":
    main()
