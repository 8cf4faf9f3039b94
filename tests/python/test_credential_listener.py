"""A credential's own listener (`[[credential]] listen`): the exchange's own paths, no
`/<credential>` prefix, for SDKs that join absolute paths to their base URL with urljoin (which
drops a path prefix) or cannot take a path in their base URL at all.

An unmodified ccxt kraken bot whose API URL is the bare listener (no prefix) trades through it;
`urljoin` of Kraken's absolute paths onto it is what such SDKs do; the prefixed form is not an
exchange path there; and the main listener keeps serving the prefixed form.
"""

import asyncio
import base64
import json
import secrets
import urllib.parse
import urllib.request

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

DUMMY_SECRET = base64.b64encode(b"dummy-secret-that-keyward-ignores").decode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(
        tmp_path_factory.mktemp("own-listener"), exchange="kraken",
        api_key=harness.binance_like_key(56),
        secret=base64.b64encode(secrets.token_bytes(64)).decode(), key_header="API-Key",
        ws_mock=True, credential_extra='listen = "127.0.0.1:0"')


def get(url, token=None, host=None):
    """GET `url` (with `token` as the API key, and `host` as the Host header when given)."""
    headers = {**({"API-Key": token} if token else {}), **({"Host": host} if host else {})}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_check_names_the_listener(stack):
    out = stack.run("check", "--config", str(stack.config)).stdout
    assert f"credential {stack.credential}: also served at 127.0.0.1:0" in out, out


def test_an_unmodified_bot_trades_through_the_credentials_own_listener(stack):
    own = stack.own_base()
    assert own != f"http://127.0.0.1:{stack.port}"
    bot = harness.repoint_ccxt(ccxt.kraken({"apiKey": stack.token, "secret": DUMMY_SECRET,
                                            "enableRateLimit": False}), own)
    before = len(stack.mock.records())
    balance = bot.fetch_balance()
    assert balance["info"]["error"] == [], balance
    signed = [r for r in stack.mock.records()[before:] if r["path"].startswith("/0/private/")]
    assert signed and signed[-1]["verified"] is True, signed


def test_absolute_paths_joined_with_urljoin_reach_the_exchange(stack):
    # What an SDK whose base URL is "http://keyward/kraken-main" does with "/0/public/Time":
    # the prefix is gone. On the main listener that is a credential named "0"; on the
    # credential's own listener it is Kraken's path.
    joined = urllib.parse.urljoin(f"http://127.0.0.1:{stack.port}/{stack.credential}", "/0/public/Time")
    status, body = get(joined)
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found", body
    status, body = get(urllib.parse.urljoin(stack.own_base() + "/anything", "/0/public/Time"))
    assert status == 200, body


def test_the_prefixed_form_is_not_an_exchange_path_on_the_own_listener(stack):
    status, body = get(f"{stack.own_base()}/{stack.credential}/0/public/Time")
    assert status == 404, body
    # ... and the main listener still serves it.
    status, body = get(f"{stack.base}/0/public/Time")
    assert status == 200, body


def test_a_listener_reachable_from_other_machines_needs_tls(tmp_path):
    s = harness.Stack(tmp_path, exchange="kraken", api_key=harness.binance_like_key(56),
                      secret=base64.b64encode(secrets.token_bytes(64)).decode(),
                      key_header="API-Key", credential_extra='listen = "0.0.0.0:0"')
    with pytest.raises(Exception) as e:
        s.start()
    s.stop()
    assert "listen: 0.0.0.0:0 is reachable from other machines" in str(e.value), e.value


def test_websocket_sessions_use_the_exchanges_own_paths_too(stack):
    import ccxt.pro as ccxtpro

    own = stack.own_base()

    async def scenario():
        ex = harness.repoint_ccxt(ccxtpro.kraken({"apiKey": stack.token, "secret": DUMMY_SECRET,
                                                  "enableRateLimit": False}), own)
        ex.urls["api"]["ws"]["privateV2"] = own.replace("http://", "ws://") + "/v2"
        try:
            return await asyncio.wait_for(ex.watch_balance(), 20)
        finally:
            await ex.close()

    balance = asyncio.new_event_loop().run_until_complete(scenario())
    assert balance["USD"]["total"] == 1234.5, balance
    subs = stack.ws.frames("subscribe")
    assert subs and all(f["verified"] for f in subs), subs


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    yield from harness.running_stack(
        tmp_path_factory.mktemp("host-name"), exchange="kraken",
        api_key=harness.binance_like_key(56),
        secret=base64.b64encode(secrets.token_bytes(64)).decode(), key_header="API-Key",
        credential_extra='host_name = "kraken-main.localhost"')


def test_a_credentials_host_name_selects_it_without_a_prefix(named):
    s = named
    out = s.run("check", "--config", str(s.config)).stdout
    assert "also served to Host kraken-main.localhost" in out, out
    host = f"kraken-main.localhost:{s.port}"
    plain = f"http://127.0.0.1:{s.port}"
    status, body = get(plain + "/0/public/Time", host=host)
    assert status == 200, body
    before = len(s.mock.records())
    bot = ccxt.kraken({"apiKey": s.token, "secret": DUMMY_SECRET, "enableRateLimit": False,
                       "headers": {"Host": host}})
    harness.repoint_ccxt(bot, f"http://127.0.0.1:{s.port}")
    assert bot.fetch_balance()["info"]["error"] == []
    signed = [r for r in s.mock.records()[before:] if r["path"].startswith("/0/private/")]
    assert signed and all(r["verified"] is True for r in signed), signed
    # Under that name the prefixed form is not an exchange path; the plain address keeps it.
    status, body = get(plain + f"/{s.credential}/0/public/Time", host=host)
    assert status == 404, body
    status, body = get(plain + f"/{s.credential}/0/public/Time", host=f"127.0.0.1:{s.port}")
    assert status == 200, body
    # Another name is still refused (DNS rebinding).
    status, body = get(plain + "/0/public/Time", host=f"other.localhost:{s.port}")
    assert status == 421 and json.loads(body)["error"]["code"] == "bad_host", body


def test_a_host_name_that_is_not_one_is_a_configuration_error(tmp_path):
    s = harness.Stack(tmp_path, exchange="kraken", api_key=harness.binance_like_key(56),
                      secret=base64.b64encode(secrets.token_bytes(64)).decode(),
                      key_header="API-Key", credential_extra='host_name = "127.0.0.1"')
    with pytest.raises(Exception) as e:
        s.start()
    s.stop()
    assert "host_name" in str(e.value) and "not a host name" in str(e.value), e.value
