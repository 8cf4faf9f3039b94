#!/usr/bin/env python3
"""A local TLS WebSocket mock of exchanges' private socket APIs, for keyward's tests.

It verifies every login and every signature with the real secret (from --credentials, a JSON
file {api_key: secret} or {api_key: {"secret", "passphrase"}}), answers like the exchange, pushes
order and balance updates to authenticated sockets every 0.3 s, and appends one JSON line per
frame received to --record: {"exchange", "path", "frame" (the text), "op", "verified", "why"}.

    ws_mock.py --exchange binance --cert server.pem --key server.key --port 0 \
        --credentials creds.json --record frames.jsonl
prints "listening on PORT" once it accepts connections.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import ssl
import sys
import time

import websockets

CREDENTIALS = {}
RECORD = None


def record(**entry):
    if RECORD is None:
        return
    with open(RECORD, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
        fh.flush()


def strict_json(text):
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate keys {keys}")
        return dict(pairs)
    return json.loads(text, object_pairs_hook=no_dupes)


def secret_of(key):
    v = CREDENTIALS.get(key)
    if isinstance(v, dict):
        return v["secret"], v.get("passphrase")
    return v, None


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------------------
# Binance WebSocket API (/ws-api/v3, /ws-fapi/v1)
# ---------------------------------------------------------------------------------------

BINANCE_SIGNED = {
    "order.place", "order.test", "order.cancel", "order.cancelReplace", "order.modify",
    "order.status", "openOrders.status", "account.status", "account.balance",
    "userDataStream.subscribe.signature", "openOrders.cancelAll",
}


def binance_verify(params):
    """(verified, why) of a signed Binance WS API request."""
    key = params.get("apiKey")
    secret, _ = secret_of(key)
    if secret is None:
        return False, "unknown apiKey"
    sig = params.get("signature")
    if not isinstance(sig, str):
        return False, "no signature"
    payload = "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()) if k != "signature")
    want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return False, f"bad signature over {payload!r}"
    ts = params.get("timestamp")
    if not isinstance(ts, int) or abs(now_ms() - ts) > 10_000:
        return False, "timestamp missing or off"
    return True, ""


def _text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Binance:
    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.subscribed = False
        self.next_order = 1000

    async def on_frame(self, msg):
        method, params, rid = msg.get("method"), msg.get("params") or {}, msg.get("id")
        verified, why = (binance_verify(params) if method in BINANCE_SIGNED else (True, ""))
        record(exchange="binance", path=self.path, op=method, frame=json.dumps(msg),
               verified=verified, why=why)
        if not verified:
            return await self.send({"id": rid, "status": 401,
                                    "error": {"code": -1022, "msg": f"Signature for this request is not valid: {why}"}})
        if method == "userDataStream.subscribe.signature":
            self.subscribed = True
            return await self.send({"id": rid, "status": 200, "result": {"subscriptionId": 0}})
        if method in ("order.place", "order.test"):
            self.next_order += 1
            return await self.send({"id": rid, "status": 200, "result": self.order(params, self.next_order, "NEW")})
        if method == "order.cancel":
            return await self.send({"id": rid, "status": 200,
                                    "result": self.order(params, int(params.get("orderId", 1)), "CANCELED")})
        if method == "time" and "close" in params:
            # test hook: the exchange closes the socket with this code
            return await self.ws.close(int(params["close"]), "closed by the mock")
        if method == "time":
            return await self.send({"id": rid, "status": 200, "result": {"serverTime": now_ms()}})
        return await self.send({"id": rid, "status": 200, "result": {}})

    def order(self, params, order_id, status):
        return {"symbol": params.get("symbol", "BTCUSDT"), "orderId": order_id, "orderListId": -1,
                "clientOrderId": params.get("newClientOrderId", "mock"), "transactTime": now_ms(),
                "price": str(params.get("price", "0")), "origQty": str(params.get("quantity", "0")),
                "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000", "status": status,
                "timeInForce": params.get("timeInForce", "GTC"), "type": params.get("type", "LIMIT"),
                "side": params.get("side", "BUY"), "workingTime": now_ms(), "selfTradePreventionMode": "NONE"}

    async def push(self):
        if not self.subscribed:
            return
        t = now_ms()
        await self.send({"subscriptionId": 0, "event": {
            "e": "executionReport", "E": t, "s": "BTCUSDT", "c": "pushed-by-mock", "S": "BUY",
            "o": "LIMIT", "f": "GTC", "q": "0.01000000", "p": "30000.00000000", "P": "0.00000000",
            "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE", "i": 777,
            "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None, "T": t,
            "t": -1, "I": 1, "w": True, "m": False, "M": False, "O": t, "Z": "0.00000000",
            "Y": "0.00000000", "Q": "0.00000000", "W": t, "V": "NONE"}})
        await self.send({"subscriptionId": 0, "event": {
            "e": "outboundAccountPosition", "E": t, "u": t,
            "B": [{"a": "USDT", "f": "1234.50000000", "l": "100.00000000"},
                  {"a": "BTC", "f": "0.50000000", "l": "0.00000000"}]}})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


class BinanceStream:
    """Binance market and user-data streams (/ws, /stream; USD-M /ws/<listenKey>,
    /private/ws?listenKey=, /public/ws, /market/ws): the listen key in the URL must be the real
    one scripts/mock_exchange.py issued over REST."""

    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.streams = set()
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
        from mock_exchange import listen_key
        self.real_key = listen_key(CREDENTIALS)
        base, _, query = path.partition("?")
        given = query[len("listenKey="):] if query.startswith("listenKey=") else base.rsplit("/", 1)[-1]
        self.user_data = base == "/private/ws" or given.startswith("REALLK") or given.startswith("keyward")
        self.verified = (not self.user_data) or given == self.real_key
        record(exchange="binance", path=path, op="listenKey" if self.user_data else "streams", frame="",
               verified=self.verified, why="" if self.verified else f"unknown listen key {given!r}")
        self.echoed = False

    async def on_frame(self, msg):
        method, rid = msg.get("method"), msg.get("id")
        record(exchange="binance", path=self.path, op=method, frame=json.dumps(msg), verified=True, why="")
        if method == "SUBSCRIBE":
            self.streams.update(msg.get("params") or [])
        if method == "LIST_SUBSCRIPTIONS":
            return await self.send({"result": sorted(self.streams), "id": rid})
        return await self.send({"result": None, "id": rid})

    async def push(self):
        t = now_ms()
        if self.user_data and self.verified:
            if not self.echoed:
                # an event naming the listen key, as Binance's listenKeyExpired does
                self.echoed = True
                await self.send({"e": "mockListenKeyEcho", "E": t, "listenKey": self.real_key})
            await self.send({"e": "ORDER_TRADE_UPDATE", "E": t, "T": t, "o": {
                "s": "BTCUSDT", "c": "pushed-by-mock", "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.010",
                "p": "30000", "ap": "0", "sp": "0", "x": "NEW", "X": "NEW", "i": 777, "l": "0", "z": "0",
                "L": "0", "N": "USDT", "n": "0", "T": t, "t": 0, "b": "0", "a": "0", "m": False, "R": False,
                "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": False, "rp": "0", "pP": False,
                "si": 0, "ss": 0}})
            await self.send({"e": "ACCOUNT_UPDATE", "E": t, "T": t, "a": {
                "m": "ORDER", "B": [{"a": "USDT", "wb": "1234.5", "cw": "1234.5", "bc": "0"}], "P": []}})
        for stream in sorted(self.streams):
            symbol, _, channel = stream.partition("@")
            if channel == "trade":
                await self.send({"e": "trade", "E": t, "T": t, "s": symbol.upper(), "t": t, "p": "30000.1",
                                 "q": "0.01", "X": "MARKET", "m": False, "M": True})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# Bybit v5 (/v5/private, /v5/trade, /v5/public/*)
# ---------------------------------------------------------------------------------------


class Bybit:
    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.authed = False
        self.topics = set()
        self.next_order = 5000

    async def on_frame(self, msg):
        if not isinstance(msg, dict):
            record(exchange="bybit", path=self.path, op="text", frame=str(msg), verified=False, why="not an object")
            return
        op = msg.get("op")
        verified, why = True, ""
        if op == "auth":
            verified, why = self.verify_auth(msg.get("args") or [])
            self.authed = verified
        elif op not in ("ping", "subscribe", "unsubscribe") or self.path == "/v5/private":
            if not self.authed and not (op in ("ping", "subscribe") and self.path.startswith("/v5/public")):
                verified, why = False, "not authenticated"
        record(exchange="bybit", path=self.path, op=op, frame=json.dumps(msg), verified=verified, why=why)
        if op == "auth":
            return await self.send({"success": verified, "ret_msg": why, "op": "auth", "conn_id": "mock"})
        if op == "ping":
            return await self.send({"success": True, "ret_msg": "pong", "op": "ping", "conn_id": "mock"})
        if op == "subscribe":
            self.topics.update(msg.get("args") or [])
            return await self.send({"success": verified, "ret_msg": why, "op": "subscribe",
                                    "conn_id": "mock", "req_id": msg.get("req_id")})
        if not verified:
            return await self.send({"reqId": msg.get("reqId"), "retCode": 10003, "retMsg": why, "op": op, "data": {}})
        self.next_order += 1
        args = (msg.get("args") or [{}])[0]
        return await self.send({"reqId": msg.get("reqId"), "retCode": 0, "retMsg": "OK", "op": op,
                                "data": {"orderId": args.get("orderId", str(self.next_order)),
                                         "orderLinkId": args.get("orderLinkId", "")},
                                "header": {"Timenow": str(now_ms())}, "connId": "mock"})

    def verify_auth(self, args):
        if len(args) != 3:
            return False, "auth args"
        key, expires, sig = args
        secret, _ = secret_of(key)
        if secret is None:
            return False, "unknown api key"
        want = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, str(sig)):
            return False, "bad auth signature"
        if int(expires) < now_ms():
            return False, "expired"
        return True, ""

    async def push(self):
        if not self.authed or self.path != "/v5/private":
            return
        t = now_ms()
        if "order" in self.topics:
            await self.send({"topic": "order", "id": "o", "creationTime": t, "data": [{
                "category": "spot", "symbol": "BTCUSDT", "orderId": "777", "orderLinkId": "pushed-by-mock",
                "side": "Buy", "orderType": "Limit", "price": "30000", "qty": "0.01", "orderStatus": "New",
                "timeInForce": "GTC", "cumExecQty": "0", "cumExecValue": "0", "avgPrice": "0",
                "createdTime": str(t), "updatedTime": str(t), "leavesQty": "0.01"}]})
        if "wallet" in self.topics:
            await self.send({"topic": "wallet", "id": "w", "creationTime": t, "data": [{
                "accountType": "UNIFIED", "coin": [{"coin": "USDT", "equity": "1234.5", "walletBalance": "1234.5",
                                                    "availableToWithdraw": "1234.5", "locked": "0"}]}]})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# OKX v5 (/ws/v5/private, /ws/v5/business, /ws/v5/public)
# ---------------------------------------------------------------------------------------


class Okx:
    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.authed = False
        self.channels = set()
        self.args = {}
        self.next_order = 9000

    async def on_frame(self, msg):
        if msg == "ping":
            record(exchange=self.NAME, path=self.path, op="ping", frame="ping", verified=True, why="")
            return await self.ws.send("pong")
        op = msg.get("op")
        verified, why = True, ""
        if op == "login":
            verified, why = self.verify_login((msg.get("args") or [{}])[0])
            self.authed = verified
        elif not self.authed and not self.path.endswith("/public"):
            verified, why = False, "not logged in"
        record(exchange=self.NAME, path=self.path, op=op, frame=json.dumps(msg), verified=verified, why=why)
        if op == "login":
            return await self.send({"event": "login" if verified else "error", "msg": why,
                                    "code": "0" if verified else "60009", "connId": "mock"})
        if not verified:
            return await self.send({"event": "error", "msg": why, "code": "60011", "connId": "mock"})
        if op in ("subscribe", "unsubscribe"):
            for arg in msg.get("args") or []:
                self.channels.add(arg.get("channel"))
                self.args[arg.get("channel")] = arg
                await self.send({"event": op, "arg": arg, "connId": "mock"})
            return
        data = []
        for arg in msg.get("args") or []:
            self.next_order += 1
            data.append({"clOrdId": arg.get("clOrdId", ""), "ordId": arg.get("ordId", str(self.next_order)),
                         "tag": "", "sCode": "0", "sMsg": ""})
        return await self.send({"id": msg.get("id"), "op": op, "code": "0", "msg": "", "data": data,
                                "inTime": str(now_ms() * 1000), "outTime": str(now_ms() * 1000)})

    VERIFY_PATH = "/users/self/verify"
    NAME = "okx"

    def verify_login(self, args):
        secret, passphrase = secret_of(args.get("apiKey"))
        if secret is None:
            return False, "unknown apiKey"
        if args.get("passphrase") != passphrase:
            return False, "wrong passphrase"
        ts = args.get("timestamp", "")
        want = base64.b64encode(hmac.new(secret.encode(), f"{ts}GET{self.VERIFY_PATH}".encode(),
                                         hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, str(args.get("sign"))):
            return False, "bad login signature"
        if abs(int(ts) - time.time()) > 30:
            return False, "timestamp off"
        return True, ""

    async def push(self):
        if not self.authed:
            return
        t = str(now_ms())
        if "orders" in self.channels:
            await self.send({"arg": {"channel": "orders", "instType": "ANY", "uid": "1"}, "data": [{
                "instType": "SPOT", "instId": "BTC-USDT", "ordId": "777", "clOrdId": "pushed-by-mock",
                "px": "30000", "sz": "0.01", "side": "buy", "ordType": "limit", "state": "live",
                "tdMode": "cash", "accFillSz": "0", "fillPx": "", "avgPx": "0", "fee": "0",
                "feeCcy": "USDT", "cTime": t, "uTime": t}]})
        if "account" in self.channels:
            await self.send({"arg": {"channel": "account", "uid": "1"}, "data": [{
                "uTime": t, "totalEq": "1234.5", "details": [{
                    "ccy": "USDT", "availBal": "1234.5", "cashBal": "1234.5", "eq": "1234.5",
                    "frozenBal": "0", "availEq": "1234.5", "uTime": t}]}]})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# Deribit (/ws/api/v2, JSON-RPC)
# ---------------------------------------------------------------------------------------


class Deribit:
    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.authed = False

    async def on_frame(self, msg):
        method, params, rid = msg.get("method"), msg.get("params") or {}, msg.get("id")
        verified, why = True, ""
        if method == "public/auth":
            verified, why = self.verify_auth(params)
            self.authed = verified
        elif method.startswith("private/") and not self.authed:
            verified, why = False, "not authenticated"
        record(exchange="deribit", path=self.path, op=method, frame=json.dumps(msg), verified=verified, why=why)
        if not verified:
            return await self.send({"jsonrpc": "2.0", "id": rid, "error": {"code": 13009, "message": why}})
        if method == "public/auth":
            return await self.send({"jsonrpc": "2.0", "id": rid, "result": {
                "access_token": "REAL-ACCESS-TOKEN-of-the-mock", "refresh_token": "REAL-REFRESH-TOKEN-of-the-mock",
                "expires_in": 900, "scope": "session:x trade:read_write", "token_type": "bearer"}})
        if method in ("private/buy", "private/sell"):
            return await self.send({"jsonrpc": "2.0", "id": rid, "result": {"order": {
                "order_id": "ETH-1", "order_state": "open", "amount": params.get("amount")}, "trades": []}})
        return await self.send({"jsonrpc": "2.0", "id": rid, "result": {}})

    def verify_auth(self, params):
        if params.get("grant_type") != "client_signature":
            return False, "grant_type"
        secret, _ = secret_of(params.get("client_id"))
        if secret is None:
            return False, "unknown client_id"
        payload = f"{params.get('timestamp')}\n{params.get('nonce')}\n{params.get('data', '')}"
        want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, str(params.get("signature"))):
            return False, "bad signature"
        return True, ""

    async def push(self):
        return

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


class Bitget(Okx):
    """Bitget v2: OKX's login with /user/verify; pushes in Bitget's shapes."""
    VERIFY_PATH = "/user/verify"
    NAME = "bitget"

    async def push(self):
        if not self.authed:
            return
        t = str(now_ms())
        if "orders" in self.channels:
            await self.send({"action": "snapshot", "arg": self.args["orders"], "ts": int(t), "data": [{
                "instId": "BTCUSDT", "orderId": "777", "clientOid": "pushed-by-mock", "size": "0.01",
                "newSize": "0.01", "notional": "0", "orderType": "limit", "force": "gtc", "side": "buy",
                "fillPrice": "0", "baseVolume": "0", "accBaseVolume": "0", "priceAvg": "0",
                "price": "30000", "status": "live", "cTime": t, "uTime": t, "feeDetail": []}]})
        if "account" in self.channels:
            await self.send({"action": "snapshot", "arg": self.args["account"], "ts": int(t), "data": [{
                "coin": "USDT", "available": "1234.5", "frozen": "0", "locked": "0",
                "limitAvailable": "0", "uTime": t}]})


# ---------------------------------------------------------------------------------------
# Gate API v4 (/ws/v4/, /v4/ws/usdt, /v4/ws/btc): every private frame signed
# ---------------------------------------------------------------------------------------


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Gate:
    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.channels = set()
        self.next_order = 3000

    def verify_api(self, msg):
        p = msg.get("payload") or {}
        secret, _ = secret_of(p.get("api_key"))
        if secret is None:
            return False, "unknown api_key"
        signed = f"api\n{msg.get('channel')}\n{compact(p.get('req_param'))}\n{p.get('timestamp')}"
        want = hmac.new(secret.encode(), signed.encode(), hashlib.sha512).hexdigest()
        if not hmac.compare_digest(want, str(p.get("signature"))):
            return False, f"bad api signature over {signed!r}"
        if "req_header" in p:
            return False, "a partner header reached the exchange"
        return True, ""

    def verify_subscription(self, msg):
        auth = msg.get("auth") or {}
        secret, _ = secret_of(auth.get("KEY"))
        if secret is None:
            return False, "unknown KEY"
        signed = f"channel={msg.get('channel')}&event={msg.get('event')}&time={msg.get('time')}"
        want = hmac.new(secret.encode(), signed.encode(), hashlib.sha512).hexdigest()
        if not hmac.compare_digest(want, str(auth.get("SIGN"))):
            return False, "bad subscription signature"
        return True, ""

    async def on_frame(self, msg):
        channel, event = msg.get("channel", ""), msg.get("event")
        if channel.endswith(".ping"):
            record(exchange="gate", path=self.path, op=channel, frame=json.dumps(msg), verified=True, why="")
            return await self.send({"time": int(time.time()), "channel": channel.replace("ping", "pong"), "event": "", "result": None})
        public = channel.split(".", 1)[1] in ("tickers", "trades", "order_book", "book_ticker")
        verified, why = ((True, "") if public and event != "api" else
                         self.verify_api(msg) if event == "api" else self.verify_subscription(msg))
        record(exchange="gate", path=self.path, op=channel, frame=json.dumps(msg), verified=verified, why=why)
        if event in ("subscribe", "unsubscribe"):
            if verified:
                self.channels.add(channel)
            return await self.send({"time": int(time.time()), "id": msg.get("id"), "channel": channel,
                                    "event": event, "result": {"status": "success"} if verified else None,
                                    **({} if verified else {"error": {"code": 2, "message": why}})})
        p = msg.get("payload") or {}
        rid = p.get("req_id")
        header = {"response_time": str(now_ms()), "status": "200" if verified else "401",
                  "channel": channel, "event": "api"}
        if not verified:
            return await self.send({"request_id": rid, "header": header,
                                    "data": {"errs": {"label": "INVALID_SIGNATURE", "message": why}}})
        param = p.get("req_param") or {}
        if channel.endswith(".login"):
            result = {"api_key": p.get("api_key"), "uid": "1"}
        else:
            self.next_order += 1
            status = "cancelled" if channel.endswith("order_cancel") else "open"
            result = {"id": str(param.get("order_id", self.next_order)), "text": param.get("text", "t-mock"),
                      "currency_pair": param.get("currency_pair", "BTC_USDT"), "type": param.get("type", "limit"),
                      "side": param.get("side", "buy"), "amount": str(param.get("amount", "0.01")),
                      "price": str(param.get("price", "30000")), "left": str(param.get("amount", "0.01")),
                      "status": status, "create_time_ms": str(now_ms()), "update_time_ms": str(now_ms()),
                      "account": "spot", "time_in_force": "gtc", "filled_total": "0", "fee": "0",
                      "fee_currency": "BTC"}
        return await self.send({"request_id": rid, "ack": False, "header": header, "data": {"result": result}})

    async def push(self):
        t = now_ms()
        if "spot.orders" in self.channels:
            await self.send({"time": t // 1000, "time_ms": t, "channel": "spot.orders", "event": "update", "result": [{
                "id": "777", "text": "pushed-by-mock", "create_time_ms": str(t), "update_time_ms": str(t),
                "currency_pair": "BTC_USDT", "type": "limit", "account": "spot", "side": "buy",
                "amount": "0.01", "price": "30000", "left": "0.01", "time_in_force": "gtc",
                "filled_total": "0", "fee": "0", "fee_currency": "BTC", "event": "put"}]})
        if "spot.balances" in self.channels:
            await self.send({"time": t // 1000, "time_ms": t, "channel": "spot.balances", "event": "update", "result": [{
                "timestamp": str(t // 1000), "timestamp_ms": str(t), "user": "1", "currency": "USDT",
                "change": "0", "total": "1234.5", "available": "1234.5", "freeze": "0"}]})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# Kraken spot WebSocket v2, private (/v2): the token of REST GetWebSocketsToken authorises;
# public (/v2 on ws.kraken.com, reached as /public/v2 is rewritten by keyward): market data
# ---------------------------------------------------------------------------------------


class Kraken:
    # Order methods answered here once the real token is verified.
    ORDER_METHODS = ("add_order", "amend_order", "cancel_order", "cancel_all", "batch_add")

    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.channels = set()
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
        from mocks.kraken import ws_token
        self.token = ws_token(CREDENTIALS)

    async def on_frame(self, msg):
        method, params = msg.get("method"), msg.get("params") or {}
        verified, why = True, ""
        private = method in self.ORDER_METHODS or (
            method == "subscribe" and params.get("channel") in ("executions", "balances"))
        if private and (self.path != "/v2" or params.get("token") != self.token):
            verified, why = False, "invalid token"
        record(exchange="kraken", path=self.path, op=method, frame=json.dumps(msg), verified=verified, why=why)
        if method == "ping":
            return await self.send({"method": "pong", "req_id": msg.get("req_id"), "time_in": "x", "time_out": "x"})
        if not verified:
            return await self.send({"method": method, "req_id": msg.get("req_id"), "success": False,
                                    "error": "EAPI:Invalid token"})
        t = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        if method in self.ORDER_METHODS:
            result = {"order_id": (params.get("order_id") or ["OMOCK-WS-1"])[0]
                      if method == "cancel_order" else params.get("order_id", "OMOCK-WS-1")}
            if method == "amend_order":
                result["amend_id"] = "TMOCK-AMEND-1"
            return await self.send({"method": method, "req_id": msg.get("req_id"), "success": True,
                                    "result": result, "time_in": t, "time_out": t})
        self.channels.add(params.get("channel"))
        await self.send({"method": method, "req_id": msg.get("req_id"), "success": True,
                         "result": {"channel": params.get("channel"), "snapshot": True}})

    async def push(self):
        t = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        if "ticker" in self.channels:
            await self.send({"channel": "ticker", "type": "update", "data": [{
                "symbol": "BTC/USD", "bid": 30000.5, "bid_qty": 1, "ask": 30001.5, "ask_qty": 2,
                "last": 30001, "volume": 10, "vwap": 30000, "low": 29000, "high": 31000,
                "change": 1, "change_pct": 0.01}]})
        if "executions" in self.channels:
            await self.send({"channel": "executions", "type": "update", "data": [{
                "order_id": "OMOCK-777", "cl_ord_id": "pushed-by-mock", "symbol": "BTC/USD",
                "order_type": "limit", "side": "buy", "order_qty": 0.01, "limit_price": 30000,
                "order_status": "new", "exec_type": "new", "timestamp": t, "time_in_force": "GTC",
                "cum_qty": 0, "cum_cost": 0, "avg_price": 0}]})
        if "balances" in self.channels:
            await self.send({"channel": "balances", "type": "snapshot", "data": [
                {"asset": "USD", "asset_class": "currency", "balance": 1234.5,
                 "wallets": [{"type": "spot", "id": "main", "balance": 1234.5}]}]})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# Coinbase Advanced Trade (/): a JWT (ES256/EdDSA, no uri claim) in each private subscribe
# ---------------------------------------------------------------------------------------


class Coinbase:
    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.channels = set()

    def verify_jwt(self, token):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        def b64url(part):
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        parts = (token or "").split(".")
        if len(parts) != 3:
            return False, "malformed JWT"
        header, claims, sig = json.loads(b64url(parts[0])), json.loads(b64url(parts[1])), b64url(parts[2])
        cred = CREDENTIALS.get(header.get("kid"))
        if cred is None:
            return False, "unknown kid"
        key = serialization.load_pem_public_key(cred["public_key"].encode())
        signed = (parts[0] + "." + parts[1]).encode()
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            else:
                key.verify(sig, signed)
        except InvalidSignature:
            return False, "bad JWT signature"
        if claims.get("sub") != header.get("kid") or claims.get("iss") != "cdp" or "uri" in claims:
            return False, f"bad claims {claims}"
        if not claims.get("nbf", 0) - 5 <= time.time() < claims.get("exp", 0):
            return False, "JWT not valid now"
        return True, ""

    async def on_frame(self, msg):
        channel = msg.get("channel")
        private = channel in ("user", "futures_balance_summary")
        verified, why = self.verify_jwt(msg.get("jwt")) if private else (True, "")
        record(exchange="coinbase", path=self.path, op=f"{msg.get('type')} {channel}", frame=json.dumps(msg),
               verified=verified, why=why)
        if not verified:
            return await self.send({"type": "error", "message": why})
        self.channels.add(channel)
        await self.send({"channel": "subscriptions", "client_id": "", "timestamp": "", "sequence_num": 0,
                         "events": [{"subscriptions": {channel: msg.get("product_ids") or []}}]})

    async def push(self):
        if "user" in self.channels:
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            await self.send({"channel": "user", "client_id": "", "timestamp": now, "sequence_num": 1,
                             "events": [{"type": "update", "orders": [{
                                 "order_id": "cb-777", "client_order_id": "pushed-by-mock",
                                 "cumulative_quantity": "0", "leaves_quantity": "0.01", "avg_price": "0",
                                 "total_fees": "0", "status": "OPEN", "product_id": "BTC-USD",
                                 "creation_time": now, "order_side": "BUY", "order_type": "Limit",
                                 "limit_price": "30000", "number_of_fills": "0"}]}]})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# BitMEX (/realtime): authKeyExpires = [key, expires (s), hex(HMAC-SHA256(secret, "GET/realtime" + expires))]
# ---------------------------------------------------------------------------------------


class Bitmex:
    PRIVATE = ("order", "execution", "position", "margin", "wallet")

    def __init__(self, ws, path):
        self.ws, self.path = ws, path
        self.authed = False
        self.tables = set()

    async def on_frame(self, msg):
        if msg == "ping":
            record(exchange="bitmex", path=self.path, op="ping", frame=msg, verified=True, why="")
            return await self.ws.send("pong")
        op, args = msg.get("op"), msg.get("args")
        verified, why = True, ""
        if op == "authKeyExpires":
            verified, why = self.verify_auth(args or [])
            self.authed = verified
        elif op == "subscribe":
            if any(str(t).split(":")[0] in self.PRIVATE for t in args or []) and not self.authed:
                verified, why = False, "not authenticated"
        record(exchange="bitmex", path=self.path, op=op, frame=json.dumps(msg), verified=verified, why=why)
        if not verified:
            return await self.send({"status": 401, "error": why, "meta": {}, "request": msg})
        if op == "authKeyExpires":
            return await self.send({"success": True, "request": msg})
        for t in args or []:
            self.tables.add(str(t).split(":")[0])
            await self.send({"success": True, "subscribe": t, "request": msg})

    def verify_auth(self, args):
        if len(args) != 3:
            return False, "auth args"
        key, expires, sig = args
        secret, _ = secret_of(key)
        if secret is None:
            return False, "Invalid API Key."
        if not isinstance(expires, int) or not now_ms() // 1000 <= expires <= now_ms() // 1000 + 60:
            return False, "expires must be Unix seconds, in the next minute"
        want = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, str(sig)):
            return False, "Signature not valid."
        return True, ""

    async def push(self):
        t = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        if self.authed and "order" in self.tables:
            await self.send({"table": "order", "action": "insert", "data": [{
                "orderID": "mock-777", "clOrdID": "pushed-by-mock", "account": 1, "symbol": "XBTUSD",
                "side": "Buy", "orderQty": 100, "price": 30000, "currency": "USD", "settlCurrency": "XBt",
                "ordType": "Limit", "timeInForce": "GoodTillCancel", "ordStatus": "New", "leavesQty": 100,
                "cumQty": 0, "avgPx": None, "transactTime": t, "timestamp": t}]})
        if self.authed and "margin" in self.tables:
            await self.send({"table": "margin", "action": "partial", "data": [{
                "account": 1, "currency": "XBt", "walletBalance": 125000000, "availableMargin": 125000000,
                "marginBalance": 125000000, "timestamp": t}]})
        if "trade" in self.tables:
            await self.send({"table": "trade", "action": "insert", "data": [{
                "timestamp": t, "symbol": "XBTUSD", "side": "Buy", "size": 100, "price": 30000.5,
                "trdMatchID": "m-1"}]})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


# ---------------------------------------------------------------------------------------
# KuCoin private push (/?token=<bullet-private token>): the token in the URL authorises
# ---------------------------------------------------------------------------------------


class Kucoin:
    PRIVATE = ("/spotMarket/tradeOrders", "/spotMarket/tradeOrdersV2", "/account/balance",
               "/contractMarket/tradeOrders", "/contract/position", "/contractAccount/wallet")

    def __init__(self, ws, path):
        from urllib.parse import parse_qs, urlsplit
        self.ws, self.path = ws, path
        self.topics = set()
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
        from mocks.kucoin import ws_token
        url = urlsplit(path)
        tokens = parse_qs(url.query).get("token", [])
        self.kind = {ws_token(CREDENTIALS, False): "spot", ws_token(CREDENTIALS, True): "futures"}.get(
            tokens[0] if len(tokens) == 1 else None)
        record(exchange="kucoin", path=path, op="token", frame=url.query, verified=self.kind is not None,
               why="" if self.kind else "token not issued by bullet-private")

    async def welcome(self):
        if self.kind is None:
            await self.send({"id": "w", "type": "error", "code": 401, "data": "token is invalid"})
            return await self.ws.close()
        await self.send({"id": "w", "type": "welcome"})

    async def on_frame(self, msg):
        kind, topic = msg.get("type"), msg.get("topic", "")
        verified, why = self.kind is not None, "" if self.kind else "token"
        record(exchange="kucoin", path=self.path, op=kind, frame=json.dumps(msg), verified=verified, why=why)
        if kind == "ping":
            return await self.send({"id": msg.get("id"), "type": "pong", "timestamp": now_ms() * 1000})
        if kind == "subscribe":
            self.topics.add(topic.split(":")[0])
            if msg.get("response"):
                await self.send({"id": msg.get("id"), "type": "ack"})

    async def push(self):
        if self.kind is None:
            return
        t = now_ms()
        if {"/spotMarket/tradeOrders", "/spotMarket/tradeOrdersV2"} & self.topics:
            await self.send({"type": "message", "topic": "/spotMarket/tradeOrders", "subject": "orderChange",
                             "channelType": "private", "data": {
                                 "symbol": "BTC-USDT", "orderType": "limit", "side": "buy", "orderId": "mock-777",
                                 "type": "open", "orderTime": t * 1000000, "size": "0.01", "filledSize": "0",
                                 "price": "30000", "clientOid": "pushed-by-mock", "remainSize": "0.01",
                                 "status": "open", "ts": t * 1000000}})
        if self.kind == "futures" and "/contractMarket/tradeOrders" in self.topics:
            await self.send({"type": "message", "topic": "/contractMarket/tradeOrders", "subject": "orderChange",
                             "channelType": "private", "data": {
                                 "symbol": "XBTUSDTM", "orderType": "limit", "side": "buy", "orderId": "mock-888",
                                 "type": "open", "orderTime": t * 1000000, "size": "1", "filledSize": "0",
                                 "canceledSize": "0", "price": "30000", "clientOid": "pushed-by-mock",
                                 "remainSize": "1", "status": "open", "liquidity": "maker", "ts": t * 1000000}})
        if self.kind == "futures" and "/contractAccount/wallet" in self.topics:
            await self.send({"type": "message", "topic": "/contractAccount/wallet",
                             "subject": "availableBalance.change", "channelType": "private", "data": {
                                 "currency": "USDT", "holdBalance": "0", "availableBalance": "4321.5",
                                 "timestamp": str(t)}})
        if "/account/balance" in self.topics:
            await self.send({"type": "message", "topic": "/account/balance", "subject": "account.balance",
                             "channelType": "private", "data": {
                                 "accountId": "a1", "available": "1234.5", "availableChange": "0",
                                 "currency": "USDT", "hold": "0", "holdChange": "0", "relationContext": {},
                                 "relationEvent": "trade.hold", "relationEventId": "e1", "time": str(t),
                                 "total": "1234.5"}})

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


HANDLERS = {"kucoin": Kucoin, "bitmex": Bitmex, "binance": Binance, "bybit": Bybit, "okx": Okx, "deribit": Deribit, "bitget": Bitget,
            "gate": Gate, "kraken": Kraken, "coinbase": Coinbase}


async def serve_socket(ws, exchange):
    path = ws.request.path
    cls = HANDLERS[exchange]
    if exchange == "binance" and not path.startswith("/ws-"):
        cls = BinanceStream
    handler = cls(ws, path)
    record(exchange=exchange, path=path, op="connect", frame="", verified=True,
           why=",".join(f"{k}={v}" for k, v in ws.request.headers.raw_items()
                        if k.lower() == "sec-websocket-extensions"))
    if hasattr(handler, "welcome"):
        await handler.welcome()

    async def pusher():
        while True:
            await asyncio.sleep(0.3)
            try:
                await handler.push()
            except websockets.ConnectionClosed:
                return

    async def pinger():
        # a protocol ping from the exchange: keyward must answer it itself
        try:
            waiter = await ws.ping(b"mock")
            await asyncio.wait_for(waiter, 5)
            record(exchange=exchange, path=path, op="pong", frame="", verified=True, why="")
        except asyncio.TimeoutError:
            record(exchange=exchange, path=path, op="pong", frame="", verified=False, why="no pong in 5 s")
        except websockets.ConnectionClosed:
            pass  # the socket closed first

    task = asyncio.create_task(pusher())
    pinging = asyncio.create_task(pinger())
    try:
        async for message in ws:
            if isinstance(message, bytes):
                record(exchange=exchange, path=path, op="binary", frame="", verified=False, why="binary")
                continue
            try:
                msg = strict_json(message) if message.strip() != "ping" else message
            except ValueError as e:
                record(exchange=exchange, path=path, op="unparseable", frame=message, verified=False, why=str(e))
                continue
            await handler.on_frame(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        task.cancel()
        pinging.cancel()
        record(exchange=exchange, path=path, op="closed", frame="", verified=True,
               why=str(ws.close_code))


async def main_async(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    async with websockets.serve(lambda ws: serve_socket(ws, args.exchange), args.host, args.port,
                                ssl=ctx, compression=None, ping_interval=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening on {port}", flush=True)
        await asyncio.Future()


def main(argv=None):
    global RECORD
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exchange", default="binance", choices=sorted(HANDLERS))
    ap.add_argument("--credentials", required=True)
    ap.add_argument("--record")
    args = ap.parse_args(argv)
    with open(args.credentials) as fh:
        CREDENTIALS.update(json.load(fh))
    RECORD = args.record
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
