"""Mock of Deribit's REST API (JSON-RPC over HTTP, /api/v2/{public,private}/<method>).

Verification, written from Deribit's documentation (https://docs.deribit.com/articles/authentication,
"deri-hmac-sha256"), independently of keyward's signer:

* /api/v2/public/* needs nothing;
* /api/v2/private/* needs `Authorization: deri-hmac-sha256 id=<client id>,ts=<ms>,sig=<hex>,nonce=<n>`
  with sig = hex HMAC-SHA256(client_secret, ts "\n" nonce "\n" METHOD "\n" URI "\n" body "\n"),
  URI = the raw request target (path and `?query` as received), body = the raw bytes received;
  ts within 60 s of the mock's clock; a (id, ts, nonce) triple is accepted once.
* a POST JSON-RPC body's `method`, if present, must name the path's method (what Deribit
  executes is then unambiguous); parameters come from the query or the body's `params`.

--credentials: {"<client id>": "<client secret>"}.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time

from . import MockError, credential, now_ms

WINDOW_MS = 60_000


def rpc_error(status, code, message):
    return MockError(status, {"jsonrpc": "2.0", "error": {"code": code, "message": message},
                              "testnet": True}, message)


def ok(result):
    us = int(time.time() * 1_000_000)
    return 200, {"jsonrpc": "2.0", "result": result, "usIn": us, "usOut": us + 50, "usDiff": 50, "testnet": True}


INSTRUMENTS = [
    {"tick_size": 0.5, "taker_commission": 0.0005, "settlement_period": "perpetual", "settlement_currency": "BTC",
     "quote_currency": "USD", "min_trade_amount": 10.0, "max_liquidation_commission": 0.0075, "max_leverage": 50,
     "maker_commission": 0.0, "kind": "future", "is_active": True, "instrument_name": "BTC-PERPETUAL",
     "future_type": "reversed", "expiration_timestamp": 32503708800000, "creation_timestamp": 1534242287000,
     "counter_currency": "USD", "contract_size": 10.0, "block_trade_commission": 0.0001, "base_currency": "BTC",
     "price_index": "btc_usd", "instrument_id": 124972},
    {"tick_size": 0.05, "taker_commission": 0.0005, "settlement_period": "perpetual", "settlement_currency": "ETH",
     "quote_currency": "USD", "min_trade_amount": 1.0, "max_liquidation_commission": 0.0075, "max_leverage": 50,
     "maker_commission": 0.0, "kind": "future", "is_active": True, "instrument_name": "ETH-PERPETUAL",
     "future_type": "reversed", "expiration_timestamp": 32503708800000, "creation_timestamp": 1534242287000,
     "counter_currency": "USD", "contract_size": 1.0, "block_trade_commission": 0.0001, "base_currency": "ETH",
     "price_index": "eth_usd", "instrument_id": 124973},
]

CURRENCIES = [
    {"withdrawal_priorities": [], "withdrawal_fee": 0.0001, "min_withdrawal_fee": 0.0001,
     "min_confirmations": 1, "fee_precision": 4, "currency_long": "Bitcoin", "currency": "BTC", "coin_type": "BITCOIN"},
    {"withdrawal_priorities": [], "withdrawal_fee": 0.0006, "min_withdrawal_fee": 0.0006,
     "min_confirmations": 1, "fee_precision": 4, "currency_long": "Ethereum", "currency": "ETH", "coin_type": "ETHER"},
]


def summary(currency, equity):
    return {"currency": currency, "balance": equity, "equity": equity, "available_funds": equity,
            "maintenance_margin": "0", "initial_margin": "0", "margin_balance": equity}


class Mock:
    def __init__(self, credentials):
        self.credentials = credentials
        self.seen = set()
        self.orders = {}
        self.ids = itertools.count(1000)
        self.lock = threading.Lock()

    def verify(self, req):
        auth = req.headers.get("authorization", "")
        scheme, _, rest = auth.partition(" ")
        if scheme != "deri-hmac-sha256":
            raise rpc_error(400, 13004, "invalid_credentials")
        fields = {}
        for item in rest.split(","):
            k, sep, v = item.partition("=")
            if not sep or k in fields:
                raise rpc_error(400, 13004, "invalid_credentials")
            fields[k] = v
        client_id, ts, sig, nonce = (fields.get(k) for k in ("id", "ts", "sig", "nonce"))
        if not all((client_id, ts, sig, nonce)):
            raise rpc_error(400, 13004, "invalid_credentials")
        req.rec["api_key"] = client_id
        secret, _ = credential(self.credentials, client_id)
        if secret is None:
            raise rpc_error(400, 13004, "invalid_credentials")
        if not ts.isdigit() or abs(now_ms() - int(ts)) > WINDOW_MS:
            raise rpc_error(400, 13009, "timestamp out of window")
        uri = req.path + ("?" + req.query if req.query else "")
        payload = f"{ts}\n{nonce}\n{req.method}\n{uri}\n".encode() + req.body + b"\n"
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sig):
            raise rpc_error(400, 13009, "invalid_signature")
        with self.lock:
            if (client_id, ts, nonce) in self.seen:
                raise rpc_error(400, 13009, "nonce reused")
            self.seen.add((client_id, ts, nonce))

    def handle(self, req):
        parts = req.path.split("/")
        if len(parts) != 5 or parts[1:3] != ["api", "v2"] or parts[3] not in ("public", "private"):
            raise rpc_error(404, -32601, "Method not found")
        scope, name = parts[3], parts[4]
        params = req.query_params()
        if req.body:
            if req.method != "POST" or "application/json" not in req.headers.get("content-type", ""):
                raise rpc_error(400, -32600, "body must be JSON-RPC over POST")
            body = json.loads(req.text)
            if not isinstance(body, dict):
                raise rpc_error(400, -32600, "batch requests are not supported")
            if "method" in body and body["method"] != f"{scope}/{name}":
                raise rpc_error(400, -32600, "method in body differs from the path")
            params.update(body.get("params") or {})
        req.rec["params"] = params
        if scope == "public":
            req.rec["auth"] = "public"
            req.rec["verified"] = True
            return self.public(name, params)
        self.verify(req)
        req.rec["auth"] = "signed"
        req.rec["verified"] = True
        return self.private(name, params)

    def public(self, name, params):
        if name == "get_instruments":
            cur = params.get("currency", "any")
            return ok([i for i in INSTRUMENTS if cur in ("any", i["base_currency"])])
        if name == "get_currencies":
            return ok(CURRENCIES)
        if name == "get_time":
            return ok(now_ms())
        if name == "test":
            return ok({"version": "1.2.26"})
        raise rpc_error(400, -32601, "Method not found")

    def private(self, name, params):
        if name == "get_account_summaries":
            return ok({"id": 1, "email": "bot@example.com", "summaries": [
                summary("BTC", "1.25"), summary("ETH", "20.5")]})
        if name == "get_account_summary":
            return ok(summary(params.get("currency", "BTC"), "1.25"))
        if name == "list_api_keys":
            return ok([{"id": 1, "client_id": "x", "max_scope": "account:read trade:read_write wallet:none",
                        "enabled": True}])
        if name in ("buy", "sell"):
            for field in ("instrument_name", "amount"):
                if field not in params:
                    raise rpc_error(400, -32602, f"Invalid params: {field} missing")
            oid = f"{params['instrument_name'].split('-')[0]}-{next(self.ids)}"
            now = now_ms()
            order = {"time_in_force": "good_til_cancelled", "reduce_only": False, "profit_loss": 0,
                     "price": float(params.get("price", 0)), "post_only": False,
                     "order_type": params.get("type", "limit"), "order_state": "open", "order_id": oid,
                     "max_show": float(params["amount"]), "last_update_timestamp": now,
                     "label": params.get("label", ""), "is_liquidation": False,
                     "instrument_name": params["instrument_name"], "filled_amount": 0, "direction": name,
                     "creation_timestamp": now, "commission": 0, "average_price": 0, "api": True,
                     "amount": float(params["amount"])}
            with self.lock:
                self.orders[oid] = order
            return ok({"order": order, "trades": []})
        if name in ("edit", "edit_by_label"):
            # private/edit (by order_id) and private/edit_by_label (label + instrument_name): a
            # new amount and/or price for an open order.
            with self.lock:
                if name == "edit":
                    order = self.orders.get(params.get("order_id"))
                else:
                    order = next((o for o in self.orders.values() if o["label"] == params.get("label")
                                  and o["instrument_name"] == params.get("instrument_name")
                                  and o["order_state"] == "open"), None)
                if order is None or order["order_state"] != "open":
                    raise rpc_error(400, 11044, "not_open_order")
                if "amount" not in params and "contracts" not in params:
                    raise rpc_error(400, -32602, "Invalid params: amount missing")
                if "amount" in params:
                    order["amount"] = order["max_show"] = float(params["amount"])
                if "price" in params:
                    order["price"] = float(params["price"])
                order["last_update_timestamp"] = now_ms()
                out = dict(order)
            return ok({"order": out, "trades": []})
        if name == "cancel":
            with self.lock:
                order = self.orders.get(params.get("order_id"))
                if order is None or order["order_state"] != "open":
                    raise rpc_error(400, 11044, "not_open_order")
                order["order_state"] = "cancelled"
            return ok(order)
        raise rpc_error(400, -32601, "Method not found")
