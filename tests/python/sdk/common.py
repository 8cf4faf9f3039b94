"""What every SDK scenario shares: its settings and how it reports a step."""

import json
import os
import sys
import traceback

BASE = os.environ.get("KW_BASE", "")
TOKEN = os.environ.get("KW_TOKEN", "")


def step(name, call):
    """Runs `call()`, prints its result (or the SDK's exception text) as one JSON line."""
    try:
        result = call()
        print(json.dumps({"step": name, "ok": True, "result": result}, default=str), flush=True)
        return result
    except Exception as e:  # the SDK's own exception: its text is what an operator sees
        print(json.dumps({"step": name, "error": f"{type(e).__name__}: {e}"}), flush=True)
        traceback.print_exc(file=sys.stderr)
        return None
