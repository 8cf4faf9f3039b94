"""Mock of the OKX v5 REST API (www.okx.com), written from OKX's documentation:
https://www.okx.com/docs-v5/en/#overview-rest-authentication

Verification, as OKX does it:
  * `/api/v5/public/...`, `/api/v5/market/...`, `/api/v5/system/...` and
    `/api/v5/rubik/stat/...` are public: nothing is checked.
  * everything else needs OK-ACCESS-KEY (a known key), OK-ACCESS-PASSPHRASE (that key's
    passphrase, in plain text), OK-ACCESS-TIMESTAMP (ISO 8601 UTC with milliseconds, within 30 s
    of the server's clock) and OK-ACCESS-SIGN = base64 HMAC-SHA256(secret, timestamp + METHOD
    + requestPath + body), where requestPath is the path with `?` and the raw query string (if
    any) and body the raw body, exactly as received.
  * POST bodies must be JSON (Content-Type application/json); v5 has no other methods.

Answers are enough for ccxt's load_markets, fetch_balance, create_order (batch-orders),
create_orders, edit_order (amend-order), edit_orders (amend-batch-orders), cancel_order and
fetch_open_orders. Errors use OKX's envelope {"code", "msg", "data"}.
"""

import datetime
import hmac
import itertools
import threading

from . import (MockError, b64_hmac_sha256, get_or_json_post, header_key, mark_public, mark_signed,
               now_ms, passphrase_ok, within)

PUBLIC_PREFIXES = ("/api/v5/public/", "/api/v5/market/", "/api/v5/system/", "/api/v5/rubik/stat/")


def ok(data):
    return {"code": "0", "msg": "", "data": data}


def error(status, code, msg):
    return MockError(status, {"code": str(code), "msg": msg, "data": []}, msg)


def parse_timestamp(text):
    """Milliseconds since the epoch for `2020-12-08T09:08:57.715Z`, or None."""
    try:
        if len(text) != 24 or not text.endswith("Z") or text[19] != ".":
            return None
        dt = datetime.datetime.strptime(text[:-1], "%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        return None
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def spot(inst, base, quote, tick, lot, min_sz):
    return {"instType": "SPOT", "instId": inst, "uly": "", "instFamily": "", "baseCcy": base,
            "quoteCcy": quote, "settleCcy": "", "ctVal": "", "ctMult": "", "ctValCcy": "",
            "optType": "", "stk": "", "listTime": "1606468572000", "expTime": "", "lever": "10",
            "tickSz": tick, "lotSz": lot, "minSz": min_sz, "ctType": "", "alias": "",
            "state": "live", "maxLmtSz": "9999999999", "maxMktSz": "1000000"}


def swap(inst, uly, settle, ct_val, tick):
    base, quote = uly.split("-")
    return {"instType": "SWAP", "instId": inst, "uly": uly, "instFamily": uly, "baseCcy": "",
            "quoteCcy": "", "settleCcy": settle, "ctVal": ct_val, "ctMult": "1", "ctValCcy": base
            if settle == quote else quote, "optType": "", "stk": "", "listTime": "1611916828000",
            "expTime": "", "lever": "100", "tickSz": tick, "lotSz": "1", "minSz": "1",
            "ctType": "linear" if settle == quote else "inverse", "alias": "", "state": "live",
            "maxLmtSz": "100000000", "maxMktSz": "10000"}


INSTRUMENTS = {
    "SPOT": [spot("BTC-USDT", "BTC", "USDT", "0.1", "0.00000001", "0.00001"),
             spot("ETH-USDT", "ETH", "USDT", "0.01", "0.000001", "0.0001")],
    "SWAP": [swap("BTC-USDT-SWAP", "BTC-USDT", "USDT", "0.01", "0.1"),
             swap("BTC-USD-SWAP", "BTC-USD", "BTC", "100", "0.1")],
    "FUTURES": [],
    "OPTION": [],
}


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.orders = {}
        self.lock = threading.Lock()
        self.ids = itertools.count(600_000_000_000_000_001)

    def verify(self, req):
        h = req.headers
        api_key, secret, extra = header_key(req, self.credentials, "ok-access-key")
        if not api_key:
            raise error(401, 50103, "Request header OK-ACCESS-KEY cannot be empty.")
        if secret is None:
            raise error(401, 50111, "Invalid OK-ACCESS-KEY.")
        passphrase = h.get("ok-access-passphrase")
        if not passphrase:
            raise error(401, 50105, "Request header OK-ACCESS-PASSPHRASE cannot be empty.")
        if not passphrase_ok(passphrase, extra):
            raise error(401, 50105, "Request header OK-ACCESS-PASSPHRASE incorrect.")
        ts_text = h.get("ok-access-timestamp", "")
        ts = parse_timestamp(ts_text)
        if ts is None:
            raise error(401, 50112, "Invalid OK-ACCESS-TIMESTAMP.")
        if not within(ts, 30_000):
            raise error(401, 50102, "Timestamp request expired.")
        request_path = req.path + ("?" + req.query if req.query else "")
        prehash = ts_text + req.method + request_path + req.text
        if not hmac.compare_digest(b64_hmac_sha256(secret, prehash), h.get("ok-access-sign", "")):
            raise error(401, 50113, "Invalid Sign")
        mark_signed(req)

    def params(self, req):
        return get_or_json_post(req, error, (405, 50000, "method not allowed"),
                                (400, 50000, "Content-Type must be application/json"),
                                (400, 50000, "Body cannot be parsed as JSON"))

    def handle(self, req):
        p = self.params(req)
        req.rec["params"] = p
        if req.path.startswith(PUBLIC_PREFIXES):
            mark_public(req)
            return 200, self.public(req.path, p)
        self.verify(req)
        route = ROUTES.get((req.method, req.path))
        if route is None:
            raise error(404, 50000, f"unknown endpoint {req.method} {req.path}")
        return 200, route(self, p)

    def public(self, path, p):
        if path == "/api/v5/public/time":
            return ok([{"ts": str(now_ms())}])
        if path == "/api/v5/public/instruments":
            kind = p.get("instType")
            if kind not in INSTRUMENTS:
                raise error(400, 51000, "Parameter instType error")
            return ok(INSTRUMENTS[kind])
        if path == "/api/v5/market/ticker":
            return ok([{"instId": p.get("instId"), "last": "30000", "bidPx": "29999.9",
                        "askPx": "30000.1", "ts": str(now_ms())}])
        raise error(404, 50000, f"unknown public endpoint {path}")

    # -- private --
    def currencies(self, p):
        def chain(ccy, net, name):
            return {"ccy": ccy, "name": name, "chain": f"{ccy}-{net}", "canDep": True,
                    "canWd": True, "canInternal": True, "minWd": "0.001", "maxWd": "500",
                    "wdTickSz": "8", "minFee": "0.0001", "maxFee": "0.0004", "fee": "0.0002",
                    "mainNet": True}
        return ok([chain("BTC", "Bitcoin", "Bitcoin"), chain("USDT", "ERC20", "Tether"),
                   chain("ETH", "ERC20", "Ethereum")])

    def balance(self, p):
        def detail(ccy, total):
            return {"ccy": ccy, "eq": total, "cashBal": total, "availBal": total, "availEq": total,
                    "frozenBal": "0", "ordFrozen": "0", "uTime": str(now_ms())}
        return ok([{"uTime": str(now_ms()), "totalEq": "62500",
                    "details": [detail("USDT", "25000"), detail("BTC", "1.25")]}])

    def config(self, p):
        return ok([{"uid": "44705892343619584", "acctLv": "2", "posMode": "net_mode",
                    "autoLoan": False, "greeksType": "PA", "level": "Lv1", "perm": "read_only,trade",
                    "ip": "", "label": "keyward-test", "roleType": "0"}])

    def set_leverage(self, p):
        """Set leverage: lever and mgnMode, and instId or ccy."""
        if not p.get("lever") or not p.get("mgnMode") or not (p.get("instId") or p.get("ccy")):
            return {"code": "51000", "msg": "Parameter lever, mgnMode or instId error", "data": []}
        return ok([{"instId": p.get("instId", ""), "lever": str(p["lever"]), "mgnMode": p["mgnMode"],
                    "posSide": p.get("posSide", "")}])

    def create_order(self, p):
        for k in ("instId", "tdMode", "side", "ordType", "sz"):
            if not p.get(k):
                raise error(400, 51000, f"Parameter {k} error")
        if p["ordType"] == "limit" and not p.get("px"):
            raise error(400, 51000, "Parameter px error")
        with self.lock:
            oid = str(next(self.ids))
            now = str(now_ms())
            self.orders[oid] = dict(p, ordId=oid, clOrdId=p.get("clOrdId", ""), tag=p.get("tag", ""),
                                    state="live", cTime=now, uTime=now, accFillSz="0", avgPx="",
                                    instType="SPOT" if p["instId"].count("-") == 1 else "SWAP",
                                    fee="0", feeCcy="USDT", px=p.get("px", ""))
        return ok([{"ordId": oid, "clOrdId": p.get("clOrdId", ""), "tag": p.get("tag", ""),
                    "ts": now, "sCode": "0", "sMsg": "Order placed"}])

    def batch(self, one, p):
        """A batch endpoint: a JSON array of single requests, one result each."""
        if not isinstance(p, list) or not p or len(p) > 20:
            raise error(400, 51000, "Parameter error: a batch is an array of 1 to 20 requests")
        results = []
        for item in p:
            if not isinstance(item, dict):
                raise error(400, 51000, "Parameter error: batch items must be objects")
            results.extend(one(item)["data"])
        failed = [r for r in results if r.get("sCode") != "0"]
        return {"code": "0" if not failed else ("1" if len(failed) == len(results) else "2"),
                "msg": "", "data": results}

    def batch_orders(self, p):
        return self.batch(self.create_order, p)

    def cancel_batch_orders(self, p):
        return self.batch(self.cancel_order, p)

    def cancel_order(self, p):
        with self.lock:
            oid = p.get("ordId")
            if not oid and p.get("clOrdId"):
                oid = next((o for o, v in self.orders.items() if v["clOrdId"] == p["clOrdId"]), None)
            order = self.orders.get(oid or "")
            if order is None or order["state"] != "live" or order["instId"] != p.get("instId"):
                return {"code": "1", "msg": "", "data": [
                    {"ordId": p.get("ordId", ""), "clOrdId": p.get("clOrdId", ""),
                     "sCode": "51400", "sMsg": "Cancellation failed as the order does not exist."}]}
            order["state"] = "canceled"
        return ok([{"ordId": order["ordId"], "clOrdId": order["clOrdId"], "ts": str(now_ms()),
                    "sCode": "0", "sMsg": ""}])

    def amend_order(self, p):
        """Amend order (POST /api/v5/trade/amend-order): a live order by `ordId` or `clOrdId` on
        `instId` gets a new total size `newSz` and/or price `newPx` (at least one)."""
        if not p.get("instId") or not (p.get("ordId") or p.get("clOrdId")):
            raise error(400, 51000, "Parameter instId or ordId error")
        if not (p.get("newSz") or p.get("newPx")):
            raise error(400, 51000, "Parameter newSz or newPx error")
        with self.lock:
            oid = p.get("ordId") or next((o for o, v in self.orders.items() if v["clOrdId"] == p["clOrdId"]), "")
            order = self.orders.get(oid)
            if order is None or order["state"] != "live" or order["instId"] != p["instId"]:
                return {"code": "1", "msg": "", "data": [
                    {"ordId": p.get("ordId", ""), "clOrdId": p.get("clOrdId", ""), "reqId": p.get("reqId", ""),
                     "ts": str(now_ms()), "sCode": "51503", "sMsg": "Order modification failed as the order does not exist."}]}
            if p.get("newSz"):
                order["sz"] = p["newSz"]
            if p.get("newPx"):
                order["px"] = p["newPx"]
            order["uTime"] = str(now_ms())
        return ok([{"ordId": order["ordId"], "clOrdId": order["clOrdId"], "reqId": p.get("reqId", ""),
                    "ts": order["uTime"], "sCode": "0", "sMsg": ""}])

    def amend_batch_orders(self, p):
        return self.batch(self.amend_order, p)

    def orders_pending(self, p):
        with self.lock:
            items = [dict(o) for o in self.orders.values() if o["state"] == "live"
                     and (not p.get("instId") or o["instId"] == p["instId"])]
        return ok(items)


ROUTES = {
    ("GET", "/api/v5/asset/currencies"): Mock.currencies,
    ("GET", "/api/v5/account/balance"): Mock.balance,
    ("GET", "/api/v5/account/config"): Mock.config,
    ("POST", "/api/v5/trade/order"): Mock.create_order,
    ("POST", "/api/v5/trade/cancel-order"): Mock.cancel_order,
    ("POST", "/api/v5/trade/batch-orders"): Mock.batch_orders,
    ("POST", "/api/v5/trade/cancel-batch-orders"): Mock.cancel_batch_orders,
    ("POST", "/api/v5/trade/amend-order"): Mock.amend_order,
    ("POST", "/api/v5/trade/amend-batch-orders"): Mock.amend_batch_orders,
    ("GET", "/api/v5/trade/orders-pending"): Mock.orders_pending,
    ("POST", "/api/v5/account/set-leverage"): Mock.set_leverage,
}
