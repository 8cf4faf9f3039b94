"""Mock of Gate's API v4 (https://api.gateio.ws/api/v4/...), written from Gate's docs
(https://www.gate.com/docs/developers/apiv4/#authentication), not from keyward's code.

Verification of private endpoints:
  * `KEY` names a known key; `Timestamp` (seconds) within 60 s of the mock's clock;
  * `SIGN` == hex(HMAC-SHA512(secret, METHOD\\n/api/v4/path\\nquery\\nhex(SHA512(body))\\nts)),
    with `query` the raw query string exactly as received and `body` the raw bytes received;
  * a JSON body must be valid JSON.
Public endpoints need nothing. Errors are Gate's: {"label": "...", "message": "..."}.
"""

import hashlib
import hmac
import itertools
import json
import re
import time

from . import MockError, credential

PUBLIC = [
    r"/spot/currencies(/[^/]+)?", r"/spot/currency_pairs(/[^/]+)?", r"/spot/tickers",
    r"/spot/order_book", r"/spot/trades", r"/spot/candlesticks", r"/spot/time",
    r"/margin/currency_pairs(/[^/]+)?", r"/margin/uni/currency_pairs(/[^/]+)?",
    r"/futures/[a-z]+/(contracts(/[^/]+)?|order_book|trades|candlesticks|tickers|funding_rate)",
    r"/delivery/[a-z]+/(contracts(/[^/]+)?|order_book|trades|candlesticks|tickers)",
    r"/options/(underlyings|expirations|contracts(/[^/]+)?|order_book|tickers|trades)",
    r"/wallet/currency_chains",
]
PUBLIC_RE = re.compile(r"^/api/v4(?:" + "|".join(PUBLIC) + r")$")

PAIRS = [
    {"id": "BTC_USDT", "base": "BTC", "quote": "USDT", "fee": "0.2", "min_base_amount": "0.0001",
     "min_quote_amount": "3", "amount_precision": 4, "precision": 1, "trade_status": "tradable",
     "sell_start": 1516378650, "buy_start": 1516378650},
    {"id": "ETH_USDT", "base": "ETH", "quote": "USDT", "fee": "0.2", "min_base_amount": "0.001",
     "min_quote_amount": "3", "amount_precision": 4, "precision": 2, "trade_status": "tradable",
     "sell_start": 1516378650, "buy_start": 1516378650},
]


def gate_error(status, label, message):
    return MockError(status, {"label": label, "message": message}, f"{label}: {message}")


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.orders = {}
        self.ids = itertools.count(1000)

    def handle(self, req):
        rec = req.rec
        params = req.query_params()
        if PUBLIC_RE.match(req.path):
            rec["auth"] = "public"
            rec["params"] = params
            rec["verified"] = True
            return 200, self.public(req.path[len("/api/v4"):], params)
        if not req.path.startswith("/api/v4/"):
            raise gate_error(404, "NOT_FOUND", "not found")
        rec["auth"] = "signed"
        body = self.verify(req)
        if isinstance(body, dict):
            params.update(body)
        rec["params"] = params
        rec["verified"] = True
        return self.private(req.method, req.path[len("/api/v4"):], params, body)

    def verify(self, req):
        key = req.headers.get("key")
        req.rec["api_key"] = key
        secret, _ = credential(self.credentials, key or "")
        if not key or secret is None:
            raise gate_error(401, "INVALID_KEY", "Invalid key provided")
        ts = req.headers.get("timestamp", "")
        if not ts.isdigit():
            raise gate_error(401, "MISSING_REQUIRED_HEADER", "Timestamp header missing")
        if abs(time.time() - int(ts)) > 60:
            raise gate_error(401, "REQUEST_EXPIRED", "gap between request Timestamp and server time exceeds 60")
        payload = "\n".join([req.method, req.path, req.query,
                             hashlib.sha512(req.body).hexdigest(), ts])
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()
        if not hmac.compare_digest(expected.encode(), req.headers.get("sign", "").encode("utf-8", "replace")):
            raise gate_error(401, "INVALID_SIGNATURE", "Signature mismatch")
        if req.body:
            if not req.headers.get("content-type", "").startswith("application/json"):
                raise gate_error(400, "INVALID_CONTENT_TYPE", "Content-Type must be application/json")
            try:
                return json.loads(req.text)
            except ValueError:
                raise gate_error(400, "INVALID_REQUEST_BODY", "invalid JSON body")
        return None

    def spot_order(self, body):
        if not isinstance(body, dict):
            raise gate_error(400, "INVALID_REQUEST_BODY", "order must be an object")
        for field in ("currency_pair", "side", "amount"):
            if field not in body:
                raise gate_error(400, "MISSING_REQUIRED_PARAM", f"{field} is required")
        oid = str(next(self.ids))
        now = time.time()
        order = dict(body, id=oid, status="open", create_time=str(int(now)),
                     create_time_ms=int(now * 1000), update_time=str(int(now)),
                     update_time_ms=int(now * 1000), left=body["amount"], filled_amount="0",
                     fill_price="0", filled_total="0", fee="0", fee_currency="BTC",
                     point_fee="0", gt_fee="0", gt_discount=False, rebated_fee="0",
                     rebated_fee_currency="USDT", type=body.get("type", "limit"),
                     time_in_force=body.get("time_in_force", "gtc"), account="spot")
        self.orders[oid] = order
        return order

    def amend_spot(self, oid, params, body):
        order = self.orders.get(oid or "")
        if not isinstance(body, dict):
            raise gate_error(400, "INVALID_REQUEST_BODY", "amend body must be an object")
        if order is None or order["currency_pair"] != params.get("currency_pair"):
            raise gate_error(404, "ORDER_NOT_FOUND", "Order not found")
        if order["status"] != "open":
            raise gate_error(400, "ORDER_CLOSED", "Order was closed")
        if "amount" not in body and "price" not in body:
            raise gate_error(400, "MISSING_REQUIRED_PARAM", "amount or price is required")
        for field in ("amount", "price"):
            if field in body:
                order[field] = str(body[field])
        order["left"] = order["amount"]
        now = time.time()
        order["update_time"], order["update_time_ms"] = str(int(now)), int(now * 1000)
        if "amend_text" in body:
            order["amend_text"] = body["amend_text"]
        return order

    def futures_order(self, settle, body):
        """Place futures order: `size` in contracts, signed (negative sells); `price` "0" with
        tif=ioc is a market order."""
        if not isinstance(body, dict):
            raise gate_error(400, "INVALID_REQUEST_BODY", "order must be an object")
        if "contract" not in body or not isinstance(body.get("size"), int) or isinstance(body.get("size"), bool):
            raise gate_error(400, "INVALID_PARAM_VALUE", "contract and an integer size are required")
        if "price" not in body:
            raise gate_error(400, "MISSING_REQUIRED_PARAM", "price is required")
        oid = next(self.ids)
        now = time.time()
        order = dict(body, id=oid, user=1234567, create_time=now, status="open", finish_as="",
                     left=body["size"], fill_price="0", tif=body.get("tif", "gtc"), settle=settle,
                     text=body.get("text", "api"), is_reduce_only=bool(body.get("reduce_only")),
                     is_close=bool(body.get("close")), iceberg=body.get("iceberg", 0))
        self.orders[("futures", str(oid))] = order
        return order

    def amend_futures(self, oid, body):
        order = self.orders.get(("futures", str(oid)))
        if order is None or order["status"] != "open":
            raise gate_error(404, "ORDER_NOT_FOUND", "Order not found")
        if not isinstance(body, dict) or ("size" not in body and "price" not in body):
            raise gate_error(400, "MISSING_REQUIRED_PARAM", "size or price is required")
        for field in ("size", "price"):
            if field in body:
                order[field] = body[field]
        order["left"] = order["size"]
        return order

    @staticmethod
    def each(body, most, one):
        """A batch: a JSON array of at most `most` items, each answered with `succeeded`."""
        if not isinstance(body, list) or not 0 < len(body) <= most:
            raise gate_error(400, "INVALID_REQUEST_BODY", f"the body must be an array of 1 to {most} items")
        out = []
        for item in body:
            try:
                out.append(dict(one(item), succeeded=True))
            except MockError as e:
                out.append({"succeeded": False, "label": e.payload["label"], "message": e.payload["message"],
                            "text": item.get("text", "") if isinstance(item, dict) else ""})
        return out

    def public(self, path, params):
        if path == "/spot/currency_pairs":
            return PAIRS
        if path == "/margin/currency_pairs":
            return []
        if path == "/spot/currencies":
            return [{"currency": c, "name": c, "delisted": False, "withdraw_disabled": False,
                     "withdraw_delayed": False, "deposit_disabled": False, "trade_disabled": False,
                     "chains": [{"name": c, "addr": "", "withdraw_disabled": False,
                                 "withdraw_delayed": False, "deposit_disabled": False}]}
                    for c in ("BTC", "ETH", "USDT")]
        if path == "/spot/time":
            return {"server_time": int(time.time() * 1000)}
        if path == "/spot/tickers":
            return [{"currency_pair": p["id"], "last": "30000", "lowest_ask": "30000.1",
                     "highest_bid": "30000", "change_percentage": "0", "base_volume": "10",
                     "quote_volume": "300000", "high_24h": "31000", "low_24h": "29000"} for p in PAIRS]
        if path == "/spot/order_book":
            return {"id": 1, "current": int(time.time() * 1000), "update": int(time.time() * 1000),
                    "asks": [["30000.1", "1"]], "bids": [["30000", "1"]]}
        return []

    def private(self, method, path, params, body):
        if path == "/account/detail":
            return 200, {"user_id": 1234567, "ip_whitelist": [], "currency_pairs": [],
                         "key": {"mode": 1}, "tier": 0}
        if path == "/account/main_keys":
            return 200, [{"state": 1, "mode": 1, "perms": [{"name": "spot", "read_only": False}]}]
        if path == "/spot/accounts":
            return 200, [{"currency": "USDT", "available": "25000", "locked": "0", "update_id": 1},
                         {"currency": "BTC", "available": "1.25", "locked": "0", "update_id": 1}]
        if path == "/spot/orders" and method == "POST":
            return 201, self.spot_order(body)
        if path == "/spot/batch_orders" and method == "POST":
            # Batch place orders: an array of at most 10 orders, each answered on its own.
            return 200, self.each(body, 10, self.spot_order)
        if path == "/spot/amend_batch_orders" and method == "POST":
            # Batch modification of orders: an array of {order_id, currency_pair, amount, price ...}.
            return 200, self.each(body, 5, lambda b: self.amend_spot(b.get("order_id"), b, b))
        fm = re.match(r"^/futures/(usdt|btc)/(orders|batch_orders|batch_amend_orders)$", path)
        if fm and method == "POST":
            if fm.group(2) == "orders":
                return 201, self.futures_order(fm.group(1), body)
            if fm.group(2) == "batch_orders":
                return 200, self.each(body, 10, lambda b: self.futures_order(fm.group(1), b))
            return 200, self.each(body, 10, lambda b: self.amend_futures(b.get("order_id"), b))
        fl = re.match(r"^/(futures|delivery)/(usdt|btc)/positions/([^/]+)/leverage$", path)
        if fl and method == "POST":
            # Update position leverage: `leverage` (and `cross_leverage_limit`) in the query.
            if "leverage" not in params:
                raise gate_error(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: leverage")
            return 200, {"contract": fl.group(3), "size": 0, "leverage": str(params["leverage"]),
                         "cross_leverage_limit": str(params.get("cross_leverage_limit", "0")),
                         "mode": "single"}
        fa = re.match(r"^/futures/(usdt|btc)/orders/([^/]+)$", path)
        if fa and method == "PUT":
            return 200, self.amend_futures(fa.group(2), body)
        m = re.match(r"^/spot/orders/([^/]+)$", path)
        if m and method == "PATCH":
            # Amend (https://www.gate.com/docs/developers/apiv4/#amend-an-order): currency_pair
            # in the query (and optionally the body), new amount and/or price in the JSON body.
            return 200, self.amend_spot(m.group(1), params, body)
        if m and method in ("GET", "DELETE"):
            order = self.orders.get(m.group(1))
            if order is None or order["currency_pair"] != params.get("currency_pair"):
                raise gate_error(404, "ORDER_NOT_FOUND", "Order not found")
            if method == "DELETE":
                order["status"] = "cancelled"
                order["finish_as"] = "cancelled"
            return 200, order
        if path == "/spot/open_orders":
            return 200, []
        if path == "/spot/orders" and method == "GET":
            return 200, [o for o in self.orders.values()
                         if o["currency_pair"] == params.get("currency_pair")
                         and o["status"] == params.get("status", "open")]
        return 200, []
