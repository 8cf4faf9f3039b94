"""Token faults while serving: the token goes away and comes back.

* SoftHSM: the token folder is moved away (what a failing module looks like to keyward).
* A virtual YubiKey (scripts/vpiv/): its emulator process is stopped (the card pulled) and
  started again on the same state (plugged back in).

A credential whose key is on the token (`keyward import --in-token`, `keygen --api-key`) needs
it for every signed request: while it is gone those fail closed with 503 `key_unavailable` and
reach nothing; requests that need no token (public market data) keep working. The card plugged
back in is used again at the next request (keyward reconnects, verifies the PIN once, retries).

SoftHSM 2.6.1 keeps a token whose folder vanished invalid until the module is finalised
(`C_GetTokenInfo` answers CKR_GENERAL_ERROR even once the folder is back): the session pool then
finalizes and initializes the module again (at most once a second), so signing works again
without a restart.
"""

import json
import shutil
import time

import pytest

import harness

SIGNED = "/api/v3/account?timestamp=1"
PUBLIC = "/api/v3/ticker/price?symbol=BTCUSDT"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("token-faults"), in_token=True)


def test_signing_fails_closed_while_the_token_is_gone_and_recovers_when_it_is_back(stack):
    s = stack
    status, body = s.request("GET", SIGNED)
    assert status == 200, body
    before = len(s.mock.records())

    tokens = s.dir / "tokens"
    away = s.dir / "tokens-away"
    shutil.move(tokens, away)
    try:
        for _ in range(3):
            status, body = s.request("GET", SIGNED)
            assert status == 503, body
            error = json.loads(body)["error"]
            assert error["code"] == "key_unavailable", error
            assert "the token is probably gone or failing" in error["message"], error
        assert len(s.mock.records()) == before, "nothing signed reached the exchange"
        status, body = s.request("GET", PUBLIC, token=False)
        assert status == 200, f"a request that needs no token keeps working: {body}"
        assert len(s.mock.records()) == before + 1
    finally:
        shutil.move(away, tokens)
    assert s.proc.poll() is None, "keyward keeps serving"

    # The folder is back: within a few tries (the module is re-initialized at most once a
    # second) signing works again, in the same process.
    deadline = time.monotonic() + 5
    while True:
        status, body = s.request("GET", SIGNED)
        if status == 200 or time.monotonic() > deadline:
            break
        assert status == 503 and json.loads(body)["error"]["code"] == "key_unavailable", body
        time.sleep(0.2)
    assert status == 200, f"signing recovers once the token folder is back: {body}"
    assert len(s.mock.records()) == before + 2, "the signed request reached the exchange"
    for _ in range(3):
        status, body = s.request("GET", SIGNED)
        assert status == 200, body
    assert s.proc.poll() is None, "without a restart"


@pytest.fixture(scope="module")
def on_card(tmp_path_factory):
    api_key = harness.binance_like_key()
    yield from harness.running_stack(
        tmp_path_factory.mktemp("card-pulled"), api_key=api_key, api_key_pair="ed25519",
        yubikey="5.7.1", mock_credentials=lambda pem: {api_key: {"public_key_pem": pem}})


def test_a_pulled_card_fails_signing_closed_and_signing_recovers_when_it_is_back(on_card):
    s = on_card
    status, body = s.request("GET", SIGNED)
    assert status == 200, body
    before = len(s.mock.records())

    s.yubikey.pull()  # the card is pulled
    for _ in range(3):
        status, body = s.request("GET", SIGNED)
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "key_unavailable", body
    assert len(s.mock.records()) == before, "nothing signed reached the exchange"
    status, body = s.request("GET", PUBLIC, token=False)
    assert status == 200, f"a request that needs no card keeps working: {body}"

    s.yubikey.plug()  # and plugged back in
    status, body = s.request("GET", SIGNED)
    assert status == 200, f"signing works again once the card is back: {body}"
    assert s.proc.poll() is None
