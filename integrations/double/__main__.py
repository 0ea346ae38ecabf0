"""``python -m integrations.double --port 4010 --master-key sk-demo-master [--seed-models]``."""
from __future__ import annotations

import argparse
import os
import signal
import sys

from integrations.double import LiteLLMDouble


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # leave serve_forever() the same way Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    """Run the double in the foreground until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m integrations.double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--master-key", default=os.environ.get("LITELLM_MASTER_KEY") or "sk-demo-master")
    parser.add_argument("--seed-models", action="store_true", help="start with two demo models")
    args = parser.parse_args(argv)
    double = LiteLLMDouble(host=args.host, port=args.port, master_key=args.master_key, seed_models=args.seed_models)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # The master key is the operator's own choice; print only where the double listens.
    print(f"LiteLLM double listening on {double.url} (models seeded: {args.seed_models})", flush=True)
    try:
        double.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
