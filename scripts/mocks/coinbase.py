"""Mock of Coinbase Advanced Trade (/api/v3/brokerage) and the Coinbase App v2 API (/v2).

Written from Coinbase's CDP documentation, independently of keyward's signer
(https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication):

* public endpoints (market data, currencies, exchange rates, time) need nothing;
* every other request needs `Authorization: Bearer <JWT>`: header `alg` ES256 or EdDSA with
  `kid` = the key name and a `nonce` (never seen before by this mock); claims `sub` = the key
  name, `iss` = "cdp", `nbf` <= now, `exp` > now and at most 120 s after `nbf`, and `uri` =
  "METHOD api.coinbase.com/path" for the request received (no query); a `uris` claim, when
  present, must list that same uri. The signature is verified with the key's PUBLIC key only.

--credentials: {"<key name>": {"public_key": "<PEM public key>"}} (EC P-256 or Ed25519).
Needs the `cryptography` package (installed with ccxt).
"""

import base64
import json
import re
import threading
import time
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import MockError

HOST = "api.coinbase.com"
MAX_LIFETIME = 120
SKEW = 30

PUBLIC = [re.compile(p) for p in (
    r"^/api/v3/brokerage/time$",
    r"^/api/v3/brokerage/market/product_book$",
    r"^/api/v3/brokerage/market/products(/[A-Za-z0-9-]+(/candles|/ticker)?)?$",
    r"^/v2/time$",
    r"^/v2/currencies(/crypto)?$",
    r"^/v2/exchange-rates$",
    r"^/v2/prices/[A-Za-z0-9-]+/(buy|sell|spot)$",
)]


def unauthorized(msg):
    return MockError(401, {"error": "UNAUTHENTICATED", "error_details": msg, "message": msg}, msg)


def b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def product(pid, base, quote, price, base_inc, quote_inc):
    return {
        "product_id": pid, "price": price, "price_percentage_change_24h": "1.2",
        "volume_24h": "1000", "volume_percentage_change_24h": "3", "base_increment": base_inc,
        "quote_increment": quote_inc, "quote_min_size": "1", "quote_max_size": "150000000",
        "base_min_size": base_inc, "base_max_size": "3400", "base_name": base, "quote_name": quote,
        "watched": False, "is_disabled": False, "new": False, "status": "online",
        "cancel_only": False, "limit_only": False, "post_only": False, "trading_disabled": False,
        "auction_mode": False, "product_type": "SPOT", "quote_currency_id": quote,
        "base_currency_id": base, "fcm_trading_session_details": None, "mid_market_price": "",
        "alias": "", "alias_to": [], "base_display_symbol": base, "quote_display_symbol": quote,
        "view_only": False, "price_increment": quote_inc, "display_name": pid,
        "product_venue": "CBE",
    }


PRODUCTS = [
    product("BTC-USD", "BTC", "USD", "30150.12", "0.00000001", "0.01"),
    product("ETH-USD", "ETH", "USD", "1890.55", "0.00000001", "0.01"),
]


class Mock:
    def __init__(self, credentials):
        self.keys = {}
        for name, v in credentials.items():
            pem = v["public_key"] if isinstance(v, dict) else v
            self.keys[name] = serialization.load_pem_public_key(pem.encode())
        self.nonces = set()
        self.orders = {}
        self.lock = threading.Lock()

    # -- authentication ------------------------------------------------------------------
    def verify(self, req):
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise unauthorized("missing Bearer JWT")
        token = auth[len("Bearer "):]
        parts = token.split(".")
        if len(parts) != 3:
            raise unauthorized("malformed JWT")
        try:
            header = json.loads(b64url(parts[0]))
            claims = json.loads(b64url(parts[1]))
            sig = b64url(parts[2])
        except ValueError:
            raise unauthorized("malformed JWT")
        kid = header.get("kid")
        key = self.keys.get(kid)
        if key is None:
            raise unauthorized("unknown key name (kid)")
        req.rec["api_key"] = kid
        signed = (parts[0] + "." + parts[1]).encode()
        alg = header.get("alg")
        try:
            if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
                if len(sig) != 64:
                    raise unauthorized("ES256 signature must be 64 bytes (r||s)")
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            elif alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(sig, signed)
            else:
                raise unauthorized(f"alg {alg!r} does not match the key type")
        except InvalidSignature:
            raise unauthorized("JWT signature does not verify with the key's public key")
        if claims.get("sub") != kid:
            raise unauthorized("sub must be the key name")
        if claims.get("iss") != "cdp":
            raise unauthorized("iss must be cdp")
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(nbf, int) or not isinstance(exp, int):
            raise unauthorized("nbf and exp must be integers")
        if nbf > now + SKEW or exp <= now - SKEW or exp - nbf > MAX_LIFETIME or exp <= nbf:
            raise unauthorized("JWT not valid now (nbf/exp)")
        expected_uri = f"{req.method} {HOST}{req.path}"
        if claims.get("uri") != expected_uri:
            raise unauthorized(f"uri claim {claims.get('uri')!r} is not {expected_uri!r}")
        if "uris" in claims and claims["uris"] != [expected_uri]:
            raise unauthorized("uris claim does not match the request")
        nonce = header.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise unauthorized("JWT header has no nonce")
        with self.lock:
            if nonce in self.nonces:
                raise unauthorized("JWT nonce replayed")
            self.nonces.add(nonce)

    # -- routing ---------------------------------------------------------------------------
    def handle(self, req):
        params = req.query_params()
        if req.body:
            try:
                body = json.loads(req.text)
            except ValueError:
                raise MockError(400, {"error": "INVALID_ARGUMENT", "message": "body is not JSON"})
            if "application/json" not in req.headers.get("content-type", ""):
                raise MockError(400, {"error": "INVALID_ARGUMENT", "message": "JSON body needs application/json"})
            if isinstance(body, dict):
                params.update({k: v for k, v in body.items()})
        else:
            body = {}
        req.rec["params"] = params
        if any(p.match(req.path) for p in PUBLIC) and req.method == "GET":
            req.rec["auth"] = "public"
            req.rec["verified"] = True
            return 200, self.public(req, params)
        self.verify(req)
        req.rec["auth"] = "signed"
        req.rec["verified"] = True
        return self.private(req, params, body)

    def public(self, req, params):
        p = req.path
        if p == "/api/v3/brokerage/market/products":
            if params.get("product_type") == "FUTURE":
                return {"products": [], "num_products": 0}
            return {"products": PRODUCTS, "num_products": len(PRODUCTS)}
        if p == "/v2/currencies":
            return {"data": [{"id": "USD", "name": "US Dollar", "min_size": "0.01"}]}
        if p == "/v2/currencies/crypto":
            return {"data": [
                {"asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, c)), "code": c, "name": n, "color": "#000000",
                 "sort_index": "1", "exponent": 8, "type": "crypto", "address_regex": "^.+$"}
                for c, n in (("BTC", "Bitcoin"), ("ETH", "Ethereum"), ("USDC", "USD Coin"))]}
        if p == "/v2/exchange-rates":
            return {"data": {"currency": "USD", "rates": {"BTC": "0.0000331", "ETH": "0.000529", "USDC": "1", "USD": "1"}}}
        if p in ("/v2/time", "/api/v3/brokerage/time"):
            now = time.time()
            return {"data": {"iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "epoch": int(now)},
                    "iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                    "epochSeconds": str(int(now)), "epochMillis": str(int(now * 1000))}
        return {}

    def private(self, req, params, body):
        m, p = req.method, req.path
        if m == "GET" and p == "/api/v3/brokerage/transaction_summary":
            return 200, {"total_volume": 0, "total_fees": 0, "fee_tier": {
                "pricing_tier": "Advanced 1", "usd_from": "0", "usd_to": "1000",
                "taker_fee_rate": "0.008", "maker_fee_rate": "0.006"}}
        if m == "GET" and p == "/api/v3/brokerage/key_permissions":
            return 200, {"can_view": True, "can_trade": True, "can_transfer": False,
                         "portfolio_uuid": "11111111-1111-4111-8111-111111111111", "portfolio_type": "DEFAULT"}
        if m == "GET" and p == "/v2/accounts":
            return 200, {"pagination": {"next_uri": None}, "data": [
                {"id": "acc-usd", "name": "USD Wallet", "primary": True, "type": "fiat", "currency": {"code": "USD"},
                 "balance": {"amount": "25000.00", "currency": "USD"}},
                {"id": "acc-btc", "name": "BTC Wallet", "primary": False, "type": "wallet", "currency": {"code": "BTC"},
                 "balance": {"amount": "1.25", "currency": "BTC"}},
            ]}
        if m == "GET" and p == "/api/v3/brokerage/accounts":
            return 200, {"has_next": False, "cursor": "", "size": 2, "accounts": [
                {"uuid": "acc-usd", "name": "USD Wallet", "currency": "USD", "type": "ACCOUNT_TYPE_FIAT",
                 "active": True, "ready": True, "available_balance": {"value": "25000", "currency": "USD"},
                 "hold": {"value": "0", "currency": "USD"}},
                {"uuid": "acc-btc", "name": "BTC Wallet", "currency": "BTC", "type": "ACCOUNT_TYPE_CRYPTO",
                 "active": True, "ready": True, "available_balance": {"value": "1.25", "currency": "BTC"},
                 "hold": {"value": "0", "currency": "BTC"}},
            ]}
        if m == "POST" and p == "/api/v3/brokerage/orders":
            for field in ("client_order_id", "product_id", "side", "order_configuration"):
                if field not in body:
                    raise MockError(400, {"error": "INVALID_ARGUMENT", "message": f"{field} is required"})
            oid = str(uuid.uuid4())
            with self.lock:
                self.orders[oid] = dict(body, order_id=oid, status="OPEN")
            return 200, {"success": True, "success_response": {
                "order_id": oid, "product_id": body["product_id"], "side": body["side"],
                "client_order_id": body["client_order_id"]}, "order_configuration": body["order_configuration"]}
        if m == "POST" and p == "/api/v3/brokerage/orders/edit":
            # Edit Order: a new `size` and/or `price` for an open limit GTC order.
            with self.lock:
                o = self.orders.get(body.get("order_id", ""))
                if o is None or o["status"] != "OPEN":
                    raise MockError(400, {"error": "INVALID_ARGUMENT", "message": "order not found or not open"})
                cfg = o["order_configuration"].get("limit_limit_gtc")
                if cfg is None:
                    raise MockError(400, {"error": "INVALID_ARGUMENT", "message": "only limit GTC orders can be edited"})
                if "size" not in body and "price" not in body:
                    raise MockError(400, {"error": "INVALID_ARGUMENT", "message": "size or price is required"})
                if "size" in body:
                    cfg["base_size"] = body["size"]
                if "price" in body:
                    cfg["limit_price"] = body["price"]
            return 200, {"success": True, "errors": []}
        if m == "POST" and p == "/api/v3/brokerage/orders/batch_cancel":
            results = []
            for oid in body.get("order_ids", []):
                with self.lock:
                    ok = oid in self.orders and self.orders[oid]["status"] == "OPEN"
                    if ok:
                        self.orders[oid]["status"] = "CANCELLED"
                results.append({"success": ok, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON" if ok
                                else "UNKNOWN_CANCEL_ORDER", "order_id": oid})
            return 200, {"results": results}
        if m == "GET" and p.startswith("/api/v3/brokerage/orders/historical/"):
            oid = p.rsplit("/", 1)[1]
            o = self.orders.get(oid)
            if o is None:
                raise MockError(404, {"error": "NOT_FOUND", "message": "order not found"})
            return 200, {"order": {"order_id": oid, "product_id": o["product_id"], "side": o["side"],
                                   "client_order_id": o["client_order_id"], "status": o["status"],
                                   "order_configuration": o["order_configuration"]}}
        raise MockError(404, {"error": "NOT_FOUND", "message": f"{m} {p} is not mocked"})
