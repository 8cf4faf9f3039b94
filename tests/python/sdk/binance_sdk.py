"""binance-sdk-spot and binance-sdk-wallet (Binance's official connectors), base_path = keyward."""

from binance_sdk_spot.rest_api.models import (NewOrderSideEnum, NewOrderTimeInForceEnum,
                                              NewOrderTypeEnum)
from binance_sdk_spot.spot import ConfigurationRestAPI, Spot
from binance_sdk_wallet.wallet import Wallet

from common import BASE, TOKEN, step


def config():
    return ConfigurationRestAPI(api_key=TOKEN, api_secret="dummy-not-used", base_path=BASE)


spot = Spot(config_rest_api=config()).rest_api
step("read", lambda: {"can_trade": spot.get_account().data().can_trade})
order = step("place", lambda: spot.new_order(
    symbol="BTCUSDT", side=NewOrderSideEnum["BUY"].value, type=NewOrderTypeEnum["LIMIT"].value,
    time_in_force=NewOrderTimeInForceEnum["GTC"].value, quantity=0.01, price=30000,
).data().order_id)
if order is not None:
    step("cancel", lambda: spot.delete_order(symbol="BTCUSDT", order_id=order).data().status)
wallet = Wallet(config_rest_api=config()).rest_api
step("withdraw", lambda: wallet.withdraw(coin="USDT", address="0x" + "12" * 20, amount=100,
                                         network="ETH").data())
