"""Mock of BitMEX's REST API (https://www.bitmex.com/api/v1/...), written from BitMEX's docs
(https://www.bitmex.com/app/apiKeysUsage), not from keyward's code.

Verification of private endpoints:
  * `api-key` names a known key; `api-expires` (Unix seconds) not in the past and at most
    60 s ahead;
  * `api-signature` == hex(HMAC-SHA256(secret, VERB + path?query + expires + body)) over the
    raw path, query and body bytes received;
  * a body must be JSON.
Public endpoints need nothing. Errors are BitMEX's: {"error": {"message", "name"}}.
"""

import hashlib
import hmac
import json
import time
import uuid

from . import MockError, credential

PUBLIC = {
    "/api/v1/instrument", "/api/v1/instrument/active", "/api/v1/instrument/activeAndIndices",
    "/api/v1/instrument/indices", "/api/v1/wallet/assets", "/api/v1/wallet/networks",
    "/api/v1/orderBook/L2", "/api/v1/trade", "/api/v1/trade/bucketed", "/api/v1/quote",
    "/api/v1/funding", "/api/v1/announcement", "/api/v1/stats", "/api/v1/insurance",
    "/api/v1/settlement", "/api/v1/liquidation", "/api/v1/schema",
}


def iso(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


INSTRUMENTS = [
    {"symbol": "XBTUSD", "rootSymbol": "XBT", "state": "Open", "typ": "FFWCSX",
     "listing": "2016-05-13T12:00:00.000Z", "front": "2016-05-13T12:00:00.000Z", "expiry": None,
     "positionCurrency": "USD", "underlying": "XBT", "quoteCurrency": "USD",
     "underlyingSymbol": "XBT=", "reference": "BMEX", "referenceSymbol": ".BXBT",
     "maxOrderQty": 10000000, "maxPrice": 1000000, "lotSize": 100, "tickSize": 0.5,
     "multiplier": -100000000, "settlCurrency": "XBt", "underlyingToSettleMultiplier": -100000000,
     "isQuanto": False, "isInverse": True, "initMargin": 0.01, "maintMargin": 0.0035,
     "takerFee": 0.00075, "makerFee": -0.00025, "fundingInterval": "2000-01-01T08:00:00.000Z",
     "markPrice": 30000, "lastPrice": 30000, "timestamp": "2024-01-01T00:00:00.000Z"},
]

ASSETS = [
    {"asset": "XBT", "currency": "XBt", "majorCurrency": "XBT", "name": "Bitcoin",
     "currencyType": "Crypto", "scale": 8, "enabled": True, "isMarginCurrency": True,
     "minDepositAmount": 10000, "minWithdrawalAmount": 1000, "maxWithdrawalAmount": 10 ** 14,
     "networks": [{"asset": "btc", "tokenAddress": "", "depositEnabled": True,
                   "withdrawalEnabled": True, "withdrawalFee": 20000, "minFee": 20000,
                   "maxFee": 10000000}]},
    {"asset": "USDT", "currency": "USDt", "majorCurrency": "USDT", "name": "Tether",
     "currencyType": "Crypto", "scale": 6, "enabled": True, "isMarginCurrency": True,
     "minDepositAmount": 1000000, "minWithdrawalAmount": 1000000, "maxWithdrawalAmount": 10 ** 14,
     "networks": [{"asset": "eth", "tokenAddress": "0xdac17f958d2ee523a2206206994597c13d831ec7",
                   "depositEnabled": True, "withdrawalEnabled": True, "withdrawalFee": 5000000,
                   "minFee": 5000000, "maxFee": 50000000}]},
]


def bitmex_error(status, message):
    return MockError(status, {"error": {"message": message, "name": "HTTPError"}}, message)


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.orders = {}

    def handle(self, req):
        rec = req.rec
        params = req.query_params()
        if req.path in PUBLIC and req.method == "GET" and "api-signature" not in req.headers:
            rec["auth"] = "public"
            rec["params"] = params
            rec["verified"] = True
            return 200, self.public(req.path, params)
        if not req.path.startswith("/api/v1/"):
            raise bitmex_error(404, "Not Found")
        rec["auth"] = "signed"
        body = self.verify(req)
        params.update(body)
        rec["params"] = params
        rec["verified"] = True
        return self.private(req.method, req.path, params)

    def verify(self, req):
        key = req.headers.get("api-key")
        req.rec["api_key"] = key
        secret, _ = credential(self.credentials, key or "")
        if not key or secret is None:
            raise bitmex_error(401, "Invalid API Key.")
        expires = req.headers.get("api-expires", "")
        if not expires.isdigit():
            raise bitmex_error(401, "Missing API expires header.")
        now = time.time()
        if int(expires) < now:
            raise bitmex_error(401, "This request has expired - `expires` is in the past.")
        if int(expires) > now + 60:
            raise bitmex_error(401, "This request's `expires` is too far in the future.")
        target = req.path + ("?" + req.query if req.query else "")
        message = req.method.encode() + target.encode() + expires.encode() + req.body
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), req.headers.get("api-signature", "").encode("utf-8", "replace")):
            raise bitmex_error(401, "Signature not valid.")
        if not req.body:
            return {}
        if not req.headers.get("content-type", "").startswith("application/json"):
            raise bitmex_error(400, "Unsupported content type")
        try:
            body = json.loads(req.text)
        except ValueError:
            raise bitmex_error(400, "Invalid JSON body")
        if not isinstance(body, dict):
            raise bitmex_error(400, "Invalid JSON body")
        return body

    def public(self, path, params):
        if path in ("/api/v1/instrument/active", "/api/v1/instrument/activeAndIndices",
                    "/api/v1/instrument"):
            return INSTRUMENTS
        if path == "/api/v1/wallet/assets":
            return ASSETS
        return []

    def private(self, method, path, params):
        if path == "/api/v1/user/margin" and method == "GET":
            return 200, [
                {"account": 1, "currency": "XBt", "walletBalance": 125000000,
                 "marginBalance": 125000000, "availableMargin": 100000000, "amount": 125000000,
                 "timestamp": iso()},
                {"account": 1, "currency": "USDt", "walletBalance": 25000000000,
                 "marginBalance": 25000000000, "availableMargin": 25000000000,
                 "amount": 25000000000, "timestamp": iso()},
            ]
        if path in ("/api/v1/position/leverage", "/api/v1/position/crossLeverage") and method == "POST":
            for field in ("symbol", "leverage"):
                if field not in params:
                    raise bitmex_error(400, f"{field} is required")
            return 200, {"account": 1, "symbol": params["symbol"], "currency": "XBt",
                         "leverage": params["leverage"], "crossMargin": params["leverage"] == 0}
        if path == "/api/v1/order" and method == "POST":
            for field in ("symbol", "orderQty"):
                if field not in params:
                    raise bitmex_error(400, f"{field} is required")
            if not isinstance(params["orderQty"], int):
                raise bitmex_error(400, "orderQty is invalid")
            now = time.time()
            order = {"orderID": str(uuid.uuid4()), "clOrdID": params.get("clOrdID", ""),
                     "account": 1, "symbol": params["symbol"], "side": params.get("side", "Buy"),
                     "orderQty": params["orderQty"], "price": params.get("price"),
                     "currency": "USD", "settlCurrency": "XBt",
                     "ordType": params.get("ordType", "Limit"), "timeInForce": "GoodTillCancel",
                     "execInst": "", "ordStatus": "New", "workingIndicator": True,
                     "leavesQty": params["orderQty"], "cumQty": 0, "avgPx": None, "text": "",
                     "transactTime": iso(now), "timestamp": iso(now)}
            self.orders[order["orderID"]] = order
            return 200, order
        if path == "/api/v1/order" and method == "PUT":
            # Order.amend: `orderID` or `origClOrdID`; a new orderQty / leavesQty / price / stopPx.
            order = self.orders.get(params.get("orderID")) or next(
                (o for o in self.orders.values() if params.get("origClOrdID") and o["clOrdID"] == params["origClOrdID"]),
                None)
            if order is None or order["ordStatus"] != "New":
                raise bitmex_error(404, "Not Found")
            for qty in ("orderQty", "leavesQty"):
                if qty in params and not isinstance(params[qty], int):
                    raise bitmex_error(400, f"{qty} is invalid")
            if "orderQty" in params:
                order["orderQty"] = order["leavesQty"] = params["orderQty"]
            if "leavesQty" in params:
                order["leavesQty"] = params["leavesQty"]
                order["orderQty"] = order["cumQty"] + params["leavesQty"]
            for field in ("price", "stopPx"):
                if field in params:
                    order[field] = params[field]
            order["timestamp"] = iso()
            return 200, order
        if path == "/api/v1/order" and method == "DELETE":
            oid = params.get("orderID")
            order = self.orders.get(oid)
            if order is None:
                raise bitmex_error(404, "Not Found")
            order.update(ordStatus="Canceled", leavesQty=0, workingIndicator=False,
                         timestamp=iso())
            return 200, [order]
        if path == "/api/v1/order" and method == "GET":
            return 200, list(self.orders.values())
        if path == "/api/v1/apiKey":
            return 200, [{"id": "mock", "permissions": ["order"], "enabled": True}]
        return 200, []
