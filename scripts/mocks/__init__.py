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

import base64
import hashlib
import hmac
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


def header_key(req, credentials, header):
    """(api_key, secret, extras) for the key in `header` (recorded as rec["api_key"]);
    secret is None when the header is missing or names no known key."""
    api_key = req.headers.get(header)
    req.rec["api_key"] = api_key
    if not api_key:
        return api_key, None, {}
    secret, extras = credential(credentials, api_key)
    return api_key, secret, extras


def passphrase_ok(given, extras):
    """A plain-text passphrase header against the key's own, in constant time."""
    return hmac.compare_digest(given.encode(), (extras.get("passphrase") or "").encode())


def within(ts_ms, window_ms):
    """The timestamp is no more than window_ms away from the server's clock, either way."""
    return abs(now_ms() - ts_ms) <= window_ms


def b64_hmac_sha256(secret, text):
    """base64 HMAC-SHA256(secret, text) of two strings."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def hex_hmac_sha256(secret, text):
    """hex HMAC-SHA256(secret, text) of two strings."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def mark_public(req):
    req.rec["auth"] = "public"
    req.rec["verified"] = True


def mark_signed(req):
    req.rec["verified"] = True
    req.rec["auth"] = "signed"


def get_or_json_post(req, error, not_allowed, not_json_type, bad_json):
    """GET parameters from the query string, POST parameters from a JSON body (needing
    Content-Type application/json); no other method. The three last arguments are the
    (status, code, msg) `error` answers for those refusals."""
    if req.method == "GET":
        return req.query_params()
    if req.method != "POST":
        raise error(*not_allowed)
    if "application/json" not in req.headers.get("content-type", ""):
        raise error(*not_json_type)
    try:
        return json.loads(req.text) if req.body else {}
    except ValueError:
        raise error(*bad_json)
