"""Mock of Kraken's spot REST API (https://api.kraken.com/0/...), written from Kraken's docs
(https://docs.kraken.com/api/docs/guides/spot-rest-auth), not from keyward's code.

Verification of /0/private/* (POST only):
  * `API-Key` names a known key;
  * the body is form-encoded or JSON and carries `nonce`, an unsigned integer strictly greater
    than every nonce seen before for that key (Kraken's default: no nonce window);
  * `API-Sign` == base64(HMAC-SHA512(base64decode(secret), path + SHA256(nonce + raw body)));
  * no `otp` (the mock's keys have no 2FA password).
/0/public/* needs nothing. Errors are Kraken's: HTTP 200 with {"error": ["EAPI:Invalid key"]}.
"""

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse

from . import MockError, credential

PAIRS = {
    "XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "base": "XXBT", "quote": "ZUSD",
                 "pair_decimals": 1, "lot_decimals": 8, "ordermin": "0.0001", "costmin": "0.5",
                 "tick_size": "0.1"},
    "XETHZUSD": {"altname": "ETHUSD", "wsname": "ETH/USD", "base": "XETH", "quote": "ZUSD",
                 "pair_decimals": 2, "lot_decimals": 8, "ordermin": "0.002", "costmin": "0.5",
                 "tick_size": "0.01"},
}

ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5,
             "status": "enabled"},
    "XETH": {"aclass": "currency", "altname": "ETH", "decimals": 10, "display_decimals": 5,
             "status": "enabled"},
    "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2,
             "status": "enabled"},
}


def ws_token(credentials):
    """The WebSocket token this mock issues: derived from the (one) credential's secret."""
    import hashlib
    key = sorted(credentials)[0]
    secret = credentials[key] if isinstance(credentials[key], str) else credentials[key]["secret"]
    return "REAL-KRAKEN-WS-" + hashlib.sha256(("ws-token" + secret).encode()).hexdigest()[:32]


def kraken_error(*errors):
    # Kraken answers errors with HTTP 200 and a non-empty "error" list.
    return MockError(200, {"error": list(errors)}, ", ".join(errors))


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.last_nonce = {}
        self.lock = threading.Lock()
        self.orders = {}
        self.ids = itertools.count(1)

    # ---------------------------------------------------------------------------------------
    def handle(self, req):
        rec = req.rec
        if req.path.startswith("/0/public/"):
            rec["auth"] = "public"
            params = req.query_params()
            if req.method == "POST" and req.body:
                params.update(req.form_params())
            rec["params"] = params
            rec["verified"] = True
            return 200, {"error": [], "result": self.public(req.path[len("/0/public/"):], params)}
        if not req.path.startswith("/0/private/"):
            raise MockError(404, {"error": ["EGeneral:Unknown method"]}, "unknown path")
        rec["auth"] = "signed"
        if req.method != "POST":
            raise kraken_error("EGeneral:Invalid arguments")
        params = self.verify(req)
        rec["params"] = params
        rec["verified"] = True
        return 200, {"error": [], "result": self.private(req.path[len("/0/private/"):], params)}

    def verify(self, req):
        key = req.headers.get("api-key")
        req.rec["api_key"] = key
        secret, _ = credential(self.credentials, key or "")
        if not key or secret is None:
            raise kraken_error("EAPI:Invalid key")
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                params = json.loads(req.text)
            except ValueError:
                raise kraken_error("EGeneral:Invalid arguments")
            if not isinstance(params, dict):
                raise kraken_error("EGeneral:Invalid arguments")
        elif ctype == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(req.text, keep_blank_values=True, strict_parsing=True)
            params = dict(pairs)
            if len(params) != len(pairs):
                raise kraken_error("EGeneral:Invalid arguments")
        else:
            raise kraken_error("EGeneral:Invalid arguments")
        if "otp" in params:
            raise kraken_error("EAPI:Invalid arguments:otp")
        nonce = params.get("nonce")
        nonce_text = str(nonce) if isinstance(nonce, int) and not isinstance(nonce, bool) else nonce
        if not isinstance(nonce_text, str) or not nonce_text.isdigit() or int(nonce_text) >= 2**64:
            raise kraken_error("EAPI:Invalid nonce")
        try:
            key_bytes = base64.b64decode(secret, validate=True)
        except ValueError:
            raise kraken_error("EAPI:Invalid key")
        digest = hashlib.sha256(nonce_text.encode() + req.body).digest()
        expected = base64.b64encode(
            hmac.new(key_bytes, req.path.encode() + digest, hashlib.sha512).digest()).decode()
        got = req.headers.get("api-sign", "")
        if not hmac.compare_digest(expected.encode(), got.encode("utf-8", "replace")):
            raise kraken_error("EAPI:Invalid signature")
        with self.lock:
            if int(nonce_text) <= self.last_nonce.get(key, 0):
                raise kraken_error("EAPI:Invalid nonce")
            self.last_nonce[key] = int(nonce_text)
        return {k: v for k, v in params.items() if k != "nonce"}

    # ---------------------------------------------------------------------------------------
    def public(self, name, params):
        if name == "Time":
            now = int(time.time())
            return {"unixtime": now, "rfc1123": time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(now))}
        if name == "SystemStatus":
            return {"status": "online", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if name == "Assets":
            return ASSETS
        if name == "AssetPairs":
            out = {}
            for pid, p in PAIRS.items():
                out[pid] = dict(p, aclass_base="currency", aclass_quote="currency", lot="unit",
                                cost_decimals=5, lot_multiplier=1, leverage_buy=[],
                                leverage_sell=[], fees=[[0, 0.26], [50000, 0.24]],
                                fees_maker=[[0, 0.16], [50000, 0.14]], fee_volume_currency="ZUSD",
                                margin_call=80, margin_stop=40, status="online")
            return out
        if name == "Ticker":
            return {pid: {"a": ["30000.1", "1", "1.000"], "b": ["30000.0", "1", "1.000"],
                          "c": ["30000.0", "0.1"], "v": ["100", "200"], "p": ["30000", "30000"],
                          "t": [10, 20], "l": ["29000", "29000"], "h": ["31000", "31000"],
                          "o": "29500"} for pid in PAIRS}
        if name == "Depth":
            pair = params.get("pair", "XXBTZUSD")
            return {pair: {"asks": [["30000.1", "1.0", int(time.time())]],
                           "bids": [["30000.0", "1.0", int(time.time())]]}}
        raise kraken_error("EGeneral:Unknown method")

    def private(self, name, params):
        if name == "GetWebSocketsToken":
            # deterministic, so scripts/ws_mock.py (another process) knows the real token
            return {"token": ws_token(self.credentials), "expires": 900}
        if name in ("Balance",):
            return {"ZUSD": "25000.0000", "XXBT": "1.2500000000"}
        if name == "BalanceEx":
            return {"ZUSD": {"balance": "25000.0000", "hold_trade": "0.0000"},
                    "XXBT": {"balance": "1.2500000000", "hold_trade": "0.0000000000"}}
        if name == "TradeBalance":
            return {"eb": "62500.0000", "tb": "62500.0000", "m": "0", "n": "0", "c": "0",
                    "v": "0", "e": "62500.0000", "mf": "62500.0000"}
        if name == "AddOrder":
            return self.add_order(params)
        if name == "AddOrderBatch":
            # Add Order Batch: 2 to 15 orders on one `pair`, each answered with its txid.
            orders = params.get("orders")
            if not isinstance(orders, list) or not 2 <= len(orders) <= 15:
                raise kraken_error("EGeneral:Invalid arguments:orders")
            out = []
            for o in orders:
                if not isinstance(o, dict):
                    raise kraken_error("EGeneral:Invalid arguments:orders")
                placed = self.add_order(dict({k: v for k, v in params.items() if k != "orders"}, **o))
                out.append({"txid": placed["txid"][0], "descr": placed["descr"]})
            return {"orders": out}
        if name == "AmendOrder":
            # Amend Order: a new order_qty / limit_price / trigger_price for an open order, in place.
            o = self.open_order(params.get("txid") or params.get("cl_ord_id"))
            if not any(k in params for k in ("order_qty", "limit_price", "trigger_price", "display_qty")):
                raise kraken_error("EGeneral:Invalid arguments:nothing to amend")
            if "order_qty" in params:
                o["volume"] = params["order_qty"]
            if "limit_price" in params:
                o["price"] = params["limit_price"]
            return {"amend_id": f"TA{next(self.ids):05d}-MOCK"}
        if name == "EditOrder":
            # Edit Order: cancels the order and places a new one with the new volume / price.
            old = self.open_order(params.get("txid"))
            if params.get("pair") != old["pair"]:
                raise kraken_error("EGeneral:Invalid arguments:pair")
            old["status"] = "canceled"
            new = self.add_order(dict(old, **{k: params[k] for k in ("volume", "price", "price2") if k in params}))
            return {"status": "ok", "txid": new["txid"][0], "originaltxid": params["txid"],
                    "volume": self.orders[new["txid"][0]]["volume"], "price": self.orders[new["txid"][0]].get("price", "0"),
                    "orders_cancelled": 1, "descr": new["descr"]}
        if name == "CancelOrder":
            txid = params.get("txid")
            if txid not in self.orders or self.orders[txid]["status"] != "open":
                raise kraken_error("EOrder:Unknown order")
            self.orders[txid]["status"] = "canceled"
            return {"count": 1}
        if name == "OpenOrders":
            return {"open": {t: self.order_info(o) for t, o in self.orders.items() if o["status"] == "open"}}
        if name == "ClosedOrders":
            return {"closed": {t: self.order_info(o) for t, o in self.orders.items() if o["status"] != "open"},
                    "count": 0}
        if name == "QueryOrders":
            ids = str(params.get("txid", "")).split(",")
            return {t: self.order_info(self.orders[t]) for t in ids if t in self.orders}
        if name == "GetApiKeyInfo":
            return {"name": "mock", "permissions": ["query_funds", "create_orders"]}
        return {}

    def add_order(self, params):
        for field in ("pair", "type", "ordertype", "volume"):
            if field not in params:
                raise kraken_error(f"EGeneral:Invalid arguments:{field}")
        if params["pair"] not in PAIRS and params["pair"] not in [p["altname"] for p in PAIRS.values()]:
            raise kraken_error("EQuery:Unknown asset pair")
        txid = f"O{next(self.ids):05d}-MOCK-{int(time.time()) % 100000:05d}"
        self.orders[txid] = dict(params, status="open", opentm=time.time())
        price = params.get("price", "market")
        descr = f"{params['type']} {params['volume']} {params['pair']} @ {params['ordertype']} {price}"
        return {"descr": {"order": descr}, "txid": [txid]}

    def open_order(self, txid):
        if txid not in self.orders or self.orders[txid]["status"] != "open":
            raise kraken_error("EOrder:Unknown order")
        return self.orders[txid]

    @staticmethod
    def order_info(o):
        return {"refid": None, "userref": 0, "status": o["status"], "opentm": o["opentm"],
                "starttm": 0, "expiretm": 0,
                "descr": {"pair": o["pair"], "type": o["type"], "ordertype": o["ordertype"],
                          "price": o.get("price", "0"), "price2": "0", "leverage": "none",
                          "order": "", "close": ""},
                "vol": o["volume"], "vol_exec": "0", "cost": "0", "fee": "0", "price": "0",
                "misc": "", "oflags": o.get("oflags", "")}
