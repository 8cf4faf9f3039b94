#!/usr/bin/env python3
"""A local mock of the Binance REST API over TLS, for keyward's tests and demo.

Python standard library only. It verifies every request the way Binance does and
records each one it receives as a JSON line, so tests can prove both that what
keyward forwards is correctly signed and that what keyward refuses never arrives.

    mock_exchange.py --cert server.pem --key server.key --port 0 \
        --credentials creds.json --record requests.jsonl

`--credentials` is a JSON object {"<api key>": "<secret>", ...}; for an RSA or Ed25519 API
key the value is {"public_key_pem": "-----BEGIN PUBLIC KEY-----..."} (what Binance is given
when the key is registered). Prints
`listening on PORT` on stdout (flushed) once the socket accepts connections.

Verification (as Binance documents it):
  * public market-data endpoints (ping, time, exchangeInfo, depth, trades, klines,
    ticker*, avgPrice, ...) need nothing;
  * key-only endpoints (listen keys, historicalTrades) need a known X-MBX-APIKEY;
  * everything else is SIGNED: known X-MBX-APIKEY; payload = raw query string
    followed by raw body, no separator, each with its `signature` parameter removed;
    signature = hex HMAC-SHA256(secret, payload), or for RSA / Ed25519 keys the
    percent-decoded signature is base64 of RSASSA-PKCS1-v1_5-SHA256 / Ed25519 over payload,
    verified with the registered public key (`cryptography`); `timestamp` within `recvWindow`
    (default 5000, at most 60000) of the mock's clock.
  * a parameter in both query string and body: the query string's value is used.

Record line fields: time, method, path, query, headers (lower-case names), body,
verified (bool), auth ("public" | "key" | "signed"), api_key, error (why not
verified, or null), params (merged, query wins), status (HTTP status answered), and for
signed requests key_type ("hmac" | "rsa" | "ed25519").
"""

import argparse
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import secrets
import socket
import ssl
import string
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mocks import permissions  # noqa: E402

MAX_BODY = 1 << 20  # 1 MiB

# --------------------------------------------------------------------------------------
# Endpoint classification
# --------------------------------------------------------------------------------------

_PUBLIC_NAMES = (
    r"ping|time|exchangeInfo|depth|trades|aggTrades|klines|uiKlines|continuousKlines|"
    r"indexPriceKlines|markPriceKlines|premiumIndexKlines|premiumIndex|fundingRate|fundingInfo|"
    r"avgPrice|ticker(?:/[A-Za-z0-9]+)?|ticker24hr|openInterest|constituents|assetIndex|indexInfo|"
    r"lvtKlines|mark|index|exerciseHistory"
)
PUBLIC_RE = re.compile(r"^/(?:api|fapi|dapi|eapi)/v[0-9]+/(?:" + _PUBLIC_NAMES + r")$")
PUBLIC_EXTRA = {"/sapi/v1/system/status"}
KEY_ONLY_RE = re.compile(
    r"^/(?:api/v3/userDataStream|sapi/v1/userDataStream(?:/isolated)?|"
    r"fapi/v1/listenKey|dapi/v1/listenKey|eapi/v1/listenKey|papi/v1/listenKey|"
    r"(?:api|fapi|dapi)/v[0-9]+/historicalTrades)$"
)


# Test switch: a request whose parameters carry `mock429r<N>` (or `mock418r<N>`) anywhere is
# answered as Binance answers a rate-limit breach (429) or an IP ban (418), with
# `Retry-After: N`, before any other check.
RATE_SWITCH = re.compile(r"mock(429|418)r(\d+)")


def rate_refusal(params_text):
    m = RATE_SWITCH.search(params_text)
    if m is None:
        return None
    status = int(m.group(1))
    msg = ("Too many requests; current limit of IP is 6000 requests per minute."
           if status == 429 else "Way too many requests; IP banned until later.")
    return status, {"code": -1003, "msg": msg}, m.group(2)


def classify(path):
    if PUBLIC_RE.match(path) or path in PUBLIC_EXTRA:
        return "public"
    if KEY_ONLY_RE.match(path):
        return "key"
    return "signed"


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class BinanceError(Exception):
    def __init__(self, status, code, msg):
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg

    def body(self):
        return {"code": self.code, "msg": self.msg}


def err_bad_signature():
    return BinanceError(400, -1022, "Signature for this request is not valid.")


def err_unknown_key():
    return BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")


def err_missing_key():
    return BinanceError(401, -2014, "API-key format invalid.")


def err_mandatory(name):
    return BinanceError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


# --------------------------------------------------------------------------------------
# Parameters and signatures
# --------------------------------------------------------------------------------------


def split_params(raw):
    """Split a raw x-www-form-urlencoded string into (raw_key, raw_component) pairs."""
    if not raw:
        return []
    out = []
    for comp in raw.split("&"):
        if comp == "":
            continue
        key = comp.split("=", 1)[0]
        out.append((urllib.parse.unquote_plus(key), comp))
    return out


def parse_params(raw, where):
    """Decode a form string into an ordered dict; duplicate keys are an error (like Binance)."""
    result = {}
    for comp in raw.split("&") if raw else []:
        if comp == "":
            continue
        k, _, v = comp.partition("=")
        k = urllib.parse.unquote_plus(k)
        v = urllib.parse.unquote_plus(v)
        if k in result:
            raise BinanceError(400, -1101, f"Duplicate values for a parameter detected ({where}: {k}).")
        result[k] = v
    return result


def strip_signature(raw):
    """Remove every `signature=` component from a raw form string, keeping other bytes."""
    sigs = []
    kept = []
    for key, comp in split_params(raw):
        if key == "signature":
            sigs.append(urllib.parse.unquote_plus(comp.split("=", 1)[1] if "=" in comp else ""))
        else:
            kept.append(comp)
    return "&".join(kept), sigs


def binance_signature(secret, payload):
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def load_public_key(pem):
    """An RSA or Ed25519 public key from PEM (imported lazily: HMAC-only runs need no extras)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise ValueError("Binance API keys are RSA or Ed25519")
    return key


def verify_asymmetric(public_key, payload, sig):
    """Binance RSA / Ed25519 keys: `sig` (already percent-decoded) is base64 of the signature
    over the payload; case-sensitive, so no lower-casing here."""
    import base64
    import binascii

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(raw, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            public_key.verify(raw, payload.encode())
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------------------
# Market data
# --------------------------------------------------------------------------------------

RATE_LIMITS_SPOT = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]

PRICES = {"BTCUSDT": "30150.12000000", "ETHUSDT": "1890.55000000"}


def spot_symbol(symbol, base, quote, tick, step, min_qty, max_qty):
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": max_qty, "stepSize": step},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "120.00000000", "stepSize": "0.00000000"},
            {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
             "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2",
             "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def spot_exchange_info():
    return {
        "timezone": "UTC",
        "serverTime": now_ms(),
        "rateLimits": RATE_LIMITS_SPOT,
        "exchangeFilters": [],
        "symbols": [
            spot_symbol("BTCUSDT", "BTC", "USDT", "0.01000000", "0.00001000", "0.00001000", "9000.00000000"),
            spot_symbol("ETHUSDT", "ETH", "USDT", "0.01000000", "0.00010000", "0.00010000", "9000.00000000"),
        ],
    }


def futures_symbol_usdm(symbol, base):
    return {
        "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": base, "quoteAsset": "USDT", "marginAsset": "USDT",
        "pricePrecision": 2, "quantityPrecision": 3, "baseAssetPrecision": 8, "quotePrecision": 8,
        "underlyingType": "COIN", "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
        "liquidationFee": "0.012500", "marketTakeBound": "0.05",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.10", "maxPrice": "4529764", "tickSize": "0.10"},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "120", "stepSize": "0.001"},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def fapi_exchange_info():
    return {
        "timezone": "UTC", "serverTime": now_ms(), "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [futures_symbol_usdm("BTCUSDT", "BTC"), futures_symbol_usdm("ETHUSDT", "ETH")],
    }


def dapi_exchange_info():
    return {
        "timezone": "UTC", "serverTime": now_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "symbols": [{
            "symbol": "BTCUSD_PERP", "pair": "BTCUSD", "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000, "onboardDate": 1597042800000, "contractStatus": "TRADING",
            "contractSize": 100, "marginAsset": "BTC", "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": "BTC", "quoteAsset": "USD",
            "pricePrecision": 1, "quantityPrecision": 0, "baseAssetPrecision": 8, "quotePrecision": 8,
            "equalQtyPrecision": 4, "triggerProtect": "0.0500", "liquidationFee": "0.015000",
            "marketTakeBound": "0.05",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "1000", "maxPrice": "4520958", "tickSize": "0.1"},
                {"filterType": "LOT_SIZE", "minQty": "1", "maxQty": "1000000", "stepSize": "1"},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "1", "maxQty": "60", "stepSize": "1"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }],
    }


def coin_config(coin, name, networks):
    return {
        "coin": coin, "name": name, "depositAllEnable": True, "withdrawAllEnable": True,
        "free": "0", "locked": "0", "freeze": "0", "withdrawing": "0", "ipoing": "0", "ipoable": "0",
        "storage": "0", "isLegalMoney": False, "trading": True,
        "networkList": [
            {
                "network": net, "coin": coin, "withdrawIntegerMultiple": "0.00000001",
                "isDefault": i == 0, "depositEnable": True, "withdrawEnable": True,
                "depositDesc": "", "withdrawDesc": "", "specialTips": "", "specialWithdrawTips": "",
                "name": net_name, "resetAddressStatus": False,
                "addressRegex": "^(0x)[0-9A-Fa-f]{40}$" if net in ("ETH", "BSC") else "^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,62}$",
                "memoRegex": "", "withdrawFee": fee, "withdrawMin": wmin, "withdrawMax": "9999999999.99999999",
                "withdrawInternalMin": "0.00000001", "depositDust": "0.00000001", "minConfirm": 1,
                "unLockConfirm": 2, "sameAddress": False, "estimatedArrivalTime": 5,
                "busy": False, "contractAddressUrl": "", "contractAddress": "",
            }
            for i, (net, net_name, fee, wmin) in enumerate(networks)
        ],
    }


def capital_config():
    return [
        coin_config("BTC", "Bitcoin", [("BTC", "Bitcoin", "0.0002", "0.001")]),
        coin_config("ETH", "Ethereum", [("ETH", "Ethereum (ERC20)", "0.0012", "0.005")]),
        coin_config("USDT", "TetherUS", [("ETH", "Ethereum (ERC20)", "4.5", "10"),
                                         ("BSC", "BNB Smart Chain (BEP20)", "0.8", "10")]),
    ]


def margin_all_pairs():
    return [
        {"id": "351637150141315861", "symbol": "BTCUSDT", "base": "BTC", "quote": "USDT",
         "isMarginTrade": True, "isBuyAllowed": True, "isSellAllowed": True},
        {"id": "351637150141315862", "symbol": "ETHUSDT", "base": "ETH", "quote": "USDT",
         "isMarginTrade": True, "isBuyAllowed": True, "isSellAllowed": True},
    ]


def isolated_all_pairs():
    return [
        {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT",
         "isMarginTrade": True, "isBuyAllowed": True, "isSellAllowed": True},
    ]


def account_info():
    return {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": True, "canWithdraw": False, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False,
        "updateTime": now_ms(), "accountType": "SPOT",
        "balances": [
            {"asset": "BTC", "free": "1.25000000", "locked": "0.00000000"},
            {"asset": "ETH", "free": "10.00000000", "locked": "0.50000000"},
            {"asset": "USDT", "free": "25000.00000000", "locked": "300.00000000"},
        ],
        "permissions": ["SPOT"], "uid": 354937868,
    }


# --clock-skew-ms: this mock's clock runs that far ahead of the host's (negative: behind), for
# tests of `keyward doctor`'s clock check (Binance: its time endpoint and timestamp checks).
CLOCK_SKEW_MS = 0


def now_ms():
    return int(time.time() * 1000) + CLOCK_SKEW_MS


# --------------------------------------------------------------------------------------
# The exchange state (orders)
# --------------------------------------------------------------------------------------


def listen_key(credentials):
    """The (real) listen key this mock issues, derived from the first credential's API key."""
    key = sorted(credentials)[0]
    return "REALLK" + hashlib.sha256(("listen-key" + key).encode()).hexdigest()[:54]


class Exchange:
    def __init__(self, credentials):
        # api key -> HMAC secret (str) or a parsed RSA / Ed25519 public key
        self.credentials = {
            k: (v if isinstance(v, str) else load_public_key(v["public_key_pem"]))
            for k, v in credentials.items()
        }
        self.lock = threading.Lock()
        self.orders = {}  # orderId -> order dict
        self.next_id = itertools.count(28457)
        self.futures = FuturesBook()

    # --- orders ---
    def new_order(self, p):
        for name in ("symbol", "side", "type"):
            if not p.get(name):
                raise err_mandatory(name)
        symbol = p["symbol"]
        if symbol not in PRICES:
            raise BinanceError(400, -1121, "Invalid symbol.")
        side = p["side"].upper()
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1117, "Invalid side.")
        otype = p["type"].upper()
        if otype in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT") and not p.get("price"):
            raise err_mandatory("price")
        if otype in ("LIMIT",) and not p.get("timeInForce"):
            raise err_mandatory("timeInForce")
        if not p.get("quantity") and not p.get("quoteOrderQty"):
            raise err_mandatory("quantity")
        qty = p.get("quantity") or "0"
        price = p.get("price") or "0"
        try:
            float(qty), float(price)
        except ValueError:
            raise BinanceError(400, -1100, "Illegal characters found in a parameter.")
        if (p.get("newClientOrderId") or "").startswith("slow"):
            # Tests of a bot that hangs up while keyward waits for the exchange.
            time.sleep(1.5)
        ts = now_ms()
        with self.lock:
            oid = next(self.next_id)
            order = {
                "symbol": symbol,
                "orderId": oid,
                "orderListId": -1,
                "clientOrderId": p.get("newClientOrderId") or random_client_id(),
                "transactTime": ts,
                "price": price,
                "origQty": qty,
                "executedQty": "0.00000000",
                "origQuoteOrderQty": p.get("quoteOrderQty", "0.00000000"),
                "cummulativeQuoteQty": "0.00000000",
                "status": "NEW",
                "timeInForce": p.get("timeInForce", "GTC"),
                "type": otype,
                "side": side,
                "workingTime": ts,
                "selfTradePreventionMode": p.get("selfTradePreventionMode", "EXPIRE_MAKER"),
            }
            self.orders[oid] = order
            resp = dict(order)
        resp["fills"] = []
        return resp

    def find_order(self, p):
        if not p.get("symbol"):
            raise err_mandatory("symbol")
        with self.lock:
            order = None
            if p.get("orderId"):
                try:
                    order = self.orders.get(int(p["orderId"]))
                except ValueError:
                    raise BinanceError(400, -1100, "Illegal characters found in parameter 'orderId'.")
            elif p.get("origClientOrderId"):
                for o in self.orders.values():
                    if o["clientOrderId"] == p["origClientOrderId"]:
                        order = o
                        break
            else:
                raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
            if order is None or order["symbol"] != p["symbol"]:
                return None
            return order

    def cancel_order(self, p):
        order = self.find_order(p)
        if order is None or order["status"] != "NEW":
            raise BinanceError(400, -2011, "Unknown order sent.")
        with self.lock:
            order["status"] = "CANCELED"
            resp = {
                "symbol": order["symbol"],
                "origClientOrderId": order["clientOrderId"],
                "orderId": order["orderId"],
                "orderListId": -1,
                "clientOrderId": p.get("newClientOrderId") or random_client_id(),
                "transactTime": now_ms(),
                "price": order["price"],
                "origQty": order["origQty"],
                "executedQty": order["executedQty"],
                "origQuoteOrderQty": order["origQuoteOrderQty"],
                "cummulativeQuoteQty": order["cummulativeQuoteQty"],
                "status": "CANCELED",
                "timeInForce": order["timeInForce"],
                "type": order["type"],
                "side": order["side"],
                "selfTradePreventionMode": order["selfTradePreventionMode"],
            }
        return resp

    def query_order(self, p):
        order = self.find_order(p)
        if order is None:
            raise BinanceError(400, -2013, "Order does not exist.")
        with self.lock:
            out = dict(order)
        out.update({"stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": out["transactTime"],
                    "updateTime": out["transactTime"], "isWorking": True})
        return out

    def open_orders(self, p):
        with self.lock:
            res = [dict(o) for o in self.orders.values()
                   if o["status"] == "NEW" and (not p.get("symbol") or o["symbol"] == p["symbol"])]
        for o in res:
            o.update({"stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": o["transactTime"],
                      "updateTime": o["transactTime"], "isWorking": True})
        return res


    def cancel_replace(self, p):
        """POST /api/v3/order/cancelReplace ("Cancel an Existing Order and Send a New Order"):
        cancels `cancelOrderId` / `cancelOrigClientOrderId` on `symbol`, then places the new
        order of the same request. STOP_ON_FAILURE: a failed cancel places nothing (-2022)."""
        mode = p.get("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise err_mandatory("cancelReplaceMode")
        lookup = {"symbol": p.get("symbol"), "orderId": p.get("cancelOrderId"),
                  "origClientOrderId": p.get("cancelOrigClientOrderId")}
        lookup = {k: v for k, v in lookup.items() if v}
        try:
            cancelled = self.cancel_order(lookup)
        except BinanceError as e:
            if mode == "STOP_ON_FAILURE":
                raise BinanceError(400, -2022, "Order cancel-replace failed.")
            cancelled = {"code": e.code, "msg": e.msg}
        new = self.new_order(p)
        return {"cancelResult": "SUCCESS" if "orderId" in cancelled else "FAILURE",
                "newOrderResult": "SUCCESS", "cancelResponse": cancelled, "newOrderResponse": new}


class FuturesBook:
    """USD-M futures orders (/fapi): Binance's futures order shape, its own order ids."""

    def __init__(self):
        self.lock = threading.Lock()
        self.orders = {}
        self.next_id = itertools.count(4036157423)

    @staticmethod
    def _public(order):
        return dict(order)

    def new_order(self, p):
        for name in ("symbol", "side", "type"):
            if not p.get(name):
                raise err_mandatory(name)
        if p["symbol"] not in PRICES:
            raise BinanceError(400, -1121, "Invalid symbol.")
        side = p["side"].upper()
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1117, "Invalid side.")
        otype = p["type"].upper()
        if otype not in ("LIMIT", "MARKET"):
            raise BinanceError(400, -1116, "Invalid orderType.")
        if otype == "LIMIT":
            for name in ("price", "timeInForce"):
                if not p.get(name):
                    raise err_mandatory(name)
        if not p.get("quantity"):
            raise err_mandatory("quantity")
        try:
            float(p["quantity"]), float(p.get("price") or "0")
        except ValueError:
            raise BinanceError(400, -1100, "Illegal characters found in a parameter.")
        position_side = (p.get("positionSide") or "BOTH").upper()
        if position_side not in ("BOTH", "LONG", "SHORT"):
            raise BinanceError(400, -4061, "Order's position side does not match user's setting.")
        ts = now_ms()
        with self.lock:
            oid = next(self.next_id)
            order = {
                "orderId": oid, "symbol": p["symbol"], "status": "NEW",
                "clientOrderId": p.get("newClientOrderId") or random_client_id(),
                "price": p.get("price", "0"), "avgPrice": "0.00", "origQty": p["quantity"],
                "executedQty": "0", "cumQty": "0", "cumQuote": "0.00000",
                "timeInForce": p.get("timeInForce", "GTC"), "type": otype,
                "reduceOnly": p.get("reduceOnly", "false") == "true", "closePosition": False,
                "side": side, "positionSide": position_side, "stopPrice": "0",
                "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": otype,
                "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER",
                "goodTillDate": 0, "updateTime": ts,
            }
            self.orders[oid] = order
            return dict(order)

    def _find(self, p):
        if not p.get("symbol"):
            raise err_mandatory("symbol")
        with self.lock:
            if p.get("orderId"):
                try:
                    order = self.orders.get(int(p["orderId"]))
                except ValueError:
                    raise BinanceError(400, -1100, "Illegal characters found in parameter 'orderId'.")
            elif p.get("origClientOrderId"):
                order = next((o for o in self.orders.values()
                              if o["clientOrderId"] == p["origClientOrderId"]), None)
            else:
                raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
            if order is None or order["symbol"] != p["symbol"]:
                return None
            return order

    def cancel_order(self, p):
        order = self._find(p)
        if order is None or order["status"] != "NEW":
            raise BinanceError(400, -2011, "Unknown order sent.")
        with self.lock:
            order["status"] = "CANCELED"
            order["updateTime"] = now_ms()
            return dict(order)

    def query_order(self, p):
        order = self._find(p)
        if order is None:
            raise BinanceError(400, -2013, "Order does not exist.")
        with self.lock:
            out = dict(order)
        out["time"] = out["updateTime"]
        return out

    def open_orders(self, p):
        with self.lock:
            return [dict(o, time=o["updateTime"]) for o in self.orders.values()
                    if o.get("status") == "NEW" and (not p.get("symbol") or o["symbol"] == p["symbol"])]


    def modify_order(self, p):
        """PUT /fapi/v1/order ("Modify Order"): a resting LIMIT order gets a new quantity and
        price (both required), keeping its id."""
        for name in ("side", "quantity", "price"):
            if not p.get(name):
                raise err_mandatory(name)
        order = self._find(p)
        if order is None or order["status"] != "NEW":
            raise BinanceError(400, -2013, "Order does not exist.")
        try:
            float(p["quantity"]), float(p["price"])
        except ValueError:
            raise BinanceError(400, -1100, "Illegal characters found in a parameter.")
        with self.lock:
            if order["type"] != "LIMIT" or order["side"] != p["side"].upper():
                raise BinanceError(400, -4028, "Only limit orders can be modified, on their own side.")
            order.update(origQty=p["quantity"], price=p["price"], updateTime=now_ms())
            return dict(order)

    def batch(self, one, p, most=5):
        """`batchOrders` ("Place / Modify Multiple Orders"): a JSON array of at most 5 orders, one
        answer each (the order, or its own {"code", "msg"})."""
        try:
            items = json.loads(p.get("batchOrders") or "")
        except ValueError:
            raise BinanceError(400, -1130, "Data sent for parameter 'batchOrders' is not valid.")
        if not isinstance(items, list) or not items or len(items) > most:
            raise BinanceError(400, -1130, "Data sent for parameter 'batchOrders' is not valid.")
        out = []
        for item in items:
            if not isinstance(item, dict):
                raise BinanceError(400, -1130, "Data sent for parameter 'batchOrders' is not valid.")
            try:
                out.append(one({k: str(v) for k, v in item.items()}))
            except BinanceError as e:
                out.append({"code": e.code, "msg": e.msg})
        return out


    # Conditional ("algo") orders: POST/DELETE /fapi/v1/algoOrder since 2025-12.
    def new_algo_order(self, p):
        for name in ("symbol", "side", "type", "algoType", "triggerPrice"):
            if not p.get(name):
                raise err_mandatory(name)
        if p["algoType"] != "CONDITIONAL":
            raise BinanceError(400, -1116, "Invalid algoType.")
        if p["symbol"] not in PRICES:
            raise BinanceError(400, -1121, "Invalid symbol.")
        with self.lock:
            aid = next(self.next_id)
            order = {
                "algoId": aid, "clientAlgoId": p.get("clientAlgoId") or random_client_id(),
                "algoType": "CONDITIONAL", "orderType": p["type"].upper(), "symbol": p["symbol"],
                "side": p["side"].upper(), "positionSide": p.get("positionSide", "BOTH"),
                "timeInForce": p.get("timeInForce", "GTC"), "quantity": p.get("quantity", "0"),
                "algoStatus": "NEW", "triggerPrice": p["triggerPrice"], "price": p.get("price", "0"),
                "workingType": p.get("workingType", "CONTRACT_PRICE"), "reduceOnly": False,
                "closePosition": p.get("closePosition", "false") == "true",
                "createTime": now_ms(), "updateTime": now_ms(),
            }
            self.orders[("algo", aid)] = order
            return dict(order)

    def cancel_algo_order(self, p):
        with self.lock:
            try:
                order = self.orders.get(("algo", int(p.get("algoId", ""))))
            except ValueError:
                order = None
            if order is None or order["algoStatus"] != "NEW":
                raise BinanceError(400, -2011, "Unknown order sent.")
            order["algoStatus"] = "CANCELED"
            return {"algoId": order["algoId"], "clientAlgoId": order["clientAlgoId"],
                    "code": "200", "msg": "success"}


def futures_balance():
    ts = now_ms()
    return [
        {"accountAlias": "SgsR", "asset": asset, "balance": bal, "crossWalletBalance": bal,
         "crossUnPnl": "0.00000000", "availableBalance": bal, "maxWithdrawAmount": bal,
         "marginAvailable": True, "updateTime": ts}
        for asset, bal in (("USDT", "10000.00000000"), ("BNB", "0.00000000"))
    ]


def random_client_id():
    return "mock" + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(18))


# --------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------


def ticker_price(p):
    if p.get("symbol"):
        if p["symbol"] not in PRICES:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return {"symbol": p["symbol"], "price": PRICES[p["symbol"]]}
    return [{"symbol": s, "price": v} for s, v in PRICES.items()]


def route(ex, method, path, params):
    """Return (status, json) for a verified request."""
    m = method
    if path in ("/api/v3/ping", "/fapi/v1/ping", "/dapi/v1/ping"):
        return 200, {}
    if path in ("/api/v3/time", "/fapi/v1/time", "/dapi/v1/time"):
        return 200, {"serverTime": now_ms()}
    if path == "/api/v3/exchangeInfo":
        return 200, spot_exchange_info()
    if path == "/fapi/v1/exchangeInfo":
        return 200, fapi_exchange_info()
    if path == "/dapi/v1/exchangeInfo":
        return 200, dapi_exchange_info()
    if path in ("/api/v3/ticker/price", "/fapi/v1/ticker/price", "/fapi/v2/ticker/price"):
        return 200, ticker_price(params)
    if path == "/api/v3/depth":
        return 200, {"lastUpdateId": 1027024, "bids": [["30150.00000000", "0.43100000"]],
                     "asks": [["30150.13000000", "12.00000000"]]}
    if path == "/sapi/v1/system/status":
        return 200, {"status": 0, "msg": "normal"}
    if path == "/sapi/v1/capital/config/getall" and m == "GET":
        return 200, capital_config()
    if path == "/sapi/v1/margin/allPairs" and m == "GET":
        return 200, margin_all_pairs()
    if path == "/sapi/v1/margin/isolated/allPairs" and m == "GET":
        return 200, isolated_all_pairs()
    if path == "/api/v3/account" and m == "GET":
        return 200, account_info()
    if path == "/api/v3/order":
        if m == "POST":
            return 200, ex.new_order(params)
        if m == "DELETE":
            return 200, ex.cancel_order(params)
        if m == "GET":
            return 200, ex.query_order(params)
    if path == "/api/v3/order/cancelReplace" and m == "POST":
        return 200, ex.cancel_replace(params)
    if path == "/fapi/v1/batchOrders":
        if m == "POST":
            return 200, ex.futures.batch(ex.futures.new_order, params)
        if m == "PUT":
            return 200, ex.futures.batch(ex.futures.modify_order, params)
    if path == "/fapi/v1/order":
        if m == "PUT":
            return 200, ex.futures.modify_order(params)
        if m == "POST":
            return 200, ex.futures.new_order(params)
        if m == "DELETE":
            return 200, ex.futures.cancel_order(params)
        if m == "GET":
            return 200, ex.futures.query_order(params)
    if path == "/fapi/v1/algoOrder":
        if m == "POST":
            return 200, ex.futures.new_algo_order(params)
        if m == "DELETE":
            return 200, ex.futures.cancel_algo_order(params)
    if path == "/fapi/v1/openOrders" and m == "GET":
        return 200, ex.futures.open_orders(params)
    if path in ("/fapi/v2/balance", "/fapi/v3/balance") and m == "GET":
        return 200, futures_balance()
    if path == "/api/v3/order/test" and m == "POST":
        return 200, {}
    if path == "/api/v3/openOrders" and m == "GET":
        return 200, ex.open_orders(params)
    if path in ("/api/v3/userDataStream", "/sapi/v1/userDataStream", "/fapi/v1/listenKey",
                "/dapi/v1/listenKey"):
        if m in ("POST", "PUT"):
            # deterministic, so that the WebSocket mock (scripts/ws_mock.py) can check it
            return 200, {"listenKey": listen_key(ex.credentials)}
        return 200, {}
    if path == "/sapi/v1/capital/withdraw/apply" and m == "POST":
        return 200, {"id": "7213fea8e94b4a5593d507237e5a555b"}
    if path == "/sapi/v1/asset/transfer" and m == "POST":
        return 200, {"tranId": 13526853623}
    return 200, {}


# --------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------


class Recorder:
    """One JSON line per request, appended with a single write(2) on an O_APPEND descriptor, so
    a reader never sees half a line (a buffered file object may split a long line)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if path else None

    def write(self, rec):
        if self.fd is None:
            return
        data = (json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self.lock:
            while data:
                data = data[os.write(self.fd, data):]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-binance/1.0"
    sys_version = ""
    # Per-connection socket timeout: a slow client cannot hold a thread forever, and it is long
    # enough that keyward's pooled keep-alive connections are not closed under it mid-test.
    timeout = 120

    def log_message(self, fmt, *args):  # keep stderr quiet unless --verbose
        if self.server.verbose:
            sys.stderr.write("mock: %s - %s\n" % (self.address_string(), fmt % args))

    def setup(self):
        super().setup()
        # Headers and body are written separately: without TCP_NODELAY, Nagle plus the peer's
        # delayed ACK adds ~40 ms to every answer.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        # The TLS handshake happens here, in the connection's own thread.
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    # every method goes through one function
    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te and te.lower() != "identity":
            if te.lower() != "chunked":
                raise BinanceError(400, -1000, "Unsupported transfer encoding.")
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise BinanceError(413, -1000, "Body too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        n = int(cl)
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise BinanceError(413, -1000, "Body too large.")
        return self.rfile.read(n)

    def handle_any(self):
        if self.server.plugin is not None:
            return self.handle_plugin()
        ex = self.server.exchange
        started = time.time()
        target = self.path
        path, _, query = target.partition("?")
        path = path.split("#", 1)[0]
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        rec = {
            "time": now_ms(),
            "method": self.command,
            "path": path,
            "query": query,
            "headers": headers,
            "body": "",
            "verified": False,
            "auth": None,
            "api_key": None,
            "error": None,
            "params": {},
            "status": None,
        }
        try:
            try:
                raw_body = self.read_body()
            except (ValueError, TypeError):
                self.close_connection = True
                raise BinanceError(400, -1000, "Malformed request body.")
            rec["body"] = raw_body.decode("utf-8", "replace")
            refusal = rate_refusal(query + "&" + rec["body"])
            if refusal is not None:
                status, payload, self.retry_after = refusal
            else:
                status, payload = self.verify_and_route(ex, path, query, raw_body, headers, rec)
                status, payload = self.key_permissions("binance", rec, status, payload)
        except BinanceError as e:
            status, payload = e.status, e.body()
            rec["error"] = rec["error"] or e.msg
        except Exception as e:  # never crash on bad input
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, {"code": -1000, "msg": "An unknown error occurred while processing the request: %s" % e}
            rec["error"] = rec["error"] or repr(e)
        rec["status"] = status
        rec["latency_ms"] = round((time.time() - started) * 1000, 3)
        self.server.recorder.write(rec)
        self.reply(status, payload)

    def handle_plugin(self):
        """Another exchange's mock module (scripts/mocks/NAME.py) verifies and answers."""
        from mocks import MockError, Request

        started = time.time()
        path, _, query = self.path.partition("?")
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        rec = {"time": now_ms(), "method": self.command, "path": path, "query": query,
               "headers": headers, "body": "", "verified": False, "auth": None,
               "api_key": None, "error": None, "params": {}, "status": None}
        try:
            raw_body = self.read_body()
            rec["body"] = raw_body.decode("utf-8", "replace")
            try:
                status, payload = self.server.plugin.handle(
                    Request(self.command.upper(), path, query, headers, raw_body, rec))
            except MockError as e:
                if not (rec["verified"] and permissions.is_endpoint(
                        self.server.exchange_name, self.command.upper(), path)):
                    raise
                status, payload = e.status, e.payload
            status, payload = self.key_permissions(self.server.exchange_name, rec, status, payload)
        except MockError as e:
            status, payload = e.status, e.payload
            rec["error"] = rec["error"] or e.msg
        except BinanceError as e:
            status, payload = e.status, {"error": e.msg}
            rec["error"] = rec["error"] or e.msg
        except Exception as e:  # never crash on bad input
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, {"error": repr(e)}
            rec["error"] = rec["error"] or repr(e)
        rec["status"] = status
        rec["latency_ms"] = round((time.time() - started) * 1000, 3)
        self.server.recorder.write(rec)
        self.reply(status, payload)

    def key_permissions(self, exchange, rec, status, payload):
        """A verified call of the exchange's key-permission endpoint is answered as
        scripts/mocks/permissions.py says for its key (`--permissions`)."""
        if not (rec["verified"] and permissions.is_endpoint(exchange, rec["method"], rec["path"])):
            return status, payload
        mode = permissions.mode_for(self.server.permissions_file, rec["api_key"])
        rec["permissions_mode"] = mode
        return permissions.answer(exchange, mode, rec["api_key"])

    def verify_and_route(self, ex, path, query, raw_body, headers, rec):
        method = self.command.upper()
        ctype = headers.get("content-type", "")
        body_str = raw_body.decode("utf-8", "replace")
        form_body = body_str if (body_str and "json" not in ctype.lower()) else ""

        q_params = parse_params(query, "query")
        b_params = parse_params(form_body, "body") if form_body else {}
        params = dict(b_params)
        params.update(q_params)  # the query string's value wins (Binance behaviour)
        rec["params"] = params

        kind = classify(path)
        rec["auth"] = kind
        api_key = headers.get("x-mbx-apikey")
        rec["api_key"] = api_key

        if kind == "public":
            rec["verified"] = True
            return route(ex, method, path, params)

        if not api_key:
            raise err_missing_key()
        secret = ex.credentials.get(api_key)
        if secret is None:
            raise err_unknown_key()
        if kind == "key":
            rec["verified"] = True
            return route(ex, method, path, params)

        # SIGNED
        q_unsigned, q_sigs = strip_signature(query)
        b_unsigned, b_sigs = strip_signature(form_body)
        sigs = q_sigs + b_sigs
        if not sigs or not sigs[0]:
            raise err_mandatory("signature")
        if len(q_sigs) > 1 or len(b_sigs) > 1:
            raise BinanceError(400, -1101, "Duplicate values for a parameter detected.")
        sig = (q_sigs or b_sigs)[0]

        ts_raw = params.get("timestamp", "")
        if not ts_raw.isdigit():
            raise err_mandatory("timestamp")
        ts = int(ts_raw)
        rw_raw = params.get("recvWindow")
        recv_window = 5000
        if rw_raw is not None:
            try:
                recv_window = int(float(rw_raw))
            except ValueError:
                raise BinanceError(400, -1100, "Illegal characters found in parameter 'recvWindow'.")
            if recv_window > 60000 or recv_window <= 0:
                raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        server_time = now_ms()
        if ts >= server_time + 1000:
            raise BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if server_time - ts > recv_window:
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

        payload = q_unsigned + b_unsigned
        if isinstance(secret, str):
            rec["key_type"] = "hmac"
            expected = binance_signature(secret, payload)
            valid = hmac.compare_digest(expected.encode(), sig.lower().encode("utf-8", "replace"))
        else:
            rec["key_type"] = "rsa" if hasattr(secret, "key_size") else "ed25519"
            valid = verify_asymmetric(secret, payload, sig)
        if not valid:
            rec["error"] = "Signature for this request is not valid."
            raise err_bad_signature()
        rec["verified"] = True
        return route(ex, method, path, params)

    def reply(self, status, payload):
        data = json.dumps(payload, separators=(",", ":")).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-mbx-used-weight-1m", "1")
            retry_after = getattr(self, "retry_after", None)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
                self.retry_after = None
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, ssl_ctx, exchange, recorder, verbose, plugin=None):
        self.ssl_ctx = ssl_ctx
        self.exchange = exchange
        self.plugin = plugin
        self.recorder = recorder
        self.verbose = verbose
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is None:
            return sock, addr
        # Defer the handshake to the handler thread: a slow client must not block accept().
        return self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, TimeoutError, OSError)):
            if self.verbose:
                sys.stderr.write(f"mock: connection from {client_address[0]} dropped: {exc!r}\n")
            return
        sys.stderr.write(f"mock: error on connection from {client_address[0]}:\n")
        traceback.print_exc(file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cert", help="server certificate chain (PEM); omit with --key for plain HTTP")
    ap.add_argument("--key", help="server private key (PEM)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--exchange", default="binance",
                    help="binance (built in) or a module in scripts/mocks/ (bybit, okx, ...)")
    ap.add_argument("--credentials", required=True,
                    help='JSON file {"<api key>": "<secret>"} (other exchanges: values may be objects)')
    ap.add_argument("--record", help="append one JSON line per request received to this file")
    ap.add_argument("--permissions",
                    help='JSON file {"<api key>" or "*": MODE}: how the key-permission endpoint '
                         'answers (scripts/mocks/permissions.py; read on every call; default safe)')
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--clock-skew-ms", type=int, default=0,
                    help="Binance: run this mock's clock this far ahead of the host's (negative: behind)")
    args = ap.parse_args(argv)
    global CLOCK_SKEW_MS
    CLOCK_SKEW_MS = args.clock_skew_ms

    with open(args.credentials, encoding="utf-8") as fh:
        creds = json.load(fh)
    plugin = None
    if args.exchange != "binance":
        import importlib

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        try:
            plugin = importlib.import_module(f"mocks.{args.exchange}").Mock(creds)
        except ModuleNotFoundError:
            ap.error(f"no mock for exchange {args.exchange!r} (scripts/mocks/{args.exchange}.py)")
    elif not isinstance(creds, dict) or not all(
            isinstance(k, str) and (isinstance(v, str) or (isinstance(v, dict) and set(v) == {"public_key_pem"}))
            for k, v in creds.items()):
        ap.error('--credentials must hold a JSON object of API keys to HMAC secrets or '
                 '{"public_key_pem": "..."} objects')

    ctx = None
    if args.cert or args.key:
        if not (args.cert and args.key):
            ap.error("--cert and --key go together")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["http/1.1"])

    server = Server((args.host, args.port), ctx, Exchange(creds if plugin is None else {}),
                    Recorder(args.record), args.verbose, plugin)
    server.exchange_name = args.exchange
    server.permissions_file = args.permissions
    port = server.server_address[1]
    print(f"listening on {port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    # Exit quietly on SIGTERM (tests and the demo stop the mock that way).
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
