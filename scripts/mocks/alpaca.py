"""Mock of Alpaca's Trading API (/v2/account, /v2/orders, ...) and Market Data API (/v2/stocks,
/v1beta3/crypto, ...), both served here (keyward strips its /trading and /data prefixes).

Authentication as Alpaca documents it (https://docs.alpaca.markets/docs/authentication): no
signature; `APCA-API-KEY-ID` must name a known key and `APCA-API-SECRET-KEY` must be its secret.
Crypto market data (/v1beta3/crypto/...) is public.

--credentials: {"<key id>": "<secret key>"}.
"""

import hmac
import json
import threading
import time
import uuid

from . import MockError, credential

ASSETS = [
    {"id": "276e2673-764b-4ab6-a611-caf665ca6340", "class": "crypto", "exchange": "CRYPTO", "symbol": "BTC/USD",
     "name": "Bitcoin / US Dollar", "status": "active", "tradable": True, "marginable": False, "maintenance_margin_requirement": 100,
     "shortable": False, "easy_to_borrow": False, "fractionable": True, "attributes": [],
     "min_order_size": "0.0001", "min_trade_increment": "0.000000001", "price_increment": "1"},
    {"id": "a1733398-6acc-4e92-af24-0d0667f78713", "class": "crypto", "exchange": "CRYPTO", "symbol": "ETH/USD",
     "name": "Ethereum / US Dollar", "status": "active", "tradable": True, "marginable": False, "maintenance_margin_requirement": 100,
     "shortable": False, "easy_to_borrow": False, "fractionable": True, "attributes": [],
     "min_order_size": "0.001", "min_trade_increment": "0.000000001", "price_increment": "0.1"},
]


def error(status, code, message):
    return MockError(status, {"code": code, "message": message}, message)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000Z"


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.orders = {}
        self.lock = threading.Lock()

    def handle(self, req):
        params = req.query_params()
        body = {}
        if req.body:
            if "application/json" not in req.headers.get("content-type", ""):
                raise error(415, 40010000, "request body must be JSON")
            body = json.loads(req.text)
            params.update(body if isinstance(body, dict) else {})
        req.rec["params"] = params
        if req.path.startswith("/v1beta3/crypto/") and req.method == "GET":
            req.rec["auth"] = "public"
            req.rec["verified"] = True
            return 200, {"orderbooks": {}, "bars": {}, "quotes": {}, "trades": {}}
        key_id = req.headers.get("apca-api-key-id")
        secret_key = req.headers.get("apca-api-secret-key")
        req.rec["api_key"] = key_id
        secret, _ = credential(self.credentials, key_id or "")
        if secret is None or secret_key is None or not hmac.compare_digest(secret.encode(), secret_key.encode()):
            raise error(401, 40110000, "request is not authorized")
        req.rec["auth"] = "key"
        req.rec["verified"] = True
        return self.route(req.method, req.path, params, body)

    def route(self, m, p, params, body):
        if m == "GET" and p == "/v2/assets":
            return 200, [a for a in ASSETS if params.get("asset_class", "crypto") == a["class"]]
        if m == "GET" and p == "/v2/account":
            return 200, {"id": "e6fe16f3-64a4-4921-8928-cadf02f92f98", "account_number": "PA3717PJAYWN",
                         "status": "ACTIVE", "crypto_status": "ACTIVE", "currency": "USD", "cash": "25000",
                         "equity": "62500", "position_market_value": "37500", "buying_power": "25000",
                         "trading_blocked": False, "transfers_blocked": True, "account_blocked": False,
                         "pattern_day_trader": False}
        if m == "GET" and p == "/v2/positions":
            return 200, [{"asset_id": ASSETS[0]["id"], "symbol": "BTCUSD", "exchange": "CRYPTO",
                          "asset_class": "crypto", "qty": "1.25", "qty_available": "1.25", "side": "long",
                          "avg_entry_price": "30000", "market_value": "37500", "current_price": "30000"}]
        if m == "POST" and p == "/v2/orders":
            for field in ("symbol", "side", "type", "time_in_force"):
                if field not in body:
                    raise error(422, 40010001, f"{field} is required")
            if "qty" not in body and "notional" not in body:
                raise error(422, 40010001, "qty or notional is required")
            now = time.time()
            order = {"id": str(uuid.uuid4()), "client_order_id": body.get("client_order_id") or str(uuid.uuid4()),
                     "created_at": iso(now), "updated_at": iso(now), "submitted_at": iso(now), "filled_at": None,
                     "canceled_at": None, "asset_id": ASSETS[0]["id"], "symbol": body["symbol"],
                     "asset_class": "crypto", "qty": body.get("qty"), "notional": body.get("notional"),
                     "filled_qty": "0", "filled_avg_price": None, "order_class": "", "order_type": body["type"],
                     "type": body["type"], "side": body["side"], "time_in_force": body["time_in_force"],
                     "limit_price": body.get("limit_price"), "stop_price": body.get("stop_price"),
                     "status": "new", "extended_hours": False}
            with self.lock:
                self.orders[order["id"]] = order
            return 200, order
        if m == "PATCH" and p.startswith("/v2/orders/"):
            # Replace (https://docs.alpaca.markets/reference/patchorderbyorderid-1): a new order
            # takes the old one's place; the old one is "replaced".
            oid = p.rsplit("/", 1)[1]
            if not isinstance(body, dict) or not body:
                raise error(422, 40010001, "a replace needs qty, limit_price, stop_price, trail or time_in_force")
            with self.lock:
                old = self.orders.get(oid)
                if old is None:
                    raise error(404, 40410000, "order not found")
                if old["status"] != "new":
                    raise error(422, 42210000, "order is not replaceable")
                now = time.time()
                new = dict(old, id=str(uuid.uuid4()), created_at=iso(now), updated_at=iso(now),
                           submitted_at=iso(now), replaces=oid)
                for field in ("qty", "limit_price", "stop_price", "time_in_force", "client_order_id"):
                    if field in body:
                        new[field] = body[field]
                old["status"] = "replaced"
                old["replaced_by"] = new["id"]
                old["replaced_at"] = iso(now)
                self.orders[new["id"]] = new
            return 200, new
        if m == "GET" and p == "/v2/orders:by_client_order_id":
            cid = params.get("client_order_id")
            if not cid:
                raise error(422, 40010001, "client_order_id is required")
            with self.lock:
                found = [o for o in self.orders.values() if o["client_order_id"] == cid]
            if not found:
                raise error(404, 40410000, "order not found")
            return 200, found[-1]
        if m == "DELETE" and p.startswith("/v2/orders/"):
            oid = p.rsplit("/", 1)[1]
            with self.lock:
                order = self.orders.get(oid)
                if order is None:
                    raise error(404, 40410000, "order not found")
                if order["status"] != "new":
                    raise error(422, 42210000, "order is not cancelable")
                order["status"] = "canceled"
                order["canceled_at"] = iso(time.time())
            # Alpaca answers 204 with no body; the shared mock server always sends JSON, so the
            # cancelled order is returned (what ccxt parses either way).
            return 200, order
        if m == "GET" and p.startswith("/v2/orders/"):
            order = self.orders.get(p.rsplit("/", 1)[1])
            if order is None:
                raise error(404, 40410000, "order not found")
            return 200, order
        raise error(404, 40410000, f"{m} {p} is not mocked")
