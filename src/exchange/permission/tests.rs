//! Each exchange's reading of its documented permission answer: a safe key, a key that can
//! move funds, and a malformed answer.

use super::*;
use crate::exchange::lookup;

fn read(exchange: &str, answer: &str, key: &str) -> Reading {
    lookup(exchange)
        .expect("shipped exchange")
        .read_permissions(answer.as_bytes(), key)
}

fn verdict(exchange: &str, answer: &str, key: &str) -> Verdict {
    read(exchange, answer, key).verdict()
}

const SAFE_IP: KeyPermissions = KeyPermissions {
    withdraw: Fact::Known(false),
    transfer: Fact::Known(false),
    ip_restricted: Fact::Known(true),
};

#[test]
fn binance() {
    let safe = r#"{"ipRestrict":true,"createTime":1698645219000,"enableReading":true,
        "enableWithdrawals":false,"enableInternalTransfer":false,"enableMargin":false,
        "enableFutures":true,"permitsUniversalTransfer":false,"enableVanillaOptions":false,
        "enableFixApiTrade":false,"enableFixReadOnly":false,"enableSpotAndMarginTrading":true,
        "enablePortfolioMarginTrading":false}"#;
    assert_eq!(read("binance", safe, "k"), Reading::Read(SAFE_IP));
    let withdraw = safe.replace(
        r#""enableWithdrawals":false"#,
        r#""enableWithdrawals":true"#,
    );
    assert_eq!(
        verdict("binance", &withdraw, "k"),
        Verdict::CanMove {
            withdraw: true,
            transfer: false
        }
    );
    let universal = safe.replace(
        r#""permitsUniversalTransfer":false"#,
        r#""permitsUniversalTransfer":true"#,
    );
    assert_eq!(
        verdict("binance", &universal, "k"),
        Verdict::CanMove {
            withdraw: false,
            transfer: true
        }
    );
    let open = safe.replace(r#""ipRestrict":true"#, r#""ipRestrict":false"#);
    assert_eq!(verdict("binance", &open, "k"), Verdict::Safe);
    let missing = safe.replace(r#""enableWithdrawals":false,"#, "");
    assert_eq!(verdict("binance", &missing, "k"), Verdict::Unknown);
    assert_eq!(
        verdict("binance", r#"{"code":-2015,"msg":"Invalid API-key"}"#, "k"),
        Verdict::Unknown
    );
    assert_eq!(verdict("binance", "<html>", "k"), Verdict::Unknown);
}

#[test]
fn bybit() {
    let answer = |wallet: &str, ips: &str| {
        format!(
            r#"{{"retCode":0,"retMsg":"","result":{{"id":"13770661","note":"bot","apiKey":"k",
            "readOnly":0,"secret":"","permissions":{{"ContractTrade":["Order","Position"],
            "Spot":["SpotTrade"],"Wallet":{wallet},"Options":["OptionsTrade"],"Derivatives":[],
            "CopyTrading":[],"BlockTrade":[],"Exchange":[],"NFT":[],"Earn":[]}},"ips":{ips},
            "type":1,"deadlineDay":83,"expiredAt":"2023-12-22T07:20:25Z","unified":0,"uta":0,
            "userID":24600000,"inviterID":0,"vipLevel":"No VIP","mktMakerLevel":"0",
            "affiliateID":0,"rsaPublicKey":"","isMaster":true}},"retExtInfo":{{}},"time":1}}"#
        )
    };
    assert_eq!(
        read("bybit", &answer("[]", r#"["1.2.3.4"]"#), "k"),
        Reading::Read(SAFE_IP)
    );
    assert_eq!(
        read("bybit", &answer("[]", r#"["*"]"#), "k"),
        Reading::Read(KeyPermissions {
            ip_restricted: Fact::Known(false),
            ..SAFE_IP
        })
    );
    assert_eq!(
        verdict(
            "bybit",
            &answer(r#"["AccountTransfer","SubMemberTransfer"]"#, "[]"),
            "k"
        ),
        Verdict::CanMove {
            withdraw: false,
            transfer: true
        }
    );
    assert_eq!(
        verdict("bybit", &answer(r#"["Withdraw"]"#, "[]"), "k"),
        Verdict::CanMove {
            withdraw: true,
            transfer: false
        }
    );
    assert_eq!(
        verdict("bybit", &answer("null", "[]"), "k"),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "bybit",
            r#"{"retCode":10003,"retMsg":"API key is invalid."}"#,
            "k"
        ),
        Verdict::Unknown
    );
}

#[test]
fn okx() {
    let answer = |perm: &str, ip: &str| {
        format!(
            r#"{{"code":"0","data":[{{"acctLv":"2","autoLoan":false,"ctIsoMode":"automatic",
            "greeksType":"PA","label":"v5 test","level":"Lv1","levelTmp":"","mgnIsoMode":"automatic",
            "posMode":"long_short_mode","uid":"44705892343619584","perm":"{perm}","ip":"{ip}",
            "mainUid":"44705892343619584","roleType":"0","traderInsts":[],"spotRoleType":"0",
            "kycLv":"3","type":"0"}}],"msg":""}}"#
        )
    };
    assert_eq!(
        read("okx", &answer("read_only,trade", "1.2.3.4,5.6.7.8"), "k"),
        Reading::Read(SAFE_IP)
    );
    assert_eq!(
        read("okx", &answer("read_only,trade", ""), "k"),
        Reading::Read(KeyPermissions {
            ip_restricted: Fact::Known(false),
            ..SAFE_IP
        })
    );
    assert_eq!(
        verdict("okx", &answer("read_only,withdraw,trade", ""), "k"),
        Verdict::CanMove {
            withdraw: true,
            transfer: true
        }
    );
    assert_eq!(
        verdict("okx", r#"{"code":"0","data":[]}"#, "k"),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "okx",
            r#"{"code":"50113","msg":"Invalid Sign","data":[]}"#,
            "k"
        ),
        Verdict::Unknown
    );
}

#[test]
fn coinbase() {
    let answer = |transfer: &str| {
        format!(
            r#"{{"can_view":true,"can_trade":true,"can_transfer":{transfer},
            "portfolio_uuid":"8e6a2c2a-0d9b-4b5a-9a1f-000000000000","portfolio_type":"DEFAULT"}}"#
        )
    };
    let safe = read("coinbase", &answer("false"), "k");
    assert_eq!(
        safe,
        Reading::Read(KeyPermissions {
            ip_restricted: Fact::Unknown,
            ..SAFE_IP
        })
    );
    assert_eq!(safe.verdict(), Verdict::Safe);
    assert_eq!(
        verdict("coinbase", &answer("true"), "k"),
        Verdict::CanMove {
            withdraw: true,
            transfer: true
        }
    );
    assert_eq!(
        verdict("coinbase", &answer(r#""no""#), "k"),
        Verdict::Unknown
    );
    assert_eq!(
        verdict("coinbase", r#"{"error":"unauthorized"}"#, "k"),
        Verdict::Unknown
    );
}

#[test]
fn kucoin() {
    let answer = |perm: &str, ips: &str| {
        format!(
            r#"{{"code":"200000","data":{{"remark":"bot","apiKey":"k","apiVersion":3,
            "permission":"{perm}","ipWhitelist":"{ips}","createdAt":1729762044000,
            "uid":165111215,"isMaster":true}}}}"#
        )
    };
    assert_eq!(
        read("kucoin", &answer("General,Spot,Futures", "1.2.3.4"), "k"),
        Reading::Read(SAFE_IP)
    );
    assert_eq!(
        verdict("kucoin", &answer("General,Spot,InnerTransfer", ""), "k"),
        Verdict::CanMove {
            withdraw: false,
            transfer: true
        }
    );
    assert_eq!(
        verdict("kucoin", &answer("General,Transfer", ""), "k"),
        Verdict::CanMove {
            withdraw: true,
            transfer: false
        }
    );
    assert_eq!(
        verdict(
            "kucoin",
            r#"{"code":"200000","data":{"permission":3}}"#,
            "k"
        ),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "kucoin",
            r#"{"code":"400003","msg":"KC-API-KEY not exists"}"#,
            "k"
        ),
        Verdict::Unknown
    );
}

#[test]
fn bitmex() {
    let answer = |perms: &str, cidr: &str| {
        format!(
            r#"[{{"id":"other","secret":"","name":"x","nonce":0,"cidr":"0.0.0.0/0",
            "permissions":["order","withdraw"],"enabled":true,"userId":1,"created":"2024-01-01T00:00:00.000Z"}},
            {{"id":"k","secret":"","name":"bot","nonce":0,"cidr":"{cidr}",
            "permissions":{perms},"enabled":true,"userId":1,"created":"2024-01-01T00:00:00.000Z"}}]"#
        )
    };
    assert_eq!(
        read("bitmex", &answer(r#"["order"]"#, "1.2.3.4/32"), "k"),
        Reading::Read(SAFE_IP)
    );
    assert_eq!(
        verdict(
            "bitmex",
            &answer(r#"["order","withdraw"]"#, "0.0.0.0/0"),
            "k"
        ),
        Verdict::CanMove {
            withdraw: true,
            transfer: true
        }
    );
    // The other key can withdraw; ours is not listed: nothing known about ours.
    assert_eq!(
        verdict("bitmex", &answer(r#"["order"]"#, ""), "missing"),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "bitmex",
            r#"{"error":{"message":"Invalid API Key.","name":"HTTPError"}}"#,
            "k"
        ),
        Verdict::Unknown
    );
}

#[test]
fn deribit() {
    let answer = |scope: &str, ips: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"result":[{{"timestamp":1560238048714,
            "max_scope":"{scope}","id":5,"enabled":true,"default":false,"client_secret":"",
            "client_id":"k","name":"bot","ip_whitelist":{ips}}}]}}"#
        )
    };
    assert_eq!(
        read(
            "deribit",
            &answer(
                "account:read trade:read_write wallet:read",
                r#"["1.2.3.4"]"#
            ),
            "k"
        ),
        Reading::Read(SAFE_IP)
    );
    assert_eq!(
        verdict(
            "deribit",
            &answer("account:read trade:read_write wallet:read_write", "[]"),
            "k"
        ),
        Verdict::CanMove {
            withdraw: true,
            transfer: true
        }
    );
    assert_eq!(
        verdict("deribit", &answer("trade:read", "[]"), "other"),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "deribit",
            r#"{"jsonrpc":"2.0","error":{"code":13004,"message":"invalid_credentials"}}"#,
            "k"
        ),
        Verdict::Unknown
    );
}

#[test]
fn gate() {
    let answer = |perms: &str, ips: &str| {
        format!(
            r#"[{{"state":1,"mode":1,"name":"bot","currency_pairs":[],"user_id":1,
            "ip_whitelist":{ips},"perms":{perms},"key":"k","created_at":"1","updated_at":"1",
            "last_access":"1"}}]"#
        )
    };
    let trade = r#"[{"name":"spot","read_only":false},{"name":"wallet","read_only":true}]"#;
    assert_eq!(
        read("gate", &answer(trade, r#"["1.2.3.4"]"#), "k"),
        Reading::Read(SAFE_IP)
    );
    assert_eq!(
        verdict(
            "gate",
            &answer(r#"[{"name":"wallet","read_only":false}]"#, "[]"),
            "k"
        ),
        Verdict::CanMove {
            withdraw: false,
            transfer: true
        }
    );
    assert_eq!(
        verdict(
            "gate",
            &answer(r#"[{"name":"withdraw","read_only":false}]"#, "[]"),
            "k"
        ),
        Verdict::CanMove {
            withdraw: true,
            transfer: false
        }
    );
    assert_eq!(
        verdict("gate", &answer(r#"[{"name":"wallet"}]"#, "[]"), "k"),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "gate",
            r#"{"label":"INVALID_KEY","message":"Invalid key"}"#,
            "k"
        ),
        Verdict::Unknown
    );
}

#[test]
fn exchanges_without_a_permission_answer_say_so() {
    for id in ["alpaca", "bitget", "kraken"] {
        assert_eq!(verdict(id, "{}", "k"), Verdict::NotAvailable, "{id}");
    }
}

#[test]
fn facts() {
    assert_eq!(Fact::Known(false).or(Fact::Unknown), Fact::Unknown);
    assert_eq!(Fact::Unknown.or(Fact::Known(true)), Fact::Known(true));
    assert_eq!(
        list_contains(Some(&serde_json::json!(["a", 1])), &["a"]),
        Fact::Unknown
    );
    assert_eq!(ip_list(Some(&serde_json::json!(["*"]))), Fact::Known(false));
    assert_eq!(ip_list(Some(&serde_json::json!([]))), Fact::Known(false));
    assert_eq!(
        ip_list(Some(&serde_json::json!("0.0.0.0/0"))),
        Fact::Known(false)
    );
    assert_eq!(
        ip_list(Some(&serde_json::json!(["10.0.0.1"]))),
        Fact::Known(true)
    );
    assert_eq!(ip_list(None), Fact::Unknown);
}
