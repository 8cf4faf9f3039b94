"""KuCoin mock: spot (api.kucoin.com) and futures (api-futures.kucoin.com) in one server.

Written from KuCoin's authentication documentation
(https://www.kucoin.com/docs-new/authentication), independently of keyward:

  * The two hosts share path names, so the `Host` header says which one a request is for
    (keyward sends the exchange's own host name even when tests point it here).
  * Public market data needs nothing. Everything else needs
      KC-API-KEY        a known key
      KC-API-KEY-VERSION "2" or "3"
      KC-API-PASSPHRASE base64(HMAC-SHA256(secret, passphrase))
      KC-API-TIMESTAMP  milliseconds, within 5 s of the server clock
      KC-API-SIGN       base64(HMAC-SHA256(secret, timestamp + METHOD + path?query + body))
    over the exact bytes received (raw request target and raw body).
  * Errors are KuCoin's {"code": "4000xx", "msg": ...}; successes {"code": "200000", "data": ...}.

Credentials: {"<api key>": {"secret": "...", "passphrase": "..."}}.
Records: auth "public" | "signed", host ("spot" | "futures"), partner_headers (names of any
KC-API-PARTNER* headers received: ccxt adds them, keyward must drop them).
"""

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid

from . import MockError, credential, now_ms

SPOT_HOST = "api.kucoin.com"
FUTURES_HOST = "api-futures.kucoin.com"

SPOT_PUBLIC = {
    "/api/v1/timestamp", "/api/v1/status", "/api/v1/currencies", "/api/v3/currencies",
    "/api/v1/symbols", "/api/v2/symbols", "/api/v1/markets", "/api/v1/prices",
    "/api/v1/market/orderbook/level1", "/api/v1/market/orderbook/level2_20",
    "/api/v1/market/orderbook/level2_100", "/api/v1/market/allTickers", "/api/v1/market/stats",
    "/api/v1/market/histories", "/api/v1/market/candles", "/api/v3/mark-price/all-symbols",
    "/api/v1/margin/config", "/api/v3/announcements", "/api/v1/bullet-public",
}
SPOT_PUBLIC_PREFIXES = ("/api/v3/currencies/", "/api/v1/currencies/", "/api/v2/symbols/",
                        "/api/v1/mark-price/")
FUTURES_PUBLIC = {
    "/api/v1/timestamp", "/api/v1/status", "/api/v1/contracts/active", "/api/v1/allTickers",
    "/api/v1/ticker", "/api/v1/level2/snapshot", "/api/v1/level2/depth20",
    "/api/v1/level2/depth100", "/api/v1/trade/history", "/api/v1/kline/query",
    "/api/v1/contract/funding-rates", "/api/v1/bullet-public", "/api/v1/index/query",
    "/api/v1/premium/query", "/api/v1/interest/query", "/api/v1/trade-statistics",
}
FUTURES_PUBLIC_PREFIXES = ("/api/v1/contracts/", "/api/v1/funding-rate/", "/api/v1/mark-price/")

SPOT_SYMBOLS = {"BTC-USDT": ("BTC", "30150.1"), "ETH-USDT": ("ETH", "1890.55")}
CONTRACTS = {"XBTUSDTM": ("XBT", "30150.0", "0.001"), "ETHUSDTM": ("ETH", "1890.50", "0.01")}


def ws_token(credentials, futures=False):
    """The private push token this mock issues (spot or futures): derived from the (one)
    credential's secret, so scripts/ws_mock.py can check it."""
    key = sorted(credentials)[0]
    secret = credentials[key] if isinstance(credentials[key], str) else credentials[key]["secret"]
    kind = "futures" if futures else "spot"
    return f"REAL-KUCOIN-WS-{kind}-" + hashlib.sha256((kind + secret).encode()).hexdigest()[:32] + "+/="


def bullet(credentials, futures):
    host = "ws-api-futures.kucoin.com" if futures else "ws-api-spot.kucoin.com"
    return ok({"token": ws_token(credentials, futures),
               "instanceServers": [{"endpoint": f"wss://{host}/", "encrypt": True, "protocol": "websocket",
                                    "pingInterval": 18000, "pingTimeout": 10000}]})


def err(status, code, msg):
    return MockError(status, {"code": code, "msg": msg}, msg)


def ok(data):
    return 200, {"code": "200000", "data": data}


def b64_hmac(secret, msg):
    return base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).decode()


def spot_symbol(symbol):
    base, _ = SPOT_SYMBOLS[symbol]
    return {
        "symbol": symbol, "name": symbol, "baseCurrency": base, "quoteCurrency": "USDT",
        "feeCurrency": "USDT", "market": "USDS", "baseMinSize": "0.00001", "quoteMinSize": "0.1",
        "baseMaxSize": "10000000000", "quoteMaxSize": "99999999", "baseIncrement": "0.00000001",
        "quoteIncrement": "0.000001", "priceIncrement": "0.1", "priceLimitRate": "0.1",
        "minFunds": "0.1", "isMarginEnabled": True, "enableTrading": True, "feeCategory": 1,
        "makerFeeCoefficient": "1.00", "takerFeeCoefficient": "1.00", "st": False,
        "callauctionIsEnabled": False, "callauctionPriceFloor": None,
        "callauctionPriceCeiling": None, "callauctionFirstStageStartTime": None,
        "callauctionSecondStageStartTime": None, "callauctionThirdStageStartTime": None,
        "tradingStartTime": None,
    }


def currency(code, name, chain, fee):
    return {
        "currency": code, "name": code, "fullName": name, "precision": 8, "confirms": None,
        "contractAddress": None, "isMarginEnabled": True, "isDebitEnabled": True,
        "chains": [{
            "chainName": chain, "withdrawalMinSize": "0.001", "depositMinSize": "0.0001",
            "withdrawFeeRate": "0", "withdrawalMinFee": fee, "isWithdrawEnabled": True,
            "isDepositEnabled": True, "confirms": 3, "preConfirms": 1, "contractAddress": "",
            "withdrawPrecision": 8, "maxWithdraw": None, "maxDeposit": None, "needTag": False,
            "chainId": chain.lower(),
        }],
    }


def contract(symbol):
    base, price, multiplier = CONTRACTS[symbol]
    return {
        "symbol": symbol, "rootSymbol": "USDT", "type": "FFWCSX", "firstOpenDate": 1585555200000,
        "expireDate": None, "settleDate": None, "baseCurrency": base, "quoteCurrency": "USDT",
        "settleCurrency": "USDT", "maxOrderQty": 1000000, "maxPrice": 1000000.0, "lotSize": 1,
        "tickSize": 0.1, "indexPriceTickSize": 0.01, "multiplier": float(multiplier),
        "initialMargin": 0.008, "maintainMargin": 0.004, "maxRiskLimit": 100000,
        "minRiskLimit": 100000, "riskStep": 50000, "makerFeeRate": 0.0002,
        "takerFeeRate": 0.0006, "takerFixFee": 0.0, "makerFixFee": 0.0, "settlementFee": None,
        "isDeleverage": True, "isQuanto": True, "isInverse": False, "markMethod": "FairPrice",
        "fairMethod": "FundingRate", "fundingBaseSymbol": f".{base}INT8H",
        "fundingQuoteSymbol": ".USDTINT8H", "fundingRateSymbol": f".{symbol}FPI8H",
        "indexSymbol": f".K{base}USDT", "settlementSymbol": "", "status": "Open",
        "fundingFeeRate": 0.0001, "predictedFundingFeeRate": 0.0001, "fundingRateGranularity": 28800000,
        "openInterest": "8451553", "turnoverOf24h": 508963863.2, "volumeOf24h": 16868.617,
        "markPrice": float(price), "indexPrice": float(price), "lastTradePrice": float(price),
        "nextFundingRateTime": 12345678, "maxLeverage": 125, "sourceExchanges": ["binance"],
        "premiumsSymbol1M": f".{symbol}PI", "premiumsSymbol8H": f".{symbol}PI8H",
        "fundingBaseSymbol1M": f".{base}INT", "fundingQuoteSymbol1M": ".USDTINT",
        "lowPrice": float(price) * 0.97, "highPrice": float(price) * 1.02, "priceChgPct": 0.01,
        "priceChg": 300.0, "k": 490.0, "m": 300.0, "f": 1.3, "mmrLimit": 0.3,
        "mmrLevConstant": 125.0, "supportCross": True, "buyLimit": float(price) * 1.05,
        "sellLimit": float(price) * 0.95,
    }


class Book:
    """Orders of one host, keyed by KuCoin-style 24-hex order ids."""

    def __init__(self):
        self.lock = threading.Lock()
        self.orders = {}
        self.counter = itertools.count(1)

    def add(self, order):
        with self.lock:
            oid = "%024x" % (0x6554f0b3b1b2c30007000000 + next(self.counter))
            order["id"] = oid
            self.orders[oid] = order
            return oid

    def get(self, oid):
        with self.lock:
            return self.orders.get(oid)


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.spot = Book()
        self.futures = Book()

    # ------------------------------------------------------------------ verification
    def handle(self, req):
        host = req.headers.get("host", "").split(":")[0]
        if host == FUTURES_HOST:
            req.rec["host"] = "futures"
        elif host == SPOT_HOST:
            req.rec["host"] = "spot"
        else:
            # A request the mock cannot place on a host is a routing error upstream of it.
            raise err(404, "404", f"unknown host {host!r}: send Host: {SPOT_HOST} or {FUTURES_HOST}")
        futures = req.rec["host"] == "futures"
        req.rec["partner_headers"] = sorted(h for h in req.headers if h.startswith("kc-api-partner"))
        params = req.query_params()
        if req.body:
            try:
                body = req.json()
            except ValueError:
                raise err(400, "400100", "Invalid JSON body")
            if isinstance(body, dict):
                params.update(body)
        req.rec["params"] = params
        if req.body and isinstance(body, list):
            params = dict(params, _body=body)  # a JSON array body (batch endpoints)

        if self.is_public(req.path, futures):
            req.rec["auth"] = "public"
            req.rec["verified"] = True
            return self.route(req, futures, params)

        req.rec["auth"] = "signed"
        self.verify(req)
        req.rec["verified"] = True
        return self.route(req, futures, params)

    @staticmethod
    def is_public(path, futures):
        exact, prefixes = (FUTURES_PUBLIC, FUTURES_PUBLIC_PREFIXES) if futures else \
            (SPOT_PUBLIC, SPOT_PUBLIC_PREFIXES)
        return path in exact or path.startswith(prefixes)

    def verify(self, req):
        h = req.headers
        key, sign, ts, passphrase = (h.get("kc-api-key"), h.get("kc-api-sign"),
                                     h.get("kc-api-timestamp"), h.get("kc-api-passphrase"))
        req.rec["api_key"] = key
        if not (key and sign and ts and passphrase):
            raise err(401, "400001", "Any of KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, "
                                     "KC-API-PASSPHRASE is missing in your request header.")
        secret, extras = credential(self.credentials, key)
        if secret is None:
            raise err(401, "400003", "KC-API-KEY not exists")
        if not ts.isdigit() or abs(now_ms() - int(ts)) > 5000:
            raise err(401, "400002", "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds")
        version = h.get("kc-api-key-version")
        if version not in ("2", "3"):
            raise err(401, "400004", "Invalid KC-API-PASSPHRASE (API key version 2 or 3 required)")
        expected_pass = b64_hmac(secret, extras.get("passphrase", "").encode())
        if not hmac.compare_digest(expected_pass, passphrase):
            raise err(401, "400004", "Invalid KC-API-PASSPHRASE")
        target = req.path + ("?" + req.query if req.query else "")
        prehash = ts.encode() + req.method.encode() + target.encode() + req.body
        if not hmac.compare_digest(b64_hmac(secret, prehash), sign):
            req.rec["error"] = "Invalid KC-API-SIGN"
            raise err(401, "400005", "Invalid KC-API-SIGN")

    # ------------------------------------------------------------------ answers
    def route(self, req, futures, p):
        m, path = req.method, req.path
        if futures:
            return self.route_futures(m, path, p)
        if path == "/api/v1/timestamp":
            return ok(now_ms())
        if path == "/api/v1/bullet-private" and m == "POST":
            return bullet(self.credentials, False)
        if path == "/api/v1/status":
            return ok({"status": "open", "msg": ""})
        if path == "/api/v2/symbols":
            return ok([spot_symbol(s) for s in SPOT_SYMBOLS])
        if path == "/api/v3/currencies":
            return ok([currency("BTC", "Bitcoin", "BTC", "0.0005"),
                       currency("ETH", "Ethereum", "ERC20", "0.002"),
                       currency("USDT", "Tether", "ERC20", "5")])
        if path == "/api/v3/margin/symbols" and m == "GET":
            items = [dict(spot_symbol(s), enableTrading=True) for s in SPOT_SYMBOLS]
            return ok({"timestamp": now_ms(), "items": items})
        if path == "/api/v1/isolated/symbols" and m == "GET":
            return ok([{"symbol": "BTC-USDT", "symbolName": "BTC-USDT", "baseCurrency": "BTC",
                        "quoteCurrency": "USDT", "maxLeverage": 10, "flDebtRatio": "0.97",
                        "tradeEnable": True, "autoRenewMaxDebtRatio": "0.96",
                        "baseBorrowEnable": True, "quoteBorrowEnable": True,
                        "baseTransferInEnable": True, "quoteTransferInEnable": True}])
        if path == "/api/v1/market/allTickers":
            return ok({"time": now_ms(), "ticker": [
                {"symbol": s, "symbolName": s, "buy": px, "sell": px, "bestBidSize": "1",
                 "bestAskSize": "1", "changeRate": "0.01", "changePrice": "1", "high": px,
                 "low": px, "vol": "100", "volValue": "1000", "last": px, "averagePrice": px,
                 "takerFeeRate": "0.001", "makerFeeRate": "0.001", "takerCoefficient": "1",
                 "makerCoefficient": "1"} for s, (_, px) in SPOT_SYMBOLS.items()]})
        if path == "/api/v1/market/orderbook/level1":
            _, price = SPOT_SYMBOLS.get(p.get("symbol"), ("", "1"))
            return ok({"time": now_ms(), "sequence": "1", "price": price, "size": "0.1",
                       "bestBid": price, "bestBidSize": "1", "bestAsk": price, "bestAskSize": "1"})
        if path == "/api/ua/v1/account/mode" and m == "GET":
            return ok({"selfAccountMode": "CLASSIC", "subAccountModes": []})
        if path == "/api/v1/hf/accounts/opened" and m == "GET":
            return ok(True)
        if path == "/api/v1/accounts" and m == "GET":
            accounts = [
                {"id": "5bd6e9216d99522a52e458d6", "currency": "USDT", "type": "trade_hf",
                 "balance": "25300", "available": "25000", "holds": "300"},
                {"id": "5bd6e9216d99522a52e458d7", "currency": "BTC", "type": "trade_hf",
                 "balance": "1.25", "available": "1.25", "holds": "0"},
                {"id": "5bd6e9216d99522a52e458d8", "currency": "USDT", "type": "main",
                 "balance": "10", "available": "10", "holds": "0"},
            ]
            if p.get("type"):
                accounts = [a for a in accounts if a["type"] == p["type"]]
            return ok(accounts)
        if path in ("/api/v1/hf/orders", "/api/v1/orders") and m == "POST":
            return ok(self.new_spot_order(p))
        if path == "/api/v1/hf/orders/multi" and m == "POST":
            # Batch Add Orders (HF): `orderList` of at most 5 orders; one result each.
            items = p.get("orderList")
            if not isinstance(items, list) or not 0 < len(items) <= 5:
                raise err(400, "400100", "orderList must hold 1 to 5 orders")
            out = []
            for item in items:
                # ccxt sends `symbol` beside the batch; an item without its own takes it.
                if isinstance(item, dict) and "symbol" not in item and p.get("symbol"):
                    item = dict(item, symbol=p["symbol"])
                try:
                    out.append(dict(self.new_spot_order(item), success=True))
                except MockError as e:
                    out.append({"orderId": None, "clientOid": item.get("clientOid"), "success": False,
                                "failMsg": e.msg})
            return ok(out)
        if path == "/api/v1/hf/orders/alter" and m == "POST":
            # Modify Order (HF): cancels the order and places a new one with newPrice / newSize.
            old = self.spot.get(p.get("orderId") or "") or next(
                (o for o in list(self.spot.orders.values()) if o["clientOid"] == p.get("clientOid")), None)
            if old is None or not old["isActive"] or old["symbol"] != p.get("symbol"):
                raise err(400, "400100", "order_not_exist_or_not_allow_to_cancel")
            if not (p.get("newPrice") or p.get("newSize")):
                raise err(400, "400100", "newPrice or newSize is required")
            old["isActive"], old["cancelExist"] = False, True
            new = dict(old, price=p.get("newPrice") or old["price"], size=p.get("newSize") or old["size"],
                       isActive=True, active=True, cancelExist=False, createdAt=now_ms())
            oid = self.spot.add(new)
            return ok({"newOrderId": oid, "clientOid": new["clientOid"]})
        if path.startswith(("/api/v1/hf/orders/", "/api/v1/orders/")) and m in ("DELETE", "GET"):
            oid = path.rsplit("/", 1)[1]
            order = self.spot.get(oid)
            if order is None or (path.startswith("/api/v1/hf/") and order["symbol"] != p.get("symbol")):
                raise err(400, "400100", "order_not_exist_or_not_allow_to_cancel")
            if m == "GET":
                return ok(dict(order))
            if not order["isActive"]:
                raise err(400, "400100", "order_not_exist_or_not_allow_to_cancel")
            order["isActive"], order["cancelExist"] = False, True
            return ok({"orderId": oid} if "/hf/" in path else {"cancelledOrderIds": [oid]})
        if path in ("/api/v3/withdrawals", "/api/v1/withdrawals") and m == "POST":
            return ok({"withdrawalId": "5bffb63303aa675e8bbe18f9"})
        if "transfer" in path and m == "POST":
            return ok({"orderId": "5bd6e9286d99522a52e458de"})
        raise err(404, "404", f"mock has no {m} {path}")

    def new_spot_order(self, p):
        for name in ("clientOid", "side", "symbol"):
            if not p.get(name):
                raise err(400, "400100", f"{name} is required")
        if p["symbol"] not in SPOT_SYMBOLS:
            raise err(400, "400100", "Unsupported trading pair.")
        otype = p.get("type", "limit")
        if otype == "limit" and not (p.get("price") and p.get("size")):
            raise err(400, "400100", "price and size are required for limit orders")
        if not isinstance(p.get("size", ""), str) or not isinstance(p.get("price", ""), str):
            raise err(400, "400100", "price and size must be strings")
        order = {
            "symbol": p["symbol"], "opType": "DEAL", "type": otype, "side": p["side"],
            "price": p.get("price", "0"), "size": p.get("size", "0"), "funds": p.get("funds", "0"),
            "dealFunds": "0", "dealSize": "0", "fee": "0", "feeCurrency": "USDT", "stp": "",
            "timeInForce": p.get("timeInForce", "GTC"), "postOnly": bool(p.get("postOnly")),
            "hidden": False, "iceberg": False, "visibleSize": "0", "cancelAfter": 0,
            "channel": "API", "clientOid": p["clientOid"], "remark": p.get("remark"),
            "tags": "", "cancelExist": False, "createdAt": now_ms(), "lastUpdatedAt": now_ms(),
            "tradeType": "TRADE", "inOrderBook": True, "active": True, "isActive": True,
        }
        oid = self.spot.add(order)
        return {"orderId": oid, "clientOid": p["clientOid"]}

    def route_futures(self, m, path, p):
        if path == "/api/v1/timestamp":
            return ok(now_ms())
        if path == "/api/v1/bullet-private" and m == "POST":
            return bullet(self.credentials, True)
        if path == "/api/v1/contracts/active":
            return ok([contract(s) for s in CONTRACTS])
        if path.startswith("/api/v1/contracts/") and path.count("/") == 4:
            sym = path.rsplit("/", 1)[1]
            if sym not in CONTRACTS:
                raise err(400, "400100", "contract not exists")
            return ok(contract(sym))
        if path == "/api/v1/account-overview" and m == "GET":
            cur = p.get("currency", "XBT")
            bal = 10000.0 if cur == "USDT" else 0.0
            return ok({"accountEquity": bal, "unrealisedPNL": 0.0, "marginBalance": bal,
                       "positionMargin": 0.0, "orderMargin": 0.0, "frozenFunds": 0.0,
                       "availableBalance": bal, "currency": cur, "riskRatio": 0.0,
                       "maxWithdrawAmount": bal})
        if path == "/api/v1/orders" and m == "POST":
            return ok(self.new_futures_order(p))
        if path == "/api/v1/orders/multi" and m == "POST":
            # Batch Add Orders (futures): the body is an array of at most 20 orders.
            items = p.get("_body")
            if not isinstance(items, list) or not 0 < len(items) <= 20:
                raise err(400, "400100", "the body must be an array of 1 to 20 orders")
            out = []
            for item in items:
                if not isinstance(item, dict):
                    raise err(400, "400100", "orders must be objects")
                try:
                    out.append(dict(self.new_futures_order(item), symbol=item["symbol"], code="200000",
                                    msg="success"))
                except MockError as e:
                    out.append({"orderId": None, "clientOid": item.get("clientOid"), "symbol": item.get("symbol"),
                                "code": e.payload["code"], "msg": e.msg})
            return ok(out)
        if path.startswith("/api/v1/orders/") and m in ("DELETE", "GET"):
            oid = path.rsplit("/", 1)[1]
            order = self.futures.get(oid)
            if order is None or (m == "DELETE" and not order["isActive"]):
                raise err(400, "100004", "The order cannot be canceled.")
            if m == "GET":
                return ok(dict(order))
            order["isActive"], order["status"], order["cancelExist"] = False, "done", True
            return ok({"cancelledOrderIds": [oid]})
        if path == "/api/v2/changeCrossUserLeverage" and m == "POST":
            if not p.get("symbol") or not p.get("leverage"):
                raise err(400, "400100", "symbol and leverage are required")
            return ok(True)
        if "transfer" in path and m == "POST":
            return ok({"applyId": "620a0bbefeaa6a000110e833"})
        raise err(404, "404", f"mock has no futures {m} {path}")

    def new_futures_order(self, p):
        for name in ("clientOid", "side", "symbol"):
            if not p.get(name):
                raise err(400, "400100", f"{name} is required")
        if p["symbol"] not in CONTRACTS:
            raise err(400, "400100", "contract not exists")
        size = p.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise err(400, "400100", "size must be a positive integer number of lots")
        otype = p.get("type", "limit")
        if otype == "limit" and not p.get("price"):
            raise err(400, "400100", "price is required for limit orders")
        if p.get("marginMode", "ISOLATED") not in ("ISOLATED", "CROSS"):
            raise err(400, "400100", "marginMode must be ISOLATED or CROSS")
        order = {
            "symbol": p["symbol"], "type": otype, "side": p["side"], "price": str(p.get("price", "0")),
            "size": size, "value": "0", "dealValue": "0", "dealSize": 0, "stp": "",
            "stop": "", "stopPriceType": "", "stopTriggered": False, "stopPrice": None,
            "timeInForce": p.get("timeInForce", "GTC"), "postOnly": bool(p.get("postOnly")),
            "hidden": False, "iceberg": False, "leverage": str(p.get("leverage", "1")),
            "forceHold": False, "closeOrder": False, "visibleSize": 0,
            "clientOid": p["clientOid"], "remark": None, "tags": "", "isActive": True,
            "cancelExist": False, "createdAt": now_ms(), "updatedAt": now_ms(),
            "endAt": None, "orderTime": now_ms() * 1000000, "settleCurrency": "USDT",
            "marginMode": p.get("marginMode", "ISOLATED"), "status": "open",
            "filledSize": 0, "filledValue": "0", "reduceOnly": bool(p.get("reduceOnly")),
        }
        oid = self.futures.add(order)
        return {"orderId": oid, "clientOid": p["clientOid"]}
