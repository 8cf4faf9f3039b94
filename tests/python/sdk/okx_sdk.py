"""python-okx (OKX's SDK), domain = keyward. KW_FLAG is its flag: "0" live, "1" demo (its
default, which marks requests x-simulated-trading: 1)."""

import os

import okx.Account as Account
import okx.Funding as Funding
import okx.Trade as Trade

from common import BASE, TOKEN, step

FLAG = os.environ.get("KW_FLAG", "0")
args = dict(api_key=TOKEN, api_secret_key="dummy-not-used", passphrase="dummy-passphrase",
            flag=FLAG, domain=BASE, debug=False)


def answer(result):
    """python-okx returns OKX's JSON answer and raises nothing: an error is a non-zero code."""
    if result.get("code") != "0":
        raise RuntimeError(f"code {result.get('code')}: {result.get('msg')}")
    return result["data"]


step("read", lambda: answer(Account.AccountAPI(**args).get_account_balance()))
trade = Trade.TradeAPI(**args)
placed = step("place", lambda: answer(trade.place_order(
    instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.01", px="30000")))
if placed:
    step("cancel", lambda: answer(trade.cancel_order(instId="BTC-USDT", ordId=placed[0]["ordId"])))
step("withdraw", lambda: answer(Funding.FundingAPI(**args).withdrawal(
    ccy="USDT", amt="100", dest="4", toAddr="0x" + "12" * 20, chain="USDT-ERC20")))
