"""kucoin-universal-sdk (KuCoin's SDK), spot endpoint = keyward."""

import uuid

from kucoin_universal_sdk.api.client import DefaultClient
from kucoin_universal_sdk.generate.account.account.model_get_spot_account_list_req import (
    GetSpotAccountListReqBuilder)
from kucoin_universal_sdk.generate.account.withdrawal.model_withdrawal_v3_req import (
    WithdrawalV3Req, WithdrawalV3ReqBuilder)
from kucoin_universal_sdk.generate.spot.order.model_add_order_req import (AddOrderReq,
                                                                          AddOrderReqBuilder)
from kucoin_universal_sdk.generate.spot.order.model_cancel_order_by_order_id_req import (
    CancelOrderByOrderIdReqBuilder)
from kucoin_universal_sdk.model.client_option import ClientOptionBuilder
from kucoin_universal_sdk.model.transport_option import TransportOptionBuilder

from common import BASE, TOKEN, step

option = (ClientOptionBuilder().set_key(TOKEN).set_secret("dummy-not-used")
          .set_passphrase("dummy-passphrase").set_spot_endpoint(BASE)
          .set_futures_endpoint(BASE + "/futures").set_broker_endpoint(BASE)
          .set_transport_option(TransportOptionBuilder().build()).build())
rest = DefaultClient(option).rest_service()
step("read", lambda: (rest.get_account_service().get_account_api().get_spot_account_list(
    GetSpotAccountListReqBuilder().build()).to_dict()))
orders = rest.get_spot_service().get_order_api()
placed = step("place", lambda: orders.add_order(
    AddOrderReqBuilder().set_client_oid(uuid.uuid4().hex).set_side(AddOrderReq.SideEnum.BUY)
    .set_symbol("BTC-USDT").set_type(AddOrderReq.TypeEnum.LIMIT).set_price("30000")
    .set_size("0.01").build()).order_id)
if placed:
    step("cancel", lambda: orders.cancel_order_by_order_id(
        CancelOrderByOrderIdReqBuilder().set_order_id(placed).set_symbol("BTC-USDT").build())
        .to_dict())
step("withdraw", lambda: rest.get_account_service().get_withdrawal_api().withdrawal_v3(
    WithdrawalV3ReqBuilder().set_currency("USDT").set_chain("eth").set_amount("100")
    .set_to_address("0x" + "12" * 20)
    .set_withdraw_type(WithdrawalV3Req.WithdrawTypeEnum.ADDRESS).build()).to_dict())
