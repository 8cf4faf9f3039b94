"""Mock of the Bitget v2 REST API (api.bitget.com), written from Bitget's documentation:
https://www.bitget.com/api-doc/common/signature

Verification, as Bitget does it:
  * market data (`/api/v2/public/`, `/api/v2/spot/public/`, `/api/v2/spot/market/`,
    `/api/v2/mix/market/`, `/api/v2/margin/currencies`, `/api/v3/market/`) is public.
  * everything else needs ACCESS-KEY (a known key), ACCESS-PASSPHRASE (that key's passphrase),
    ACCESS-TIMESTAMP (ms, within 30 s of the server's clock) and ACCESS-SIGN = base64
    HMAC-SHA256(secret, timestamp + METHOD + requestPath + ["?" + queryString] + body).
    The server signs the query string URL-decoded (ccxt learned this against the live API:
    "bitget signs the raw (non-percent-encoded) query string"), the body as received.
  * POST bodies must be JSON (Content-Type application/json); there are no other methods.

Answers are enough for ccxt's load_markets, fetch_balance, create_order, cancel_order and
fetch_open_orders (spot), create_order, edit_order and create_orders on spot (cancel-replace,
batch-orders) and futures (mix place-order, modify-order, batch-place-order). Envelope: {"code": "00000", "msg": "success", "requestTime", "data"}.
"""

import hmac
import itertools
import threading
import urllib.parse

from . import (MockError, b64_hmac_sha256, get_or_json_post, header_key, mark_public, mark_signed,
               now_ms, passphrase_ok, within)

PUBLIC_PREFIXES = ("/api/v2/public/", "/api/v2/spot/public/", "/api/v2/spot/market/",
                   "/api/v2/mix/market/", "/api/v3/market/")
PUBLIC = {"/api/v2/margin/currencies"}
PRIVATE_UNDER_PUBLIC = {"/api/v2/mix/market/query-position-lever",
                        "/api/v2/mix/market/position-long-short"}


def ok(data):
    return {"code": "00000", "msg": "success", "requestTime": now_ms(), "data": data}


def error(status, code, msg):
    return MockError(status, {"code": str(code), "msg": msg, "requestTime": now_ms(), "data": None}, msg)


def spot_symbol(symbol, base, quote, price_prec, qty_prec):
    return {"symbol": symbol, "baseCoin": base, "quoteCoin": quote, "minTradeAmount": "0",
            "maxTradeAmount": "10000000000", "takerFeeRate": "0.001", "makerFeeRate": "0.001",
            "pricePrecision": price_prec, "quantityPrecision": qty_prec, "quotePrecision": "6",
            "status": "online", "minTradeUSDT": "5", "buyLimitPriceRatio": "0.05",
            "sellLimitPriceRatio": "0.05", "areaSymbol": "no"}


def contract(symbol, base, quote, margin_coin):
    return {"symbol": symbol, "baseCoin": base, "quoteCoin": quote, "buyLimitPriceRatio": "0.9",
            "sellLimitPriceRatio": "0.9", "feeRateUpRatio": "0.1", "makerFeeRate": "0.0004",
            "takerFeeRate": "0.0006", "openCostUpRatio": "0.1", "supportMarginCoins": [margin_coin],
            "minTradeNum": "0.001", "priceEndStep": "1", "volumePlace": "3", "pricePlace": "1",
            "sizeMultiplier": "0.001", "symbolType": "perpetual", "minTradeUSDT": "5",
            "maxSymbolOrderNum": "200", "maxProductOrderNum": "400", "maxPositionNum": "150",
            "symbolStatus": "normal", "offTime": "-1", "limitOpenTime": "-1", "deliveryTime": "",
            "deliveryStartTime": "", "launchTime": "", "fundInterval": "8", "minLever": "1",
            "maxLever": "125", "posLimit": "0.05", "maintainTime": ""}


CONTRACTS = {
    "USDT-FUTURES": [contract("BTCUSDT", "BTC", "USDT", "USDT")],
    "COIN-FUTURES": [contract("BTCUSD", "BTC", "USD", "BTC")],
}


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.orders = {}
        self.lock = threading.Lock()
        self.ids = itertools.count(1_100_000_000_000_000_001)

    def verify(self, req):
        h = req.headers
        api_key, secret, extra = header_key(req, self.credentials, "access-key")
        if not api_key:
            raise error(400, 40001, "ACCESS_KEY cannot be empty")
        if secret is None:
            raise error(400, 40006, "Invalid ACCESS_KEY")
        if not passphrase_ok(h.get("access-passphrase", ""), extra):
            raise error(400, 40011, "Invalid ACCESS_PASSPHRASE")
        ts_raw = h.get("access-timestamp", "")
        if not ts_raw.isdigit():
            raise error(400, 40003, "ACCESS_TIMESTAMP cannot be empty")
        if not within(int(ts_raw), 30_000):
            raise error(400, 40008, "Request timestamp expired")
        query = urllib.parse.unquote(req.query)
        prehash = ts_raw + req.method + req.path + ("?" + query if req.query else "") + req.text
        if not hmac.compare_digest(b64_hmac_sha256(secret, prehash), h.get("access-sign", "")):
            raise error(400, 40009, "sign signature error")
        mark_signed(req)

    def params(self, req):
        return get_or_json_post(req, error, (405, 40404, "Request URL NOT FOUND"),
                                (400, 40034, "Content-Type must be application/json"),
                                (400, 40017, "Parameter verification failed: body is not JSON"))

    def handle(self, req):
        p = self.params(req)
        req.rec["params"] = p
        public = ((req.path.startswith(PUBLIC_PREFIXES) or req.path in PUBLIC)
                  and req.path not in PRIVATE_UNDER_PUBLIC)
        if public:
            mark_public(req)
            return 200, self.public(req.path, p)
        self.verify(req)
        route = ROUTES.get((req.method, req.path))
        if route is None:
            raise error(404, 40404, f"Request URL NOT FOUND: {req.method} {req.path}")
        return 200, route(self, p)

    def public(self, path, p):
        if path == "/api/v2/public/time":
            return ok({"serverTime": str(now_ms())})
        if path == "/api/v2/spot/public/symbols":
            return ok([spot_symbol("BTCUSDT", "BTC", "USDT", "2", "6"),
                       spot_symbol("ETHUSDT", "ETH", "USDT", "2", "4")])
        if path == "/api/v2/spot/public/coins":
            def coin(c, chain):
                return {"coinId": "1", "coin": c, "transfer": "true", "chains": [
                    {"chain": chain, "needTag": "false", "withdrawable": "true",
                     "rechargeable": "true", "withdrawFee": "0.0005", "extraWithdrawFee": "0",
                     "depositConfirm": "1", "withdrawConfirm": "1", "minDepositAmount": "0.0001",
                     "minWithdrawAmount": "0.001", "browserUrl": "", "contractAddress": "",
                     "withdrawStep": "0", "withdrawMinScale": "8", "congestion": "normal"}]}
            return ok([coin("BTC", "BTC"), coin("USDT", "ERC20"), coin("ETH", "ERC20")])
        if path == "/api/v2/margin/currencies":
            return ok([])
        if path == "/api/v2/mix/market/contracts":
            return ok(CONTRACTS.get(p.get("productType"), []))
        if path == "/api/v2/spot/market/tickers":
            return ok([{"symbol": "BTCUSDT", "lastPr": "30000", "bidPr": "29999.99",
                        "askPr": "30000.01", "ts": str(now_ms())}])
        raise error(404, 40404, f"Request URL NOT FOUND: {path}")

    # -- private --
    def account_info(self, p):
        return ok({"userId": "1234567890", "inviterId": "", "ips": "", "authorities": ["stor", "stow", "coor", "coow"],
                   "parentId": 0, "traderType": "", "channelCode": "", "channel": "", "regisTime": "1690000000000"})

    def set_leverage(self, p):
        """Change Leverage: symbol, productType, marginCoin, and a leverage."""
        for k in ("symbol", "productType", "marginCoin"):
            if not p.get(k):
                raise error(400, 40019, f"Parameter {k} cannot be empty")
        lev = p.get("leverage") or p.get("longLeverage") or p.get("shortLeverage")
        if not lev:
            raise error(400, 40019, "Parameter leverage cannot be empty")
        return ok({"symbol": p["symbol"].upper(), "marginCoin": p["marginCoin"].upper(),
                   "longLeverage": p.get("longLeverage", lev), "shortLeverage": p.get("shortLeverage", lev),
                   "crossMarginLeverage": p.get("leverage", lev), "marginMode": "crossed"})

    def uta_settings(self, p):
        # This mock is a classic (v2) account: the unified-account settings are refused, which
        # is how ccxt tells the two apart. (The code and text are this mock's, not Bitget's.)
        raise error(400, 40084, "This account is not a unified trading account")

    def assets(self, p):
        def asset(c, total):
            return {"coin": c, "available": total, "frozen": "0", "locked": "0",
                    "limitAvailable": "0", "uTime": str(now_ms())}
        return ok([asset("USDT", "25000"), asset("BTC", "1.25")])

    def place_order(self, p):
        for k in ("symbol", "side", "orderType", "size"):
            if not p.get(k):
                raise error(400, 40017, f"Parameter verification failed: {k} is required")
        if p["side"] not in ("buy", "sell") or p["orderType"] not in ("limit", "market"):
            raise error(400, 40017, "Parameter verification failed: side or orderType")
        if p["orderType"] == "limit" and (not p.get("price") or not p.get("force")):
            raise error(400, 40017, "Parameter verification failed: price and force are required")
        with self.lock:
            oid = str(next(self.ids))
            coid = p.get("clientOid") or f"mock-{oid}"
            now = str(now_ms())
            self.orders[oid] = {"userId": "1234567890", "symbol": p["symbol"], "orderId": oid,
                                "clientOid": coid, "price": p.get("price", "0"), "size": p["size"],
                                "orderType": p["orderType"], "side": p["side"], "status": "live",
                                "priceAvg": "0", "baseVolume": "0", "quoteVolume": "0",
                                "enterPointSource": "API", "orderSource": "normal",
                                "cTime": now, "uTime": now}
        return ok({"orderId": oid, "clientOid": coid})

    def live(self, p):
        oid = p.get("orderId")
        if not oid and p.get("clientOid"):
            oid = next((o for o, v in self.orders.items() if v["clientOid"] == p["clientOid"]), None)
        order = self.orders.get(oid or "")
        if order is None or order["status"] != "live" or order["symbol"] != p.get("symbol"):
            raise error(400, 43001, "The order does not exist")
        return order

    def cancel_replace(self, p):
        """Cancel-Replace-Order (spot): cancels `orderId`/`clientOid`, places a limit order of
        `size` at `price` (both required) with the old order's side."""
        for k in ("symbol", "price", "size"):
            if not p.get(k):
                raise error(400, 40017, f"Parameter verification failed: {k} is required")
        with self.lock:
            old = self.live(p)
            old["status"] = "cancelled"
        new = dict(symbol=p["symbol"], side=old["side"], orderType="limit", force="gtc", price=p["price"],
                   size=p["size"], clientOid=p.get("newClientOid"))
        placed = self.place_order({k: v for k, v in new.items() if v})["data"]
        return ok(dict(placed, success="success", msg=""))

    def batch(self, one, p, shared):
        """Batch-Place-Orders (spot) / Batch-Order (mix): `orderList` of up to 50 orders with
        the shared fields beside it; answers successList and failureList."""
        items = p.get("orderList")
        if not isinstance(items, list) or not 0 < len(items) <= 50:
            raise error(400, 40017, "Parameter verification failed: orderList")
        done, failed = [], []
        for item in items:
            if not isinstance(item, dict):
                raise error(400, 40017, "Parameter verification failed: orderList items")
            item = dict({k: p[k] for k in shared if k in p}, **item)
            try:
                done.append(one(self, item)["data"])
            except MockError as e:
                failed.append({"orderId": "", "clientOid": item.get("clientOid", ""),
                               "errorMsg": e.msg, "errorCode": e.payload["code"]})
        return ok({"successList": done, "failureList": failed})

    def spot_batch(self, p):
        return self.batch(Mock.place_order, p, ("symbol",))

    def place_mix_order(self, p):
        """Place-Order (mix): size in the base coin; `marginMode` and `marginCoin` required."""
        for k in ("symbol", "productType", "marginMode", "marginCoin", "size", "side", "orderType"):
            if not p.get(k):
                raise error(400, 40017, f"Parameter verification failed: {k} is required")
        if p["symbol"] not in [c["symbol"] for cs in CONTRACTS.values() for c in cs]:
            raise error(400, 40034, "Parameter symbol does not exist")
        if p["orderType"] == "limit" and not p.get("price"):
            raise error(400, 40017, "Parameter verification failed: price is required")
        return self.place_order({k: p[k] for k in ("symbol", "side", "orderType", "size", "price", "clientOid")
                                 if p.get(k)} | ({"force": p.get("force") or "gtc"} if p["orderType"] == "limit" else {}))

    def mix_batch(self, p):
        return self.batch(Mock.place_mix_order, p, ("symbol", "productType", "marginCoin", "marginMode"))

    def modify_mix_order(self, p):
        """Modify-Order (mix): a live limit order gets `newSize` and/or `newPrice`."""
        if not p.get("productType") or not (p.get("newSize") or p.get("newPrice")):
            raise error(400, 40017, "Parameter verification failed: productType, newSize or newPrice")
        with self.lock:
            order = self.live(p)
            if p.get("newSize"):
                order["size"] = p["newSize"]
            if p.get("newPrice"):
                order["price"] = p["newPrice"]
            order["uTime"] = str(now_ms())
        return ok({"orderId": order["orderId"], "clientOid": order["clientOid"]})

    def cancel_order(self, p):
        with self.lock:
            oid = p.get("orderId")
            if not oid and p.get("clientOid"):
                oid = next((o for o, v in self.orders.items() if v["clientOid"] == p["clientOid"]), None)
            order = self.orders.get(oid or "")
            if order is None or order["status"] != "live" or order["symbol"] != p.get("symbol"):
                raise error(400, 43001, "The order does not exist")
            order["status"] = "cancelled"
        return ok({"orderId": order["orderId"], "clientOid": order["clientOid"]})

    def unfilled(self, p):
        with self.lock:
            return ok([dict(o) for o in self.orders.values() if o["status"] == "live"
                       and (not p.get("symbol") or o["symbol"] == p["symbol"])])


ROUTES = {
    ("GET", "/api/v2/spot/account/info"): Mock.account_info,
    ("GET", "/api/v2/spot/account/assets"): Mock.assets,
    ("GET", "/api/v3/account/settings"): Mock.uta_settings,
    ("POST", "/api/v2/spot/trade/place-order"): Mock.place_order,
    ("POST", "/api/v2/spot/trade/cancel-order"): Mock.cancel_order,
    ("POST", "/api/v2/spot/trade/cancel-replace-order"): Mock.cancel_replace,
    ("POST", "/api/v2/spot/trade/batch-orders"): Mock.spot_batch,
    ("POST", "/api/v2/mix/order/place-order"): Mock.place_mix_order,
    ("POST", "/api/v2/mix/order/modify-order"): Mock.modify_mix_order,
    ("POST", "/api/v2/mix/order/batch-place-order"): Mock.mix_batch,
    ("POST", "/api/v2/mix/order/cancel-order"): Mock.cancel_order,
    ("GET", "/api/v2/spot/trade/unfilled-orders"): Mock.unfilled,
    ("POST", "/api/v2/mix/account/set-leverage"): Mock.set_leverage,
}
