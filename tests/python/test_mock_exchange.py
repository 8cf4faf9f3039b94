"""The mock exchange on its own: it must verify exactly like Binance and serve responses
that ccxt's binance class parses. These tests need neither keyward nor SoftHSM."""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

import harness

sys.path.insert(0, str(harness.SCRIPTS))
import mock_exchange  # noqa: E402

_VECTOR_FILES = [harness.REPO / "tests" / "vectors" / "vectors.json",
                 harness.REPO.parent / "shared" / "vectors" / "vectors.json"]
VECTORS = next((json.loads(p.read_text()) for p in _VECTOR_FILES if p.exists()), [])


def sign(secret, payload):
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def call(mock, method, path, query="", body=None, key=None, ctype="application/x-www-form-urlencoded"):
    conn = http.client.HTTPSConnection("127.0.0.1", mock.port, context=harness.ssl_context(mock.ca_pem), timeout=10)
    headers = {}
    if key is not None:
        headers["X-MBX-APIKEY"] = key
    if body is not None:
        headers["Content-Type"] = ctype
    conn.request(method, path + ("?" + query if query else ""), body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data)


def last_record(mock):
    return mock.records()[-1]


def ts():
    return str(int(time.time() * 1000))


def test_published_binance_vectors():
    vecs = [v for v in VECTORS if v["exchange"].startswith("binance")]
    if not vecs:  # no vector file found: fall back to the documented example
        vecs = [{"secret": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
                 "payload": "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
                 "expected": "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"}]
    for v in vecs:
        assert mock_exchange.binance_signature(v["secret"], v["payload"]) == v["expected"]


def test_strip_signature_anywhere():
    assert mock_exchange.strip_signature("a=1&signature=ab&b=2") == ("a=1&b=2", ["ab"])
    assert mock_exchange.strip_signature("signature=ab") == ("", ["ab"])
    assert mock_exchange.strip_signature("a=1") == ("a=1", [])


def test_public_needs_nothing(mock_only):
    st, body = call(mock_only, "GET", "/api/v3/time")
    assert st == 200 and "serverTime" in body
    rec = last_record(mock_only)
    assert rec["verified"] is True and rec["auth"] == "public"


def test_signed_get_ok(mock_only):
    q = f"timestamp={ts()}&recvWindow=5000"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key=mock_only.api_key)
    assert st == 200, body
    assert body["balances"]
    rec = last_record(mock_only)
    assert rec["verified"] is True and rec["auth"] == "signed" and rec["api_key"] == mock_only.api_key


def test_signature_in_middle_of_query(mock_only):
    t = ts()
    payload = f"symbol=BTCUSDT&timestamp={t}"
    q = f"symbol=BTCUSDT&signature={sign(mock_only.secret, payload)}&timestamp={t}"
    st, body = call(mock_only, "GET", "/api/v3/openOrders", q, key=mock_only.api_key)
    assert st == 200, body


def test_query_plus_body_concatenated_without_separator(mock_only):
    q = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    b = f"quantity=0.01&price=30000&timestamp={ts()}"
    sig = sign(mock_only.secret, q + b)
    st, body = call(mock_only, "POST", "/api/v3/order", q, b + "&signature=" + sig, key=mock_only.api_key)
    assert st == 200, body
    assert body["symbol"] == "BTCUSDT" and body["side"] == "BUY" and body["origQty"] == "0.01"
    # ... and with the '&' a naive implementation would add, it must fail
    sig_bad = sign(mock_only.secret, q + "&" + b)
    st, body = call(mock_only, "POST", "/api/v3/order", q, b + "&signature=" + sig_bad, key=mock_only.api_key)
    assert st == 400 and body["code"] == -1022


def test_query_value_wins_over_body(mock_only):
    q = "quantity=0.02"
    b = f"symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.01&price=31000&timestamp={ts()}"
    st, body = call(mock_only, "POST", "/api/v3/order", q, b + "&signature=" + sign(mock_only.secret, q + b), key=mock_only.api_key)
    assert st == 200, body
    assert body["origQty"] == "0.02"
    assert last_record(mock_only)["params"]["quantity"] == "0.02"


def test_bad_signature(mock_only):
    q = f"timestamp={ts()}"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign("wrong", q), key=mock_only.api_key)
    assert st == 400 and body == {"code": -1022, "msg": "Signature for this request is not valid."}
    rec = last_record(mock_only)
    assert rec["verified"] is False and rec["status"] == 400


def test_unknown_key(mock_only):
    q = f"timestamp={ts()}"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key="nope")
    assert st == 401 and body["code"] == -2015


def test_missing_signature_and_timestamp(mock_only):
    st, body = call(mock_only, "GET", "/api/v3/account", f"timestamp={ts()}", key=mock_only.api_key)
    assert st == 400 and body["code"] == -1102
    q = "recvWindow=5000"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key=mock_only.api_key)
    assert st == 400 and body["code"] == -1102


def test_timestamp_window(mock_only):
    old = str(int(time.time() * 1000) - 10_000)
    q = f"timestamp={old}"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key=mock_only.api_key)
    assert st == 400 and body["code"] == -1021
    q = f"timestamp={old}&recvWindow=20000"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key=mock_only.api_key)
    assert st == 200
    q = f"timestamp={ts()}&recvWindow=70000"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key=mock_only.api_key)
    assert st == 400 and body["code"] == -1131
    future = str(int(time.time() * 1000) + 5000)
    q = f"timestamp={future}"
    st, body = call(mock_only, "GET", "/api/v3/account", q + "&signature=" + sign(mock_only.secret, q), key=mock_only.api_key)
    assert st == 400 and body["code"] == -1021


def test_key_only_listen_key(mock_only):
    st, body = call(mock_only, "POST", "/api/v3/userDataStream", key=mock_only.api_key)
    assert st == 200 and len(body["listenKey"]) == 60
    st, body = call(mock_only, "POST", "/api/v3/userDataStream")
    assert st == 401


def test_generic_endpoint_records(mock_only):
    b = f"coin=USDT&address=0xabc&amount=10&timestamp={ts()}"
    st, body = call(mock_only, "POST", "/sapi/v1/capital/withdraw/apply", "", b + "&signature=" + sign(mock_only.secret, b), key=mock_only.api_key)
    assert st == 200
    rec = last_record(mock_only)
    assert rec["path"] == "/sapi/v1/capital/withdraw/apply" and rec["verified"] is True
    st, body = call(mock_only, "GET", "/sapi/v1/anything/new", f"timestamp={ts()}&signature=00", key=mock_only.api_key)
    assert st == 400


def test_bad_input_does_not_crash(mock_only):
    ctx = harness.ssl_context(mock_only.ca_pem)
    junk = [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET /api/v3/account?timestamp=abc&signature=%ff%fe HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: " + mock_only.api_key.encode() + b"\r\n\r\n",
        b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
        b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
        b"GET /api/v3/account?a=1&a=2 HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: \xff\xfe\r\n\r\n",
    ]
    for raw in junk:
        with socket.create_connection(("127.0.0.1", mock_only.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(raw)
                try:
                    t.recv(4096)
                except (ssl.SSLError, OSError):
                    pass
    # a plain-TCP client (no TLS) must not hurt either
    with socket.create_connection(("127.0.0.1", mock_only.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        try:
            s.recv(100)
        except OSError:
            pass
    st, body = call(mock_only, "GET", "/api/v3/ping")
    assert st == 200


def test_ccxt_direct_against_mock(mock_only):
    """The mock's responses are good enough for ccxt's binance class (real credentials, no keyward)."""
    ccxt = pytest.importorskip("ccxt")
    ex = ccxt.binance({"apiKey": mock_only.api_key, "secret": mock_only.secret, "enableRateLimit": False})
    harness.repoint_ccxt(ex, mock_only.base)
    # ccxt passes verify=(self.verify and self.validateServerSsl) to requests
    ex.validateServerSsl = str(mock_only.ca_pem)
    markets = ex.load_markets()
    assert "BTC/USDT" in markets and "ETH/USDT" in markets
    assert "BTC/USDT:USDT" in markets and "BTC/USD:BTC" in markets
    assert "USDT" in ex.currencies
    bal = ex.fetch_balance()
    assert bal["USDT"]["free"] == 25000 and bal["ETH"]["used"] == 0.5
    order = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"] and order["status"] == "open" and order["amount"] == 0.01 and order["price"] == 30000
    assert [o["id"] for o in ex.fetch_open_orders("BTC/USDT")].count(order["id"]) == 1
    cancelled = ex.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    t = ex.withdraw("USDT", 10, "0x" + "ab" * 20, {"network": "ERC20"})
    assert t["id"]
    recs = [r for r in mock_only.records() if r["path"] == "/sapi/v1/capital/withdraw/apply"]
    assert recs and recs[-1]["verified"] is True
    ex.transfer("USDT", 5, "spot", "future")
    assert any(r["path"] == "/sapi/v1/asset/transfer" and r["verified"] for r in mock_only.records())
