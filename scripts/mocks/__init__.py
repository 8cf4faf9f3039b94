"""Per-exchange mock modules for scripts/mock_exchange.py (`--exchange NAME`).

Binance lives in mock_exchange.py itself; every other exchange is one module here, `NAME.py`,
defining:

    class Mock:
        def __init__(self, credentials: dict): ...
            # the --credentials JSON: {"<api key>": "<secret>"} or
            # {"<api key>": {"secret": "...", "passphrase": "...", ...}}
        def handle(self, req: Request) -> tuple[int, object]:
            # verify the request exactly as the exchange does and answer it;
            # fill req.rec: "verified" (bool), "auth" ("public" | "signed" | ...),
            # "api_key", "params" (dict), "error"; raise MockError for an exchange error.

The server records every request (method, path, query, lower-cased headers, body, the fields
above, status) as one JSON line, so tests can prove what did or did not reach the exchange.
"""

import json
import time
import urllib.parse


class MockError(Exception):
    """An error answer in the exchange's own format."""

    def __init__(self, status, payload, msg=None):
        super().__init__(msg or str(payload))
        self.status = status
        self.payload = payload
        self.msg = msg or str(payload)


class Request:
    def __init__(self, method, path, query, headers, body, rec):
        self.method = method          # "GET", "POST", ...
        self.path = path              # "/v5/order/create"
        self.query = query            # raw query string, without "?"
        self.headers = headers        # lower-cased names
        self.body = body              # bytes
        self.rec = rec                # the record being written for this request

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text) if self.body else {}

    def query_params(self):
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))

    def form_params(self):
        return dict(urllib.parse.parse_qsl(self.text, keep_blank_values=True))


def now_ms():
    return int(time.time() * 1000)


def credential(credentials, api_key):
    """(secret, extras dict) for a key, or (None, {})."""
    v = credentials.get(api_key)
    if v is None:
        return None, {}
    if isinstance(v, str):
        return v, {}
    return v.get("secret"), v
