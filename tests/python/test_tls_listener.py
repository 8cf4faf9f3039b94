"""keyward's own listener over TLS ([server] tls = { cert, key }): bots reach it with https,
the client token travels encrypted, and a plain-HTTP request to the TLS port gets no answer."""

import json
import socket
import ssl
import urllib.request

import pytest

import harness


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    st = harness.Stack(
        tmp_path_factory.mktemp("tls"),
        # The test CA's server certificate (IP:127.0.0.1, DNS:localhost) serves keyward too.
        server_extra='tls = { cert = "ca/server.pem", key = "ca/server.key" }',
    )
    st.start()
    yield st
    st.stop()


def https(stack, method, path, body=None, token=True):
    ctx = ssl.create_default_context(cafile=str(stack.dir / "ca" / "ca.pem"))
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    if token:
        headers["X-MBX-APIKEY"] = stack.token
    req = urllib.request.Request(
        f"https://127.0.0.1:{stack.port}/{stack.credential}{path}",
        method=method, data=body.encode() if body else None, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_logs_https(stack):
    assert "(https)" in stack.log_text()


def test_signed_order_over_tls(stack):
    n = len(stack.mock.records())
    status, body = https(stack, "POST", "/api/v3/order",
                         "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000")
    assert status == 200, body
    recs = stack.mock.records()[n:]
    assert len(recs) == 1 and recs[0]["verified"] is True, recs


def test_withdrawal_refused_over_tls(stack):
    with harness.mock_untouched(stack):
        status, body = https(stack, "POST", "/sapi/v1/capital/withdraw/apply", "coin=BTC&amount=1&address=x")
        assert status == 403, body
        assert json.loads(body)["error"]["code"] == "hard_deny"


def test_plain_http_to_the_tls_port_is_not_served(stack):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as s:
        s.sendall(f"GET /{stack.credential}/api/v3/account HTTP/1.1\r\nHost: 127.0.0.1:{stack.port}\r\n"
                  f"X-MBX-APIKEY: {stack.token}\r\n\r\n".encode())
        try:
            data = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
    assert not data.startswith(b"HTTP/1.1 200"), data


def test_untrusted_certificate_is_refused_by_the_client(stack):
    ctx = ssl.create_default_context()  # system roots: the test CA is not among them
    with pytest.raises(ssl.SSLError):
        with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as raw:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
