"""Token faults while serving: the token goes away and comes back.

* SoftHSM: the token folder is moved away (what a failing module looks like to keyward).
* A virtual YubiKey (scripts/vpiv/): its emulator process is stopped (the card pulled) and
  started again on the same state (plugged back in).

A credential whose key is on the token (`keyward import --in-token`, `keygen --api-key`) needs
it for every signed request: while it is gone those fail closed with 503 `key_unavailable` and
reach nothing; requests that need no token (public market data) keep working. The card plugged
back in is used again at the next request (keyward reconnects, verifies the PIN once, retries).

SoftHSM 2.6.1 keeps a token whose folder vanished invalid until the module is finalised, so
there signing stays 503 after the folder is back (measured: 10 tries over 5 s) until keyward
restarts: the session pool logs in again and reopens sessions but does not re-initialise the
module. That case is checked for failing closed only.
"""

import json
import shutil

import pytest

import harness

SIGNED = "/api/v3/account?timestamp=1"
PUBLIC = "/api/v3/ticker/price?symbol=BTCUSDT"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("token-faults"), in_token=True)


def test_signing_fails_closed_while_the_token_is_gone_and_the_rest_keeps_working(stack):
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


def plug_card(card):
    """Starts the virtual card's emulator again on its saved state (the card plugged back in)."""
    vpiv = [harness.sys.executable, str(harness.SCRIPTS / "vpiv" / "vpiv.py")]
    port = json.loads((card.dir / "readers.json").read_text())[0]["port"]
    card.card = harness.subprocess.Popen(
        [*vpiv, "card", str(card.dir / "card.json"), "--vpcd", f"127.0.0.1:{port}", "--verbose"],
        stdout=harness.subprocess.PIPE, stderr=open(card.dir / "card-2.log", "wb"))
    card._ready(card.card, "the virtual card")


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

    harness.stop(s.yubikey.card)  # the card is pulled
    for _ in range(3):
        status, body = s.request("GET", SIGNED)
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "key_unavailable", body
    assert len(s.mock.records()) == before, "nothing signed reached the exchange"
    status, body = s.request("GET", PUBLIC, token=False)
    assert status == 200, f"a request that needs no card keeps working: {body}"

    plug_card(s.yubikey)  # and plugged back in
    status, body = s.request("GET", SIGNED)
    assert status == 200, f"signing works again once the card is back: {body}"
    assert s.proc.poll() is None
