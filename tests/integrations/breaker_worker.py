"""Helper run as a separate process by the breaker tests: acts on the shared breaker and prints its state.

Usage: ``python -m tests.integrations.breaker_worker <name> <cooldown> fail|succeed|check [count]``
(``REDIS_URL`` and ``CACHE_KEY_PREFIX`` select the shared Redis cache).
"""
from __future__ import annotations

import os
import sys
import time


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")
    import django

    django.setup()
    from integrations.litellm.breaker import CircuitBreaker
    from integrations.litellm.errors import LiteLLMUnavailable

    name, cooldown, action = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    breaker = CircuitBreaker(name=name, failure_threshold=5, window_seconds=60, cooldown_seconds=cooldown,
                             recovery_successes=2, trial_timeout_seconds=5)
    for _ in range(count):
        if action == "fail":
            breaker.record_failure()
        elif action == "succeed":
            breaker.before_call()
            breaker.record_success()
        elif action == "check":
            breaker.snapshot()  # open the Redis connection first: time only the decision
            started = time.perf_counter()
            try:
                breaker.before_call()
                print(f"allowed {time.perf_counter() - started:.6f}")
            except LiteLLMUnavailable as exc:
                print(f"refused {time.perf_counter() - started:.6f} retry_after={exc.retry_after}")
    print(f"state {breaker.state()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
