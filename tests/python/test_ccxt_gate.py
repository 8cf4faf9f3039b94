"""An unmodified ccxt gate bot, with a dummy key and secret, through keyward to a mock Gate.

The bot's API key is its keyward client token; its secret is a dummy. keyward drops the bot's
KEY/SIGN/Timestamp and channel headers and re-signs with the sealed credential; the mock
verifies like Gate (signature over the exact query and body bytes, 60 s clock window) and
records everything it receives.
"""

import hashlib
import hmac
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

DUMMY_SECRET = "dummy-gate-secret-that-keyward-ignores"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyward-gate")
    yield from harness.running_stack(d, exchange="gate", api_key=harness.binance_like_key(32),
                                     secret=harness.binance_like_key(64), key_header="KEY")


def make_bot(stack, api_key=None):
    return harness.ccxt_bot(ccxt.gate, stack, api_key, DUMMY_SECRET)


@pytest.fixture(scope="module")
def bot(stack):
    return make_bot(stack)


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def dummy_signature(rec):
    payload = "\n".join([rec["method"], rec["path"], rec["query"],
                         hashlib.sha512(rec["body"].encode()).hexdigest(),
                         rec["headers"].get("timestamp", "")])
    return hmac.new(DUMMY_SECRET.encode(), payload.encode(), hashlib.sha512).hexdigest()


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    h = rec["headers"]
    assert h.get("key") == stack.api_key, "upstream must carry the real API key"
    blob = rec["body"] + rec["query"] + repr(h)
    assert stack.token not in blob, "the client token leaked upstream"
    assert DUMMY_SECRET not in blob
    assert h.get("sign") != dummy_signature(rec)
    assert "x-gate-channel-id" not in h, "the bot's channel (partner) header reached the exchange"


def test_load_markets(stack, markets):
    assert "BTC/USDT" in markets and "ETH/USDT" in markets
    assert markets["BTC/USDT"]["spot"] is True
    # load_markets signs GET /account/detail (unified-account check): re-signed and verified
    assert_resigned(stack, harness.records(stack, "/api/v4/account/detail")[-1])
    pub = harness.records(stack, "/api/v4/spot/currency_pairs")[-1]
    assert pub["verified"] and "key" not in pub["headers"] and "sign" not in pub["headers"]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USDT"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/api/v4/spot/accounts")[-1])


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"] and order["status"] == "open"
    rec = harness.records(stack, "/api/v4/spot/orders", "POST")[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert p["currency_pair"] == "BTC_USDT" and p["side"] == "buy"
    assert float(p["amount"]) == 0.01 and float(p["price"]) == 30000
    cancelled = bot.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    rec = harness.records(stack, f"/api/v4/spot/orders/{order['id']}", "DELETE")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["currency_pair"] == "BTC_USDT" and rec["status"] == 200


def test_edit_order_is_a_signed_patch(stack, markets, bot):
    """ccxt's edit_order amends a spot order with PATCH /spot/orders/{id}, every parameter in
    both the query string and the JSON body; keyward re-signs the same two copies."""
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    edited = bot.edit_order(order["id"], "BTC/USDT", "limit", "buy", 0.02, 31000)
    assert edited["id"] == order["id"]
    assert edited["amount"] == 0.02 and edited["price"] == 31000
    rec = harness.records(stack, f"/api/v4/spot/orders/{order['id']}", "PATCH")[-1]
    assert_resigned(stack, rec)
    assert rec["status"] == 200
    body = json.loads(rec["body"])
    assert body["currency_pair"] == "BTC_USDT" and body["amount"] == "0.02" and body["price"] == "31000"
    assert "currency_pair=BTC_USDT" in rec["query"] and "amount=0.02" in rec["query"]
    audit = [json.loads(l) for l in stack.audit_text().splitlines() if l.strip()]
    assert [a for a in audit if a.get("method") == "PATCH" and a.get("decision") == "allow"
            and a.get("rule") == "gate:trade"]
    bot.cancel_order(order["id"], "BTC/USDT")


def test_patch_refusals_never_forwarded(stack, markets):
    with harness.mock_untouched(stack):
        cases = (
            # a body copy of a query parameter with another value: two readings, refused
            ("PATCH", "/api/v4/spot/orders/1?currency_pair=BTC_USDT&amount=0.01",
             '{"currency_pair":"BTC_USDT","amount":"5"}', 400, "bad_params"),
            # PATCH on a public path, and on an endpoint no preset allows
            ("PATCH", "/api/v4/spot/tickers", '{"a":"1"}', 405, "method_not_allowed"),
            ("PATCH", "/api/v4/earn/uni/lends", '{"currency":"USDT"}', 403, "not_allowed"),
            # a method no exchange uses
            ("TRACE", "/api/v4/spot/accounts", None, 405, "method_not_allowed"),
        )
        for method, path, body, want, code in cases:
            hdrs = {"Content-Type": "application/json"} if body else {}
            status, text = stack.request(method, path, body=body, headers=hdrs)
            assert status == want and code in text, (method, path, status, text)


def test_fetch_open_orders_signed_query(stack, markets, bot):
    bot.fetch_open_orders("BTC/USDT")
    rec = [r for r in harness.records(stack) if r["path"].startswith("/api/v4/spot/")
           and r["method"] == "GET" and r["query"]][-1]
    assert_resigned(stack, rec)


def _expect_denied(call):
    harness.expect_refusal(call, ccxt.PermissionDenied, "FORBIDDEN", "hard_deny")


def test_withdraw_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        _expect_denied(lambda: bot.withdraw("USDT", 100, "0x" + "12" * 20, {"network": "ERC20"}))
    harness.assert_no_path_reached(stack, "withdraw")


def test_transfer_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        _expect_denied(lambda: bot.transfer("USDT", 10, "spot", "swap"))
    harness.assert_no_path_reached(stack, "transfer")


def test_refusals_are_403(stack, markets):
    with harness.mock_untouched(stack):
        for method, path in (("POST", "/api/v4/withdrawals"), ("POST", "/api/v4/withdrawals/push"),
                             ("POST", "/api/v4/wallet/sub_account_transfers"),
                             ("POST", "/api/v4/sub_accounts/1/keys"), ("POST", "/api/v4/otc/bank/create")):
            status, body = stack.request(method, path, body='{"a":"1"}',
                                         headers={"Content-Type": "application/json"})
            assert status == 403, (path, status, body)
            assert '"label":"FORBIDDEN"' in body


def test_unknown_client_token_refused(stack, markets):
    other = make_bot(stack, api_key="not-a-client-token")
    with harness.mock_untouched(stack):
        with pytest.raises(ccxt.AuthenticationError):
            other.private_spot_get_accounts()


def test_every_forwarded_request_verified(stack, markets, bot):
    harness.assert_all_verified(stack)


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    harness.assert_absent(harness.outputs(stack, check=False),
                          (("API secret", stack.secret), ("API key", stack.api_key), ("client token", stack.token)))
    assert stack.secret not in stack.check.stdout + stack.check.stderr
