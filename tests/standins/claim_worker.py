"""One "dyno" for the cross-process dedupe test:
``python -m tests.standins.claim_worker URL N THREADS``.

It opens the store, prints ``ready``, waits for a line on stdin (so both processes start
claiming together), claims keys 0…N-1 in a shuffled order from THREADS threads, and prints
the keys it won as JSON.
"""

from __future__ import annotations

import json
import random
import sys
from concurrent.futures import ThreadPoolExecutor

from bot.storage import Store


def main(url: str, keys: int, threads: int) -> None:
    store = Store.from_url(url)
    order = list(range(keys))
    random.shuffle(order)
    print("ready", flush=True)
    sys.stdin.readline()
    with ThreadPoolExecutor(threads) as pool:
        won = pool.map(lambda n: store.claim("T1", "C1", f"{n}.000100"), order)
        print(json.dumps(sorted(n for n, ok in zip(order, won, strict=True) if ok)), flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
