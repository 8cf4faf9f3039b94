"""Unmodified ccxt coinbase bots, with dummy keys, through keyward to a mock Coinbase.

The bot's API key (key name) is its keyward client token and its secret a throwaway key of its
own: ccxt signs a dummy JWT whose `sub`/`kid` is the client token. keyward reads the token from
it, drops it, and signs a fresh JWT with the sealed CDP key (ES256 PEM, or Ed25519 base64). The
mock verifies each JWT with the key's PUBLIC key only and checks its `uri` claim.
"""

import base64
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from cryptography.hazmat.primitives.asymmetric import ec, ed25519  # noqa: E402

KEY_NAME = "organizations/0f1e2d3c-aaaa-4bbb-8ccc-000000000001/apiKeys/1a2b3c4d-dddd-4eee-8fff-000000000002"
ED_KEY_NAME = "9a8b7c6d-1111-4222-8333-000000000003"


def ec_key_pem():
    k = ec.generate_private_key(ec.SECP256R1())
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                           serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return priv, pub


def ed_key_b64():
    k = ed25519.Ed25519PrivateKey.generate()
    raw = k.private_bytes_raw() + k.public_key().public_bytes_raw()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return base64.b64encode(raw).decode(), pub


def start_stack(tmp_path_factory, name, key_name, secret, public):
    s = harness.Stack(tmp_path_factory.mktemp(name), exchange="coinbase", api_key=key_name, secret=secret,
                      mock_credentials={key_name: {"public_key": public}}, key_header="CB-ACCESS-KEY")
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    return s


@pytest.fixture(scope="module")
def cb(tmp_path_factory):
    secret, public = ec_key_pem()
    s = start_stack(tmp_path_factory, "coinbase-es256", KEY_NAME, secret, public)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cb_ed(tmp_path_factory):
    secret, public = ed_key_b64()
    s = start_stack(tmp_path_factory, "coinbase-ed25519", ED_KEY_NAME, secret, public)
    yield s
    s.stop()


def make_bot(stack, **creds):
    ex = ccxt.coinbase(dict({"enableRateLimit": False, "timeout": 30000}, **creds))
    harness.repoint_ccxt(ex, stack.base)
    return ex


@pytest.fixture(scope="module")
def bot(cb):
    dummy, _ = ec_key_pem()  # the bot's own throwaway key: its signatures are never trusted
    ex = make_bot(cb, apiKey=cb.token, secret=dummy)
    ex.dummy_secret = dummy
    return ex


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def jwt_parts(rec):
    token = rec["headers"]["authorization"].split(" ", 1)[1]
    h, c, _ = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(h))), json.loads(base64.urlsafe_b64decode(pad(c)))


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["auth"] == "signed"
    assert rec["api_key"] == stack.api_key, "upstream JWT must name the real key"
    header, claims = jwt_parts(rec)
    assert header["kid"] == stack.api_key and claims["sub"] == stack.api_key
    assert claims["uri"] == f"{rec['method']} api.coinbase.com{rec['path']}"
    blob = rec["query"] + rec["body"] + json.dumps(rec["headers"])
    assert stack.token not in blob, "the client token leaked upstream"
    assert not [h for h in rec["headers"] if h.startswith("cb-access")], rec["headers"]


def test_load_markets(cb, markets, bot):
    assert "BTC/USD" in markets and "ETH/USD" in markets
    assert markets["BTC/USD"]["spot"] is True
    # the signed fee lookup inside load_markets was re-signed
    assert_resigned(cb, harness.records(cb, "/api/v3/brokerage/transaction_summary")[-1])
    pub = harness.records(cb, "/api/v3/brokerage/market/products")
    assert pub and pub[-1]["verified"] and "authorization" not in pub[-1]["headers"]


def test_fetch_balance(cb, markets, bot):
    bal = bot.fetch_balance()  # ccxt default: GET /v2/accounts?limit=250
    assert bal["USD"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    rec = harness.records(cb, "/v2/accounts", "GET")[-1]
    assert_resigned(cb, rec)
    assert rec["query"] == "limit=250"
    bal = bot.fetch_balance({"v3": True})
    assert bal["BTC"]["free"] == 1.25
    assert_resigned(cb, harness.records(cb, "/api/v3/brokerage/accounts", "GET")[-1])


def test_create_and_cancel_order(cb, markets, bot):
    order = bot.create_order("BTC/USD", "limit", "buy", 0.01, 30000)
    assert order["id"]
    rec = harness.records(cb, "/api/v3/brokerage/orders", "POST")[-1]
    assert_resigned(cb, rec)
    body = json.loads(rec["body"])
    assert body["product_id"] == "BTC-USD" and body["side"] == "BUY"
    cfg = body["order_configuration"]["limit_limit_gtc"]
    assert float(cfg["base_size"]) == 0.01 and float(cfg["limit_price"]) == 30000
    assert rec["headers"]["content-type"] == "application/json"

    cancelled = bot.cancel_order(order["id"], "BTC/USD")
    assert cancelled["id"] == order["id"]
    rec = harness.records(cb, "/api/v3/brokerage/orders/batch_cancel", "POST")[-1]
    assert_resigned(cb, rec)
    assert json.loads(rec["body"]) == {"order_ids": [order["id"]]}
    assert rec["status"] == 200


def test_withdraw_refused(cb, markets, bot):
    with harness.mock_untouched(cb, "a withdrawal reached the exchange"):
        harness.expect_403_or_hard_deny(lambda: bot.withdraw("USDC", 10, "0x" + "12" * 20, {"account_id": "acc-usdc"}))


def test_transfer_refused(cb, markets, bot):
    with harness.mock_untouched(cb, "a portfolio transfer reached the exchange"):
        harness.expect_403_or_hard_deny(lambda: bot.transfer("USDC", 10, "8bfc20d7-f7c6-4422-bf07-8243ca4169fe",
                                                             "9cfc20d7-f7c6-4422-bf07-8243ca4169fe"))


def test_bearer_token_bot(cb, markets):
    """A bot that sends the client token as the whole Bearer value (ccxt's `token` option)."""
    ex = make_bot(cb, token=cb.token)
    n = len(harness.records(cb, "/api/v3/brokerage/accounts"))
    resp = ex.v3PrivateGetBrokerageAccounts()
    assert resp["accounts"]
    recs = harness.records(cb, "/api/v3/brokerage/accounts")
    assert len(recs) == n + 1
    assert_resigned(cb, recs[-1])


def test_permission_endpoint(cb, markets, bot):
    resp = bot.v3PrivateGetBrokerageKeyPermissions()
    assert resp["can_transfer"] is False
    assert_resigned(cb, harness.records(cb, "/api/v3/brokerage/key_permissions")[-1])


def test_unknown_client_token_refused(cb, markets):
    dummy, _ = ec_key_pem()
    other = make_bot(cb, apiKey="kwt_not-a-client-token", secret=dummy)
    with harness.mock_untouched(cb):
        with pytest.raises(ccxt.BaseError) as ei:
            other.v3PrivateGetBrokerageAccounts()
        assert "401" in str(ei.value)


def test_ed25519_credential_and_ed25519_bot(cb_ed):
    dummy, _ = ed_key_b64()  # ccxt treats an 88-character base64 secret as an Ed25519 CDP key
    ex = make_bot(cb_ed, apiKey=cb_ed.token, secret=dummy)
    ex.load_markets()
    order = ex.create_order("ETH/USD", "limit", "sell", 0.5, 2000)
    ex.cancel_order(order["id"], "ETH/USD")
    for path in ("/api/v3/brokerage/transaction_summary", "/api/v3/brokerage/orders",
                 "/api/v3/brokerage/orders/batch_cancel"):
        rec = harness.records(cb_ed, path)[-1]
        assert_resigned(cb_ed, rec)
        header, claims = jwt_parts(rec)
        assert header["alg"] == "EdDSA" and claims["uris"] == [claims["uri"]]
    with harness.mock_untouched(cb_ed):
        harness.expect_403_or_hard_deny(lambda: ex.withdraw("BTC", 0.1, "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", {"account_id": "acc-btc"}))


def test_every_forwarded_request_verified(cb, cb_ed, markets, bot):
    for s in (cb, cb_ed):
        recs = s.mock.records()
        assert recs
        bad = [r for r in recs if not r["verified"]]
        assert not bad, f"the mock exchange rejected forwarded requests: {bad}"


def test_no_secret_in_logs_or_audit(cb, cb_ed, markets, bot):
    bot.fetch_balance()
    for s in (cb, cb_ed):
        log, audit = s.log_text(), s.audit_text()
        assert audit.strip()
        secret_body = "".join(l for l in s.secret.splitlines() if "-----" not in l)
        for label, text in (("keyward log", log), ("audit log", audit)):
            assert s.secret not in text and secret_body not in text, f"the secret appears in the {label}"
            for line in s.secret.splitlines():
                if "-----" not in line and len(line) > 16:
                    assert line not in text, f"part of the private key appears in the {label}"
            assert s.api_key not in text, f"the key name appears in the {label}"
            assert s.token not in text, f"the client token appears in the {label}"
        assert s.secret not in s.check.stdout + s.check.stderr
        assert s.api_key not in s.check.stdout + s.check.stderr
    assert "move_funds" in cb.audit_text() and "hard_deny" in cb.audit_text()
