"""What every mock answers on its exchange's key-permission endpoint (the one keyward's
key-permission self-check calls, `permission_endpoint` in src/exchange/*/profile.toml), in the
shape each exchange documents (the same shapes src/exchange/permission/tests.rs reads).

By default a key is *safe*: it may trade and read, never withdraw or transfer, and the exchange
accepts it from one IP address only. `mock_exchange.py --permissions FILE` names a JSON object
{"<api key>": MODE, "*": MODE} that is read again on every call, so a test can change a key's
answer while keyward runs. MODE is one of:

  safe        trade + read, IP-restricted (the default)
  open        trade + read, no IP restriction
  withdraw    can withdraw (and, where the exchange has one permission for both, transfer)
  transfer    can transfer between accounts but not withdraw (where the exchange tells them apart)
  unreadable  HTTP 200 whose body keyward cannot read (a field missing, or no entry for the key)
  error       the exchange's own error answer for an invalid key (HTTP 401)
  slow        "safe", but only after SLOW_SECONDS (a start-up whose self-check takes a while)

The answer replaces whatever the exchange's module answered, once the request is verified (an
unsigned or wrongly signed call still gets the exchange's authentication error).
"""

import json
import time

ENDPOINTS = {
    "binance": ("GET", "/sapi/v1/account/apiRestrictions"),
    "bybit": ("GET", "/v5/user/query-api"),
    "okx": ("GET", "/api/v5/account/config"),
    "kucoin": ("GET", "/api/v1/user/api-key"),
    "gate": ("GET", "/api/v4/account/main_keys"),
    "bitmex": ("GET", "/api/v1/apiKey"),
    "deribit": ("GET", "/api/v2/private/list_api_keys"),
    "coinbase": ("GET", "/api/v3/brokerage/key_permissions"),
}

MODES = ("safe", "open", "withdraw", "transfer", "unreadable", "error", "slow")
SLOW_SECONDS = 2.5
IP = "203.0.113.7"


def is_endpoint(exchange, method, path):
    return ENDPOINTS.get(exchange) == (method, path)


def mode_for(path, api_key):
    """The key's MODE from the --permissions file (re-read now), "safe" without one."""
    if not path:
        return "safe"
    try:
        with open(path, encoding="utf-8") as fh:
            table = json.load(fh)
    except FileNotFoundError:
        return "safe"
    mode = table.get(api_key or "", table.get("*", "safe"))
    if mode not in MODES:
        raise ValueError(f"--permissions: {mode!r} is not one of {MODES}")
    return mode


def answer(exchange, mode, api_key):
    """(status, payload) of the permission endpoint for a key in `mode`."""
    if mode == "slow":
        time.sleep(SLOW_SECONDS)
        mode = "safe"
    return ANSWERS[exchange](mode, api_key or "")


def binance(mode, key):
    if mode == "error":
        return 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    a = {"ipRestrict": mode != "open", "createTime": 1698645219000, "enableReading": True,
         "enableWithdrawals": mode == "withdraw", "enableInternalTransfer": False,
         "enableMargin": False, "enableFutures": True,
         "permitsUniversalTransfer": mode == "transfer", "enableVanillaOptions": False,
         "enableFixApiTrade": False, "enableFixReadOnly": False,
         "enableSpotAndMarginTrading": True, "enablePortfolioMarginTrading": False}
    if mode == "unreadable":
        del a["enableWithdrawals"]
    return 200, a


def bybit(mode, key):
    if mode == "error":
        return 401, {"retCode": 10003, "retMsg": "API key is invalid.", "result": {}, "retExtInfo": {},
                     "time": int(time.time() * 1000)}
    wallet = {"withdraw": ["AccountTransfer", "Withdraw"], "transfer": ["AccountTransfer"],
              "unreadable": None}.get(mode, [])
    result = {"id": "13770661", "note": "keyward-test", "apiKey": key, "readOnly": 0, "secret": "",
              "permissions": {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"],
                              "Wallet": wallet, "Options": ["OptionsTrade"], "Derivatives": [],
                              "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": [],
                              "Earn": []},
              "ips": ["*"] if mode == "open" else [IP], "type": 1, "deadlineDay": 83,
              "expiredAt": "2027-03-01T00:00:00Z", "unified": 0, "uta": 1, "userID": 24600000,
              "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
              "rsaPublicKey": "", "isMaster": True}
    return 200, {"retCode": 0, "retMsg": "", "result": result, "retExtInfo": {},
                 "time": int(time.time() * 1000)}


def okx(mode, key):
    if mode == "error":
        return 401, {"code": "50111", "msg": "Invalid OK-ACCESS-KEY", "data": []}
    if mode == "unreadable":
        return 200, {"code": "0", "data": [], "msg": ""}
    perm = "read_only,withdraw,trade" if mode in ("withdraw", "transfer") else "read_only,trade"
    return 200, {"code": "0", "msg": "", "data": [{
        "acctLv": "2", "autoLoan": False, "ctIsoMode": "automatic", "greeksType": "PA",
        "label": "keyward-test", "level": "Lv1", "levelTmp": "", "mgnIsoMode": "automatic",
        "posMode": "net_mode", "uid": "44705892343619584", "perm": perm,
        "ip": "" if mode == "open" else IP, "mainUid": "44705892343619584", "roleType": "0",
        "traderInsts": [], "spotRoleType": "0", "kycLv": "3", "type": "0"}]}


def kucoin(mode, key):
    if mode == "error":
        return 401, {"code": "400003", "msg": "KC-API-KEY not exists"}
    perm = {"withdraw": "General,Spot,Futures,Transfer", "transfer": "General,Spot,InnerTransfer",
            "unreadable": 3}.get(mode, "General,Spot,Futures")
    return 200, {"code": "200000", "data": {
        "remark": "keyward-test", "apiKey": key, "apiVersion": 3, "permission": perm,
        "ipWhitelist": "" if mode == "open" else IP, "createdAt": 1729762044000,
        "uid": 165111215, "isMaster": True}}


def gate(mode, key):
    if mode == "error":
        return 401, {"label": "INVALID_KEY", "message": "Invalid key provided"}
    perms = [{"name": "spot", "read_only": False}, {"name": "futures", "read_only": False},
             {"name": "wallet", "read_only": mode != "transfer"}]
    if mode == "withdraw":
        perms.append({"name": "withdraw", "read_only": False})
    return 200, [{"state": 1, "mode": 1, "name": "keyward-test", "currency_pairs": [],
                  "user_id": 1234567, "ip_whitelist": [] if mode == "open" else [IP],
                  "perms": perms, "key": "another-key" if mode == "unreadable" else key,
                  "created_at": "1700000000", "updated_at": "1700000000",
                  "last_access": "1700000000"}]


def bitmex(mode, key):
    if mode == "error":
        return 401, {"error": {"message": "Invalid API Key.", "name": "HTTPError"}}
    perms = ["order", "withdraw"] if mode in ("withdraw", "transfer") else ["order"]
    return 200, [{"id": "another-key" if mode == "unreadable" else key, "secret": "",
                  "name": "keyward-test", "nonce": 0,
                  "cidr": "0.0.0.0/0" if mode == "open" else f"{IP}/32", "permissions": perms,
                  "enabled": True, "userId": 1, "created": "2024-01-01T00:00:00.000Z"}]


def deribit(mode, key):
    if mode == "error":
        return 401, {"jsonrpc": "2.0", "error": {"code": 13004, "message": "invalid_credentials"}}
    wallet = "wallet:read_write" if mode in ("withdraw", "transfer") else "wallet:read"
    us = int(time.time() * 1_000_000)
    return 200, {"jsonrpc": "2.0", "result": [{
        "timestamp": 1560238048714, "max_scope": f"account:read trade:read_write {wallet}",
        "id": 5, "enabled": True, "default": False, "client_secret": "",
        "client_id": "another-key" if mode == "unreadable" else key, "name": "keyward-test",
        "ip_whitelist": [] if mode == "open" else [IP]}],
        "usIn": us, "usOut": us + 10, "usDiff": 10, "testnet": False}


def coinbase(mode, key):
    if mode == "error":
        return 401, {"error": "unauthorized", "message": "Unauthorized"}
    transfer = {"withdraw": True, "transfer": True, "unreadable": "no"}.get(mode, False)
    return 200, {"can_view": True, "can_trade": True, "can_transfer": transfer,
                 "portfolio_uuid": "11111111-1111-4111-8111-111111111111",
                 "portfolio_type": "DEFAULT"}


ANSWERS = {"binance": binance, "bybit": bybit, "okx": okx, "kucoin": kucoin, "gate": gate,
           "bitmex": bitmex, "deribit": deribit, "coinbase": coinbase}
