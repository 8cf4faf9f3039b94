"""Raw-HTTP attempts to reach denied endpoints or smuggle parameters past keyward.

Every request here must be refused with a 4xx (501 for unimplemented methods, or the connection
closed without a response),
and the mock exchange must record nothing at all for any of them: what is refused never
leaves keyward. Sent over raw sockets so nothing normalises the bytes on the way."""

import re
import socket

import pytest

import harness

W = "/sapi/v1/capital/withdraw/apply"
WBODY = "coin=USDT&network=ETH&address=0x1234567890abcdef1234567890abcdef12345678&amount=1000"
ORDER_OK = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000"


def raw(port, data, timeout=15):
    """Send raw bytes; return (status or None, response text)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        chunks = []
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole request was sent (e.g. an oversized body)
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (socket.timeout, ConnectionResetError):
            pass
    text = b"".join(chunks).decode("latin-1")
    m = re.match(r"HTTP/1\.[01] (\d{3})", text)
    return (int(m.group(1)) if m else None), text


def req(stack, method, target, body="", headers=None, version="HTTP/1.1", host=None, token=True,
        content_length=True):
    host = host if host is not None else f"127.0.0.1:{stack.port}"
    lines = [f"{method} {target} {version}", f"Host: {host}", "Connection: close"]
    if token:
        lines.append(f"X-MBX-APIKEY: {stack.token}")
    if body:
        lines.append("Content-Type: application/x-www-form-urlencoded")
        if content_length:
            lines.append(f"Content-Length: {len(body.encode())}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body.encode()
    return raw(stack.port, data)


P = "/" + harness.CREDENTIAL

CASES = {
    "withdraw": lambda s: req(s, "POST", P + W, WBODY),
    "withdraw-in-query": lambda s: req(s, "POST", P + W + "?" + WBODY),
    "withdraw-get": lambda s: req(s, "GET", P + "/sapi/v1/capital/withdraw/history"),
    "encoded-slash": lambda s: req(s, "POST", P + "/sapi/v1/capital%2fwithdraw/apply", WBODY),
    "encoded-slash-upper": lambda s: req(s, "POST", P + "/sapi/v1/capital%2Fwithdraw%2Fapply", WBODY),
    "encoded-dots": lambda s: req(s, "POST", P + "/api/v3/%2e%2e/%2e%2e/sapi/v1/capital/withdraw/apply", WBODY),
    "dotdot": lambda s: req(s, "POST", P + "/api/v3/../../sapi/v1/capital/withdraw/apply", WBODY),
    "dot": lambda s: req(s, "POST", P + "/sapi/v1/./capital/withdraw/apply", WBODY),
    "double-slash": lambda s: req(s, "POST", P + "//sapi/v1/capital/withdraw/apply", WBODY),
    "double-slash-mid": lambda s: req(s, "POST", P + "/sapi/v1//capital/withdraw/apply", WBODY),
    "case-change": lambda s: req(s, "POST", P + "/sapi/v1/capital/Withdraw/apply", WBODY),
    "case-prefix": lambda s: req(s, "POST", P + "/SAPI/v1/capital/withdraw/apply", WBODY),
    "semicolon": lambda s: req(s, "POST", P + "/api/v3/order;/../../../sapi/v1/capital/withdraw/apply", WBODY),
    "semicolon-param": lambda s: req(s, "GET", P + "/api/v3/account;jsessionid=1"),
    "backslash": lambda s: req(s, "POST", P + "/sapi/v1\\capital\\withdraw\\apply", WBODY),
    "nul": lambda s: req(s, "POST", P + "/sapi/v1/capital/withdraw%00/apply", WBODY),
    "transfer": lambda s: req(s, "POST", P + "/sapi/v1/asset/transfer", "type=MAIN_UMFUTURE&asset=USDT&amount=10"),
    "futures-transfer": lambda s: req(s, "POST", P + "/sapi/v1/futures/transfer", "asset=USDT&amount=10&type=1"),
    "sub-account": lambda s: req(s, "POST", P + "/sapi/v1/sub-account/universalTransfer", "fromAccountType=SPOT&asset=USDT&amount=1"),
    "api-key-mgmt": lambda s: req(s, "POST", P + "/sapi/v1/account/apiRestrictions/ipRestriction", "ipAddress=1.2.3.4"),
    "unknown-endpoint": lambda s: req(s, "POST", P + "/sapi/v1/some/new/endpoint", "a=1"),
    "order-not-allowed-symbol": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK.replace("BTCUSDT", "DOGEUSDT")),
    "order-over-quantity": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK.replace("0.01", "0.51")),
    "order-over-notional": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK.replace("0.01", "0.5").replace("30000", "40001")),
    "duplicate-key-body": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK + "&quantity=100"),
    "duplicate-key-query": lambda s: req(s, "POST", P + "/api/v3/order?" + ORDER_OK + "&symbol=DOGEUSDT"),
    "query-plus-body": lambda s: req(s, "POST", P + "/api/v3/order?quantity=100", ORDER_OK),
    "encoded-amp-in-value": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK.replace("symbol=BTCUSDT", "symbol=BTCUSDT%26quantity%3D100")),
    "method-override": lambda s: req(s, "GET", P + "/api/v3/account", headers={"X-HTTP-Method-Override": "POST"}),
    "method-override-2": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK, headers={"X-Method-Override": "DELETE"}),
    "x-original-url": lambda s: req(s, "GET", P + "/api/v3/account", headers={"X-Original-URL": P + W}),
    "x-rewrite-url": lambda s: req(s, "GET", P + "/api/v3/account", headers={"X-Rewrite-URL": P + W}),
    "x-forwarded-for": lambda s: req(s, "GET", P + "/api/v3/account", headers={"X-Forwarded-For": "10.0.0.1"}),
    "forwarded": lambda s: req(s, "GET", P + "/api/v3/account", headers={"Forwarded": "for=10.0.0.1"}),
    "absolute-form": lambda s: req(s, "POST", f"http://127.0.0.1:{s.port}{P}{W}", WBODY),
    "absolute-form-allowed": lambda s: req(s, "GET", f"http://evil.example{P}/api/v3/account"),
    "foreign-host": lambda s: req(s, "GET", P + "/api/v3/account", host="evil.example"),
    "http10": lambda s: req(s, "GET", P + "/api/v3/account", version="HTTP/1.0"),
    "cl-and-te": lambda s: raw(s.port, (
        f"POST {P}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\nConnection: close\r\n"
        f"X-MBX-APIKEY: {s.token}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        f"{len(ORDER_OK):x}\r\n{ORDER_OK}\r\n0\r\n\r\n").encode()),
    "oversized-body": lambda s: req(s, "POST", P + "/api/v3/order", ORDER_OK + "&newClientOrderId=" + "a" * (4 << 20)),
    "lowercase-method": lambda s: req(s, "post", P + W, WBODY),
    "trace": lambda s: req(s, "TRACE", P + "/api/v3/account"),
    "patch": lambda s: req(s, "PATCH", P + "/api/v3/order", ORDER_OK),
    "wrong-credential": lambda s: req(s, "GET", "/binance-other/api/v3/account"),
    "no-credential-prefix": lambda s: req(s, "GET", "/api/v3/account"),
    "unknown-token": lambda s: req(s, "GET", P + "/api/v3/account", token=False, headers={"X-MBX-APIKEY": "nope"}),
    "no-token-signed": lambda s: req(s, "GET", P + "/api/v3/account", token=False),
    "bearer-unknown": lambda s: req(s, "GET", P + "/api/v3/account", token=False, headers={"Authorization": "Bearer nope"}),
    "utf8-path": lambda s: req(s, "GET", P + "/api/v3/accöunt"),
    # ':' is a path character now; it never joins or splits segments, and matches only literally
    "colon-order": lambda s: req(s, "POST", P + "/api/v3:order", ORDER_OK),
    "colon-order-get": lambda s: req(s, "GET", P + "/api/v3:order?symbol=BTCUSDT&orderId=1"),
    "colon-prefix": lambda s: req(s, "GET", P + "/api:v3/account"),
    "colon-credential": lambda s: req(s, "GET", P + ":x/api/v3/account"),
    "colon-withdraw": lambda s: req(s, "POST", P + "/sapi/v1/capital:withdraw/apply", WBODY),
    "colon-withdraw-2": lambda s: req(s, "POST", P + "/sapi/v1/capital/withdraw:apply", WBODY),
    "colon-encoded": lambda s: req(s, "POST", P + "/api/v3%3aorder", ORDER_OK),
    "colon-dotdot": lambda s: req(s, "POST", P + "/api/v3:/../../sapi/v1/capital/withdraw/apply", WBODY),
    "colon-only-segment": lambda s: req(s, "POST", P + "/api/v3/:/order", ORDER_OK),
}


# (case, status, code): the refusals whose exact answer matters
EXPECTED = {
    "patch": (405, "method_not_allowed"),
    "trace": (405, "method_not_allowed"),
    "colon-order": (403, "not_allowed"),
    "colon-order-get": (403, "not_allowed"),
    "colon-prefix": (404, "not_found"),
    "colon-credential": (404, "not_found"),
    "colon-withdraw": (403, "hard_deny"),
    "colon-withdraw-2": (403, "hard_deny"),
    "colon-encoded": (400, "bad_path"),
    "colon-dotdot": (400, "bad_path"),
    "colon-only-segment": (403, "not_allowed"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_refusal_codes(stack, name):
    want_status, want_code = EXPECTED[name]
    status, text = CASES[name](stack)
    assert status == want_status and f'"code":"{want_code}"' in text, text[:2000]


def test_patch_to_binance_names_its_methods(stack):
    """PATCH is a method keyward knows (Gate, Alpaca) but Binance's API does not use: 405 once
    the credential names the exchange, listing Binance's methods."""
    status, text = CASES["patch"](stack)
    assert status == 405
    assert "binance" in text and "GET, POST, PUT, DELETE" in text, text


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_and_never_forwarded(stack, name):
    before = len(stack.mock.records())
    status, text = CASES[name](stack)
    after = stack.mock.records()[before:]
    assert not after, f"{name}: the exchange received {after}"
    # a 4xx (or 501/505) refusal, or the connection closed unanswered; forwarding is caught above
    assert status is None or status >= 400, \
        f"{name}: expected a refusal, got {status}:\n{text[:2000]}"


def test_allowed_request_still_works(stack):
    """The control case: the same harness does get a legitimate order through."""
    before = len(stack.mock.records())
    status, text = req(stack, "POST", P + "/api/v3/order", ORDER_OK)
    assert status == 200, text[:2000]
    after = stack.mock.records()[before:]
    assert len(after) == 1 and after[0]["verified"] is True


def test_secrets_not_in_error_bodies(stack):
    for name in ("withdraw", "order-over-quantity", "unknown-token", "dotdot"):
        _, text = CASES[name](stack)
        assert stack.secret not in text and stack.api_key not in text
