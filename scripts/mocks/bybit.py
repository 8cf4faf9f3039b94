"""Mock of the Bybit v5 REST API (api.bybit.com), written from Bybit's documentation:
https://bybit-exchange.github.io/docs/v5/guide#authentication

Verification, as Bybit does it:
  * `/v5/market/...` is public: nothing is checked.
  * everything else needs X-BAPI-API-KEY (a known key), X-BAPI-TIMESTAMP (ms),
    X-BAPI-RECV-WINDOW (default 5000) and X-BAPI-SIGN = hex HMAC-SHA256(secret,
    timestamp + api_key + recv_window + payload), where payload is the raw query string
    (GET) or the raw body (POST), exactly as received. The timestamp must satisfy
    server_time - recv_window <= timestamp < server_time + 1000.
  * POST bodies must be JSON objects (Content-Type application/json); v5 has no other methods.

Answers are enough for ccxt's load_markets, fetch_balance, create_order, edit_order (amend),
create_orders (create-batch), cancel_order and fetch_open_orders. Errors use Bybit's envelope {"retCode", "retMsg", "result", ...}.
"""

import hmac
import itertools
import threading

from . import MockError, get_or_json_post, header_key, hex_hmac_sha256, mark_public, mark_signed, now_ms

SPOT = [
    # symbol, base, quote, tick, base precision, min qty, max qty
    ("BTCUSDT", "BTC", "USDT", "0.01", "0.000001", "0.000048", "71.73956243"),
    ("ETHUSDT", "ETH", "USDT", "0.01", "0.00001", "0.00062", "1229.2336343"),
]
LINEAR = [("BTCUSDT", "BTC", "USDT", "0.10", "0.001", "0.001", "1190.000")]
INVERSE = [("BTCUSD", "BTC", "USD", "0.50", "1", "1", "1000000")]


def envelope(result, code=0, msg="OK"):
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms()}


def error(status, code, msg):
    return MockError(status, envelope({}, code, msg), msg)


def spot_instrument(s):
    symbol, base, quote, tick, prec, min_qty, max_qty = s
    return {
        "symbol": symbol, "baseCoin": base, "quoteCoin": quote, "innovation": "0",
        "status": "Trading", "marginTrading": "both",
        "lotSizeFilter": {"basePrecision": prec, "quotePrecision": "0.00000001",
                          "minOrderQty": min_qty, "maxOrderQty": max_qty,
                          "minOrderAmt": "1", "maxOrderAmt": "4000000"},
        "priceFilter": {"tickSize": tick},
    }


def contract_instrument(s, category):
    symbol, base, quote, tick, step, min_qty, max_qty = s
    return {
        "symbol": symbol, "contractType": "LinearPerpetual" if category == "linear" else "InversePerpetual",
        "status": "Trading", "baseCoin": base, "quoteCoin": quote,
        "settleCoin": quote if category == "linear" else base,
        "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": tick, "maxPrice": "199999.80", "tickSize": tick},
        "lotSizeFilter": {"maxOrderQty": max_qty, "minOrderQty": min_qty, "qtyStep": step,
                          "postOnlyMaxOrderQty": max_qty, "minNotionalValue": "5"},
        "unifiedMarginTrade": True, "fundingInterval": 480,
    }


def signed_params_payload(req):
    """The signed payload: the raw query string for GET, the raw body for POST."""
    return req.query if req.method == "GET" else req.text


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.orders = {}
        self.lock = threading.Lock()
        self.ids = itertools.count(1_700_000_000)

    # -- verification --
    def verify(self, req):
        h = req.headers
        api_key, secret, _ = header_key(req, self.credentials, "x-bapi-api-key")
        if secret is None:  # no key, or an unknown one
            raise error(401, 10003, "API key is invalid.")
        ts_raw = h.get("x-bapi-timestamp", "")
        if not ts_raw.isdigit():
            raise error(200, 10002, "invalid request, please check your timestamp")
        rw_raw = h.get("x-bapi-recv-window", "5000")
        if not rw_raw.isdigit():
            raise error(200, 10001, "recv_window is invalid")
        ts, rw, server = int(ts_raw), int(rw_raw), now_ms()
        if not (server - rw <= ts < server + 1000):
            raise error(200, 10002, "invalid request, please check your server timestamp or recv_window param")
        sign = h.get("x-bapi-sign", "")
        payload = ts_raw + api_key + rw_raw + signed_params_payload(req)
        if not hmac.compare_digest(hex_hmac_sha256(secret, payload), sign):
            raise error(200, 10004, "error sign! origin_string[" + payload + "]")
        mark_signed(req)

    def params(self, req):
        body = get_or_json_post(req, error, (405, 10001, "method not allowed"),
                                (200, 10001, "Content-Type must be application/json"),
                                (200, 10001, "request body is not valid JSON"))
        if req.method == "POST" and not isinstance(body, dict):
            raise error(200, 10001, "request body must be a JSON object")
        return body

    # -- dispatch --
    def handle(self, req):
        p = self.params(req)
        req.rec["params"] = p
        if req.path.startswith("/v5/market/"):
            mark_public(req)
            return 200, self.market(req.path, p)
        self.verify(req)
        route = ROUTES.get((req.method, req.path))
        if route is None:
            raise error(404, 10001, f"unknown endpoint {req.method} {req.path}")
        result = route(self, p)
        if route in (Mock.create_batch, Mock.amend_batch):
            result, ext = result
            return 200, dict(envelope(result), retExtInfo=ext)
        if route is Mock.query_api:
            # As Bybit does: the answer echoes the API key the request was signed with.
            result = dict(result, apiKey=req.headers.get("x-bapi-api-key", ""))
        return 200, envelope(result)

    def market(self, path, p):
        if path == "/v5/market/time":
            t = now_ms()
            return envelope({"timeSecond": str(t // 1000), "timeNano": str(t * 1_000_000)})
        if path == "/v5/market/instruments-info":
            cat = p.get("category")
            if p.get("status") == "PreLaunch":
                items = []
            elif cat == "spot":
                items = [spot_instrument(s) for s in SPOT]
            elif cat in ("linear", "inverse"):
                items = [contract_instrument(s, cat) for s in (LINEAR if cat == "linear" else INVERSE)]
            elif cat == "option":
                items = []
            else:
                raise error(200, 10001, "params error: category is invalid")
            return envelope({"category": cat, "list": items, "nextPageCursor": ""})
        if path == "/v5/market/tickers":
            return envelope({"category": p.get("category"), "list": [
                {"symbol": "BTCUSDT", "lastPrice": "30000.00", "bid1Price": "29999.99",
                 "ask1Price": "30000.01", "volume24h": "1000", "turnover24h": "30000000"}]})
        raise error(404, 10001, f"unknown market endpoint {path}")

    # -- private endpoints --
    def query_api(self, p):
        return {"id": "13770661", "note": "keyward-test", "apiKey": "(redacted)", "readOnly": 0,
                "secret": "", "permissions": {"Spot": ["SpotTrade"], "ContractTrade": ["Order", "Position"],
                                              "Wallet": [], "Options": [], "Derivatives": []},
                "ips": ["*"], "type": 1, "deadlineDay": 83, "unified": 0, "uta": 1,
                "userID": 24600000, "isMaster": True}

    def account_info(self, p):
        return {"unifiedMarginStatus": 5, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
                "spotHedgingStatus": "OFF", "updatedTime": str(now_ms())}

    def coin_info(self, p):
        def coin(c, name, chain, acc):
            return {"name": name, "coin": c, "remainAmount": "150", "chains": [
                {"chainType": chain, "confirmation": "10000", "withdrawFee": "0.0005",
                 "depositMin": "0.0005", "withdrawMin": "0.001", "chain": chain,
                 "chainDeposit": "1", "chainWithdraw": "1", "minAccuracy": acc}]}
        return {"rows": [coin("BTC", "BTC", "BTC", "8"), coin("USDT", "USDT", "ETH", "6"),
                         coin("ETH", "ETH", "ETH", "8")]}

    def wallet_balance(self, p):
        if p.get("accountType") not in ("UNIFIED", "CONTRACT", "SPOT"):
            raise error(200, 10001, "accountType only support UNIFIED.")

        def coin(c, total):
            return {"coin": c, "walletBalance": total, "equity": total, "locked": "0",
                    "availableToWithdraw": total, "borrowAmount": "0", "accruedInterest": "0",
                    "totalOrderIM": "0", "totalPositionIM": "0", "usdValue": total}
        return {"list": [{"accountType": "UNIFIED", "totalEquity": "62500",
                          "coin": [coin("USDT", "25000"), coin("BTC", "1.25")]}]}

    def create_order(self, p):
        for k in ("category", "symbol", "side", "orderType", "qty"):
            if not p.get(k):
                raise error(200, 10001, f"params error: {k} is required")
        if p["side"] not in ("Buy", "Sell") or p["orderType"] not in ("Limit", "Market"):
            raise error(200, 10001, "params error: side or orderType invalid")
        if p["orderType"] == "Limit" and not p.get("price"):
            raise error(200, 10001, "params error: price is required for Limit orders")
        with self.lock:
            oid = str(next(self.ids))
            link = p.get("orderLinkId") or f"mock-{oid}"
            self.orders[oid] = dict(p, orderId=oid, orderLinkId=link, orderStatus="New",
                                    createdTime=str(now_ms()), cumExecQty="0", leavesQty=p["qty"])
        return {"orderId": oid, "orderLinkId": link}

    def find(self, p):
        oid = p.get("orderId")
        if not oid and p.get("orderLinkId"):
            oid = next((o for o, v in self.orders.items() if v["orderLinkId"] == p["orderLinkId"]), None)
        order = self.orders.get(oid or "")
        if order is None or order["orderStatus"] != "New" or order["symbol"] != p.get("symbol"):
            raise error(200, 110001, "Order does not exist.")
        return order

    def amend_order(self, p):
        """Amend Order (docs/v5/order/amend-order): a resting order gets a new qty, price or
        trigger price; at least one must be sent."""
        for k in ("category", "symbol"):
            if not p.get(k):
                raise error(200, 10001, f"params error: {k} is required")
        if not any(p.get(k) for k in ("qty", "price", "triggerPrice", "takeProfit", "stopLoss")):
            raise error(200, 10001, "params error: nothing to amend")
        with self.lock:
            order = self.find(p)
            for k in ("qty", "price", "triggerPrice"):
                if p.get(k):
                    order[k] = p[k]
            order["leavesQty"] = order["qty"]
        return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def batch(self, one, p, shape):
        """Batch Place / Amend Order: `request` holds up to 20 orders sharing `category`; each
        gets its own result in result.list and its own code in retExtInfo.list."""
        items = p.get("request")
        if not p.get("category") or not isinstance(items, list) or not 0 < len(items) <= 20:
            raise error(200, 10001, "params error: category and request (1 to 20 orders) are required")
        results, codes = [], []
        for item in items:
            if not isinstance(item, dict):
                raise error(200, 10001, "params error: request items must be objects")
            item = dict(item, category=p["category"])
            try:
                res = one(self, item)
                codes.append({"code": 0, "msg": "OK"})
            except MockError as e:
                res = {"orderId": "", "orderLinkId": item.get("orderLinkId", "")}
                codes.append({"code": e.payload["retCode"], "msg": e.payload["retMsg"]})
            results.append(dict(shape(item), **res))
        return {"list": results}, {"list": codes}

    def create_batch(self, p):
        return self.batch(Mock.create_order, p, lambda i: {
            "category": i["category"], "symbol": i.get("symbol", ""), "createAt": str(now_ms())})

    def amend_batch(self, p):
        return self.batch(Mock.amend_order, p, lambda i: {
            "category": i["category"], "symbol": i.get("symbol", "")})

    def set_leverage(self, p):
        """Set Leverage (docs/v5/position/leverage): category, symbol, buyLeverage and
        sellLeverage are all required."""
        for k in ("category", "symbol", "buyLeverage", "sellLeverage"):
            if not p.get(k):
                raise error(200, 10001, f"params error: {k} is required")
        return {}

    def cancel_order(self, p):
        with self.lock:
            oid = p.get("orderId")
            if not oid and p.get("orderLinkId"):
                oid = next((o for o, v in self.orders.items() if v["orderLinkId"] == p["orderLinkId"]), None)
            order = self.orders.get(oid or "")
            if order is None or order["orderStatus"] != "New" or order["symbol"] != p.get("symbol"):
                raise error(200, 110001, "Order does not exist.")
            order["orderStatus"] = "Cancelled"
        return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def open_orders(self, p):
        with self.lock:
            items = [dict(o) for o in self.orders.values() if o["orderStatus"] == "New"
                     and (not p.get("symbol") or o["symbol"] == p["symbol"])]
        return {"category": p.get("category"), "list": items, "nextPageCursor": ""}

    def fee_rate(self, p):
        return {"list": [{"symbol": s[0], "takerFeeRate": "0.001", "makerFeeRate": "0.001"} for s in SPOT]}


ROUTES = {
    ("GET", "/v5/user/query-api"): Mock.query_api,
    ("GET", "/v5/account/info"): Mock.account_info,
    ("GET", "/v5/asset/coin/query-info"): Mock.coin_info,
    ("GET", "/v5/account/wallet-balance"): Mock.wallet_balance,
    ("GET", "/v5/account/fee-rate"): Mock.fee_rate,
    ("POST", "/v5/order/create"): Mock.create_order,
    ("POST", "/v5/order/cancel"): Mock.cancel_order,
    ("POST", "/v5/order/amend"): Mock.amend_order,
    ("POST", "/v5/order/create-batch"): Mock.create_batch,
    ("POST", "/v5/order/amend-batch"): Mock.amend_batch,
    ("GET", "/v5/order/realtime"): Mock.open_orders,
    ("POST", "/v5/position/set-leverage"): Mock.set_leverage,
}
