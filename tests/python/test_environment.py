"""Demo modes that never turn live: `[[credential]] environment = "live" | "demo"`.

A bot left on its SDK's demo setting marks its requests (OKX `x-simulated-trading: 1`, Bitget
`paptrading: 1`); keyward refuses such a request for a live credential (403
`environment_mismatch`, before anything is signed) and, for a demo credential, sends every
request to the exchange's demo with its demo header whatever the bot sent. ccxt is the bot,
unmodified (its sandbox mode is what sets the marker); the mocks verify the signatures.
"""

import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

PASSPHRASE = "Real-Pass-9f3e"


def okx_stack(tmp_path_factory, name, environment):
    return harness.running_stack(
        tmp_path_factory.mktemp(name), exchange="okx", passphrase=PASSPHRASE,
        key_header="OK-ACCESS-KEY", credential_extra=f'environment = "{environment}"')


@pytest.fixture(scope="module")
def okx_live(tmp_path_factory):
    yield from okx_stack(tmp_path_factory, "okx-live", "live")


@pytest.fixture(scope="module")
def okx_demo(tmp_path_factory):
    yield from okx_stack(tmp_path_factory, "okx-demo", "demo")


def okx_bot(stack, sandbox):
    ex = ccxt.okx({"apiKey": stack.token, "secret": harness.DUMMY_SECRET, "password": "dummy",
                   "enableRateLimit": False, "timeout": 30000})
    if sandbox:
        ex.set_sandbox_mode(True)  # before repointing: it swaps the URLs for the test ones
    return harness.repoint_ccxt(ex, stack.base)


def signed_records(stack):
    return [r for r in stack.mock.records() if r["headers"].get("ok-access-sign")]


def test_a_bot_in_demo_mode_is_refused_by_a_live_credential_and_nothing_is_signed(okx_live):
    s = okx_live
    before = len(signed_records(s))
    bot = okx_bot(s, sandbox=True)
    with pytest.raises(ccxt.BaseError) as e:
        bot.fetch_balance()
    text = str(e.value)
    assert "environment_mismatch" in text, text
    assert "never signs a demo request with a live key" in text, text
    assert len(signed_records(s)) == before, "nothing was signed for the exchange"
    # The same bot without the demo setting trades live, as configured.
    assert okx_bot(s, sandbox=False).fetch_balance()["info"]["code"] == "0"
    rec = signed_records(s)[-1]
    assert rec["verified"] is True and "x-simulated-trading" not in rec["headers"], rec


def test_a_marker_keyward_cannot_read_is_refused(okx_live, okx_demo):
    for s in (okx_live, okx_demo):
        status, body = s.request("GET", "/api/v5/account/balance",
                                 headers={"x-simulated-trading": "true"})
        assert status == 400, body
        assert json.loads(body)["error"]["code"] == "bad_environment_marker", body


def test_a_demo_credential_always_sends_the_demo_header(okx_demo):
    s = okx_demo
    for sandbox in (True, False):  # marked demo by the bot, or not marked at all
        before = len(signed_records(s))
        assert okx_bot(s, sandbox=sandbox).fetch_balance()["info"]["code"] == "0"
        new = signed_records(s)[before:]
        assert new and all(r["verified"] is True for r in new), new
        assert all(r["headers"].get("x-simulated-trading") == "1" for r in new), new
    # Marked live by hand, to a demo credential: refused.
    status, body = s.request("GET", "/api/v5/account/balance", headers={"x-simulated-trading": "0"})
    assert status == 403 and json.loads(body)["error"]["code"] == "environment_mismatch", body


def test_the_key_permission_check_of_a_demo_credential_asks_the_demo(okx_demo, okx_live):
    # keyward's own checks (`keyward check` and serve's start-up) go where the key lives.
    for stack, demo in ((okx_demo, True), (okx_live, False)):
        own = harness.records(stack, "/api/v5/account/config")[:2]
        assert len(own) == 2 and all(r["permissions_mode"] == "safe" for r in own), own
        assert all((r["headers"].get("x-simulated-trading") == "1") == demo for r in own), own


@pytest.fixture(scope="module")
def bitget_demo(tmp_path_factory):
    yield from harness.running_stack(
        tmp_path_factory.mktemp("bitget-demo"), exchange="bitget", passphrase=PASSPHRASE,
        key_header="ACCESS-KEY", credential_extra='environment = "demo"')


def test_bitget_demo_marks_signed_requests_only(bitget_demo):
    s = bitget_demo
    ex = ccxt.bitget({"apiKey": s.token, "secret": harness.DUMMY_SECRET, "password": "dummy",
                      "enableRateLimit": False, "timeout": 30000})
    ex.set_sandbox_mode(True)
    bot = harness.repoint_ccxt(ex, s.base)
    bot.fetch_balance()
    signed = [r for r in s.mock.records() if r["headers"].get("access-sign")]
    assert signed and all(r["verified"] is True for r in signed), signed
    assert all(r["headers"].get("paptrading") == "1" for r in signed), signed
    public = [r for r in s.mock.records() if "/market/" in r["path"] or "/public/" in r["path"]]
    assert public and all("paptrading" not in r["headers"] for r in public), public


@pytest.fixture(scope="module")
def binance_demo(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("binance-demo"),
                                     credential_extra='environment = "demo"')


def test_a_demo_credential_refuses_what_the_demo_does_not_have(binance_demo):
    s = binance_demo
    checked = s.run("check", "--config", str(s.config)).stdout
    assert "environment demo: requests go to binance demo mode" in checked, checked
    status, body = s.request("GET", "/api/v3/account")
    assert status == 200, body  # spot: in Binance's demo mode
    before = len(s.mock.records())
    status, body = s.request("GET", "/sapi/v1/account/apiRestrictions")
    assert status == 403, body
    err = json.loads(body)["error"]
    assert err["code"] == "not_in_demo" and "api.binance.com/sapi" in err["message"], err
    assert len(s.mock.records()) == before, "never sent to the live exchange"


def test_demo_for_an_exchange_without_one_is_a_configuration_error(tmp_path):
    s = harness.Stack(tmp_path, exchange="kraken", credential_extra='environment = "demo"')
    with pytest.raises(Exception) as e:
        s.start()
    s.stop()
    assert "knows no demo environment for kraken" in str(e.value), e.value


@pytest.mark.parametrize("key,environment,refused", [
    ("PKZ4PQ7N3XK2M5VB8RTY", "live", True),   # a paper key on a live credential
    ("AKZ4PQ7N3XK2M5VB8RTY", "demo", True),   # a live key on a demo credential
    ("PKZ4PQ7N3XK2M5VB8RTY", "demo", False),
])
def test_an_alpaca_key_must_match_the_credentials_environment(tmp_path, key, environment, refused):
    secret = "wq8Lr2Vt9Yp4Hk7Nc3Xb6Zm1Fd5Gs0Jq2Ae8Tu4Ri"
    s = harness.Stack(tmp_path, exchange="alpaca", api_key=key, secret=secret,
                      key_header="APCA-API-KEY-ID", credential_extra=f'environment = "{environment}"')
    try:
        if refused:
            with pytest.raises(Exception) as e:
                s.start()
            text = str(e.value)
            assert "Alpaca paper key ids start with PK" in text and f'environment = "{environment}"' in text, text
            assert key not in text and secret not in text, "the error names no key"
        else:
            s.start()
            status, body = s.request("GET", "/trading/v2/account")
            assert status == 200, body
    finally:
        s.stop()
