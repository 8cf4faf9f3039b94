"""An unmodified ccxt deribit bot, with the client token as its client id and a dummy secret,
through keyward to a mock Deribit that verifies deri-hmac-sha256 over the exact bytes received.
Also raw JSON-RPC POSTs: a body naming another method than its path is refused before policy.
"""

import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

CLIENT_ID = "Xq3mB7pA"
CLIENT_SECRET = "k2mVtY9c4RrZ0WqLsE8uJ1fH5dNpG6bXo7iA3yTzQ0w"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("deribit"), exchange="deribit", api_key=CLIENT_ID,
                                     secret=CLIENT_SECRET, key_header="Authorization")


@pytest.fixture(scope="module")
def bot(stack):
    return harness.ccxt_bot(ccxt.deribit, stack)


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["auth"] == "signed" and rec["api_key"] == CLIENT_ID
    auth = rec["headers"]["authorization"]
    assert auth.startswith(f"deri-hmac-sha256 id={CLIENT_ID},ts=")
    blob = rec["query"] + rec["body"] + json.dumps(rec["headers"])
    assert stack.token not in blob, "the client token leaked upstream"


def raw(stack, method, name, body=None, query=""):
    hdrs = {"Authorization": f"Bearer {stack.token}"}
    data = None
    if body is not None:
        data = json.dumps(body) if not isinstance(body, str) else body
        hdrs["Content-Type"] = "application/json"
    return stack.request(method, f"/api/v2/private/{name}" + (f"?{query}" if query else ""),
                         body=data, headers=hdrs, token=False)


def test_load_markets(stack, markets):
    assert "BTC/USD:BTC" in markets and markets["BTC/USD:BTC"]["swap"] is True
    rec = harness.records(stack, "/api/v2/public/get_instruments")[-1]
    assert rec["verified"] and "authorization" not in rec["headers"]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["BTC"]["total"] == 1.25 and bal["ETH"]["free"] == 20.5
    assert_resigned(stack, harness.records(stack, "/api/v2/private/get_account_summaries")[-1])


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USD:BTC", "limit", "buy", 100, 30000.5)
    assert order["id"] and order["status"] == "open"
    rec = harness.records(stack, "/api/v2/private/buy")[-1]
    assert_resigned(stack, rec)
    assert rec["method"] == "GET"
    assert rec["params"]["instrument_name"] == "BTC-PERPETUAL"
    assert float(rec["params"]["amount"]) == 100 and float(rec["params"]["price"]) == 30000.5
    cancelled = bot.cancel_order(order["id"], "BTC/USD:BTC")
    assert cancelled["status"] == "canceled"
    rec = harness.records(stack, "/api/v2/private/cancel")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["order_id"] == order["id"] and rec["status"] == 200


def test_withdraw_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        harness.expect_403_or_hard_deny(lambda: bot.withdraw("BTC", 0.1, "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"))


def test_transfer_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        harness.expect_403_or_hard_deny(lambda: bot.transfer("BTC", 0.1, "main", "123456"))
        harness.expect_403_or_hard_deny(lambda: bot.transfer("BTC", 0.1, "main", "someone@example.com"))


def test_json_rpc_post(stack, markets):
    body = {"jsonrpc": "2.0", "id": 42, "method": "private/sell",
            "params": {"instrument_name": "ETH-PERPETUAL", "amount": 10, "price": 2000.0, "type": "limit"}}
    status, text = raw(stack, "POST", "sell", body)
    assert status == 200, text
    rec = harness.records(stack, "/api/v2/private/sell")[-1]
    assert_resigned(stack, rec)
    assert rec["method"] == "POST" and '"price":2000.0' in rec["body"]  # the number kept its text


def test_json_rpc_method_mismatch_refused(stack, markets):
    with harness.mock_untouched(stack):
        # the path names an allowed method, the body asks for a withdrawal: refused before policy
        status, text = raw(stack, "POST", "buy", {"jsonrpc": "2.0", "method": "private/withdraw",
                                                  "params": {"currency": "BTC", "amount": 1, "address": "x"}})
        assert status == 400 and "differs" in text, text
        status, text = raw(stack, "POST", "buy", [{"method": "private/buy"}])
        assert status == 400, text


def test_denied_by_path_whatever_the_method(stack, markets):
    with harness.mock_untouched(stack):
        for method, name in (("GET", "withdraw"), ("POST", "withdraw"), ("GET", "submit_transfer_to_user"),
                             ("POST", "submit_transfer_to_subaccount"), ("GET", "create_api_key"),
                             ("GET", "list_api_keys"), ("POST", "execute_block_trade"),
                             ("GET", "add_to_address_book"), ("GET", "move_positions")):
            body = {"method": f"private/{name}", "params": {}} if method == "POST" else None
            status, text = raw(stack, method, name, body)
            assert status == 403 and "hard_deny" in text, (method, name, status, text)
        status, text = stack.request("GET", "/api/v2/public/auth?grant_type=client_credentials&client_id=a&client_secret=b",
                                     token=False)
        assert status in (401, 403), text


def test_unknown_client_token_refused(stack, markets):
    other = ccxt.deribit({"apiKey": "kwt_nope", "secret": harness.DUMMY_SECRET, "enableRateLimit": False})
    harness.repoint_ccxt(other, stack.base)
    private = lambda: [r for r in stack.mock.records() if "/private/" in r["path"]]  # noqa: E731
    n = len(private())
    with pytest.raises(ccxt.BaseError) as ei:
        other.fetch_balance()  # its load_markets goes out as (anonymous) public market data
    # ccxt's deribit error handler reports keyward's JSON error body, not the HTTP status (401)
    assert "401" in str(ei.value) or "unknown_client" in str(ei.value), str(ei.value)
    assert len(private()) == n


def test_every_forwarded_request_verified(stack, markets, bot):
    recs = stack.mock.records()
    assert recs
    assert not [r for r in recs if not r["verified"]], "the mock rejected forwarded requests"


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    for label, text in (("keyward log", stack.log_text()), ("audit log", stack.audit_text())):
        assert CLIENT_SECRET not in text, f"the secret appears in the {label}"
        assert CLIENT_ID not in text, f"the client id appears in the {label}"
        assert stack.token not in text, f"the client token appears in the {label}"
    assert CLIENT_SECRET not in stack.check.stdout + stack.check.stderr
