"""Token faults while serving: the token vanishes (SoftHSM's token folder moved away, as a
pulled device or a failing module looks to keyward).

A credential whose HMAC key is on the token (`keyward import --in-token`) needs the token for
every signed request: while it is gone those fail closed with 503 `key_unavailable` and reach
nothing; requests that need no token (public market data) keep working.

Not covered here: recovery. SoftHSM 2.6.1 keeps a token whose folder vanished invalid until the
module is finalised, so signing stays 503 after the folder is back (measured: 10 tries over 5 s)
until keyward restarts; keyward's session pool re-logs in and reopens sessions, it does not
re-initialise the module.
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
        assert len(s.mock.records()) == before, "nothing signed reached the exchange"
        status, body = s.request("GET", PUBLIC, token=False)
        assert status == 200, f"a request that needs no token keeps working: {body}"
        assert len(s.mock.records()) == before + 1
    finally:
        shutil.move(away, tokens)
    assert s.proc.poll() is None, "keyward keeps serving"
