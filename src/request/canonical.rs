//! The one strict parse of a bot's request into the form keyward checks, signs and forwards.
//!
//! Everything downstream (policy, signer, audit) sees only a [`CanonicalRequest`]; the bot's
//! original bytes are never forwarded. Parsing is deliberately narrower than what HTTP allows:
//! anything that two parsers could read differently is refused (see DESIGN.md, "Canonicalisation
//! rules").

use super::json::{word_count, Json};
use super::params::{parse_params, refuse_method_override, Params, MAX_PARAMS};
use super::{Method, Refusal, RequestParts};

/// What kind of body the request carried, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Empty,
    Form(Params),
    Json(Json),
}

/// Which bodies an exchange accepts and which of the bot's fields are its own signing fields.
#[derive(Clone, Copy, Debug)]
pub struct CanonRules {
    /// Whether `application/x-www-form-urlencoded` bodies are accepted (on POST, PUT, PATCH).
    pub form_body: bool,
    /// Whether `application/json` bodies are accepted (on POST, PUT, PATCH and, if
    /// `body_on_delete`, DELETE).
    pub json_body: bool,
    /// Whether DELETE may carry a body (some exchanges take JSON on DELETE).
    pub body_on_delete: bool,
    /// Whether a request may carry parameters in both the query string and the body.
    pub query_with_body: bool,
    /// Whether a PATCH may carry parameters in both the query string and its JSON body, where a
    /// parameter named in both places must have the same name and the same value in both (Gate's
    /// order amend: its documentation takes `currency_pair` in both, and ccxt sends every amend
    /// parameter in both). Identical copies cannot be read differently; any difference is refused.
    pub patch_mirrors_query: bool,
    /// Parameters (query, form or top-level JSON members) that carry the bot's own signature,
    /// timestamp or nonce: removed here and re-created by the signer.
    pub bot_signing_params: &'static [&'static str],
}

impl CanonRules {
    /// Query string and form bodies (both together allowed), no JSON: Binance's shape.
    pub const FORM: CanonRules = CanonRules {
        form_body: true,
        json_body: false,
        body_on_delete: false,
        query_with_body: true,
        patch_mirrors_query: false,
        bot_signing_params: &[],
    };
    /// Query string for reads, JSON bodies for writes, never both: most exchanges' shape.
    pub const JSON: CanonRules = CanonRules {
        form_body: false,
        json_body: true,
        body_on_delete: false,
        query_with_body: false,
        patch_mirrors_query: false,
        bot_signing_params: &[],
    };
}

/// The request as keyward understands it: the only thing policy sees and the signer signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRequest {
    pub method: Method,
    /// The exchange path, without keyward's `/<credential>` prefix.
    pub path: String,
    pub query: Params,
    pub body: Body,
}

impl CanonicalRequest {
    /// A parameter from the query, the form body or a top-level scalar member of a JSON body
    /// (a key can never be in two of them).
    ///
    /// In a JSON body, a dotted name (`order_configuration.limit_limit_gtc.base_size`) names a
    /// scalar nested in objects, so rules can limit exchanges whose order fields are nested
    /// (Coinbase, Deribit JSON-RPC `params`). It resolves only through real nesting: a member
    /// literally named `"params.amount"`, which the exchange ignores, is never read for it.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).or_else(|| match &self.body {
            Body::Form(p) => p.get(key),
            Body::Json(j) => key
                .split('.')
                .try_fold(j, |node, part| node.get(part))
                .and_then(Json::scalar_text),
            Body::Empty => None,
        })
    }

    /// How many times `name` is named in the request, case-insensitively, anywhere: as a
    /// top-level parameter, as a component of a bracketed form name (`orders[0][name]`), as a
    /// JSON member at any depth, or as a word inside a parameter value or JSON string (a batch
    /// of orders encoded in one parameter). Policy uses it to refuse requests where a
    /// constrained parameter hides somewhere its limit cannot see.
    pub fn mentions(&self, name: &str) -> usize {
        let mut n = 0;
        let mut count_param = |k: &str, v: &str| {
            n += k
                .split(['[', ']'])
                .filter(|part| part.eq_ignore_ascii_case(name))
                .count();
            n += word_count(v, name);
        };
        for (k, v) in self.query.iter() {
            count_param(k, v);
        }
        match &self.body {
            Body::Form(p) => p.iter().for_each(|(k, v)| count_param(k, v)),
            Body::Json(Json::Object(members)) => {
                for (k, v) in members {
                    // A PATCH body member that repeats a query parameter unchanged (see
                    // `CanonRules::patch_mirrors_query`) is that parameter, counted once.
                    if self
                        .query
                        .get(k)
                        .is_some_and(|q| v.scalar_text() == Some(q))
                    {
                        continue;
                    }
                    n += usize::from(k.eq_ignore_ascii_case(name)) + v.mentions(name);
                }
            }
            Body::Json(j) => n += j.mentions(name),
            Body::Empty => {}
        }
        n
    }

    /// The query string and body as keyward records them in the audit log: the parameters in
    /// keyward's encoding, then a JSON body in its compact form.
    pub fn params_string(&self) -> String {
        let mut all = self.query.clone();
        match &self.body {
            Body::Form(p) => {
                for (k, v) in p.iter() {
                    all.set(k, v.to_owned());
                }
                all.encode()
            }
            Body::Json(j) if all.is_empty() => j.to_compact(),
            Body::Json(j) => format!("{} {}", all.encode(), j.to_compact()),
            Body::Empty => all.encode(),
        }
    }
}

/// A canonical request in keyward's own encoding, as the parts a bot's request arrives in: the
/// query string, the body's content type and the body. Canonicalising these parts again gives
/// back the same canonical request (the idempotence the `fuzz/` targets check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serialised {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: Option<&'static str>,
    pub body: String,
}

/// The media type of a form body.
pub const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
/// The media type of a JSON body.
pub const JSON_MEDIA_TYPE: &str = "application/json";

impl Serialised {
    /// These parts as the canonicaliser reads a bot's request.
    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: self.method,
            path: &self.path,
            query: (!self.query.is_empty()).then_some(self.query.as_str()),
            content_type: self.content_type,
            body: self.body.as_bytes(),
        }
    }
}

impl CanonicalRequest {
    /// This request re-serialised in keyward's encoding: the query and a form body with
    /// [`Params::encode`], a JSON body with [`Json::to_compact`].
    pub fn serialise(&self) -> Serialised {
        let (content_type, body) = match &self.body {
            Body::Empty => (None, String::new()),
            Body::Form(p) => (Some(FORM_MEDIA_TYPE), p.encode()),
            Body::Json(j) => (Some(JSON_MEDIA_TYPE), j.to_compact()),
        };
        Serialised {
            method: self.method,
            path: self.path.clone(),
            query: self.query.encode(),
            content_type,
            body,
        }
    }
}

/// Checks a request path against keyward's strict path grammar: ASCII, leading `/`, non-empty
/// segments of unreserved characters and `:`, no `.` or `..` segment. Nothing is decoded or
/// normalised.
pub fn check_path(path: &str) -> Result<(), Refusal> {
    if !path.starts_with('/') {
        return Err(Refusal::bad_path("the path must start with '/'"));
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err(Refusal::bad_path(
                "empty path segment ('//' or a trailing '/') is not allowed",
            ));
        }
        if segment == "." || segment == ".." {
            return Err(Refusal::bad_path(
                "'.' and '..' path segments are not allowed",
            ));
        }
        if let Some(c) = segment.chars().find(|c| !is_path_char(*c)) {
            let what = match c {
                '%' => "percent-encoded characters are not allowed in the path".to_owned(),
                ';' => "';' (path parameters) is not allowed in the path".to_owned(),
                '\\' => "'\\' is not allowed in the path".to_owned(),
                c if c.is_control() => "control characters are not allowed in the path".to_owned(),
                c => format!("character {c:?} is not allowed in the path"),
            };
            return Err(Refusal::bad_path(&what));
        }
    }
    Ok(())
}

/// Whether a body that this method may not carry is nothing but an empty JSON object: the
/// `Content-Type` is `application/json` and the bytes are `{` and `}` with only JSON whitespace
/// (space, tab, CR, LF) around and between them. Some SDKs (coinbase-advanced-py) send `{}` on
/// every GET; it carries no parameter, so it is treated as no body and nothing is forwarded or
/// signed for it. Anything else (`[]`, `null`, `""`, a member, another media type, an empty
/// object without a JSON `Content-Type`) is content and stays refused.
fn is_empty_json_object(content_type: Option<&str>, body: &[u8]) -> bool {
    let is_json = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON_MEDIA_TYPE));
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut rest = body.iter().filter(|b| !is_ws(b));
    is_json && rest.next() == Some(&b'{') && rest.next() == Some(&b'}') && rest.next().is_none()
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

/// A path segment character: unreserved, or `:` (an RFC 3986 pchar that no server decodes or
/// normalises; Alpaca's `/v2/orders:by_client_order_id`). Other sub-delimiters stay refused.
fn is_path_char(c: char) -> bool {
    is_unreserved(c) || c == ':'
}

/// Builds the canonical request from the parts of the bot's request that survived the
/// transport checks. `path` is the exchange path (credential prefix already removed and the
/// whole path already checked by [`check_path`]).
pub fn canonicalise(
    method: Method,
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    rules: &CanonRules,
) -> Result<CanonicalRequest, Refusal> {
    let mut query = parse_params(query.unwrap_or(""), "query string")?;
    let body_ok = match method {
        Method::Post | Method::Put | Method::Patch => true,
        Method::Delete => rules.body_on_delete,
        Method::Get => false,
    };
    let mut body = if body.is_empty() || (!body_ok && is_empty_json_object(content_type, body)) {
        Body::Empty
    } else {
        if !body_ok {
            return Err(Refusal::bad_params(format!(
                "a {method} request must not have a body; put its parameters in the query string"
            )));
        }
        let media = content_type
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let text = std::str::from_utf8(body)
            .map_err(|_| Refusal::bad_params("the body is not valid UTF-8".to_owned()))?;
        match media.as_str() {
            FORM_MEDIA_TYPE if rules.form_body => Body::Form(parse_params(text, "body")?),
            JSON_MEDIA_TYPE if rules.json_body => Body::Json(
                Json::parse(text)
                    .map_err(|e| Refusal::bad_params(format!("the JSON body is refused: {e}")))?,
            ),
            other => {
                let accepted = match (rules.form_body, rules.json_body) {
                    (true, true) => "application/x-www-form-urlencoded or application/json",
                    (true, false) => "application/x-www-form-urlencoded",
                    (false, true) => "application/json",
                    (false, false) => "no body at all",
                };
                return Err(Refusal::unsupported_media(&if other.is_empty() {
                    format!("a request body needs a Content-Type; this exchange accepts {accepted}")
                } else {
                    format!(
                        "Content-Type {other:?} is not accepted for this exchange; send {accepted}"
                    )
                }));
            }
        }
    };
    let mirrors = method == Method::Patch && rules.patch_mirrors_query;
    if !matches!(body, Body::Empty) && !query.is_empty() && !rules.query_with_body && !mirrors {
        return Err(Refusal::bad_params(
            "parameters in both the query string and the body; this exchange takes them in one place"
                .to_owned(),
        ));
    }
    match &body {
        Body::Form(form) => {
            if let Some((k, _)) = form
                .iter()
                .find(|(k, _)| query.iter().any(|(q, _)| q.eq_ignore_ascii_case(k)))
            {
                return Err(Refusal::bad_params(format!(
                    "parameter '{k}' is in both the query string and the body"
                )));
            }
            if query.len() + form.len() > MAX_PARAMS {
                return Err(Refusal::bad_params(format!(
                    "more than {MAX_PARAMS} parameters"
                )));
            }
        }
        Body::Json(Json::Object(members)) => {
            refuse_nested_method_override(&body)?;
            for (k, v) in members {
                let Some((q, qv)) = query.iter().find(|(q, _)| q.eq_ignore_ascii_case(k)) else {
                    continue;
                };
                if !mirrors {
                    return Err(Refusal::bad_params(format!(
                        "parameter '{k}' is in both the query string and the body"
                    )));
                }
                if q != k || v.scalar_text() != Some(qv) {
                    return Err(Refusal::bad_params(format!(
                        "parameter '{k}' is in both the query string and the body with a different name or value; a PATCH may repeat a query parameter in its body only unchanged"
                    )));
                }
            }
        }
        _ => {}
    }
    for field in rules.bot_signing_params {
        query.remove(field);
        match &mut body {
            Body::Form(form) => {
                form.remove(field);
            }
            Body::Json(j) => {
                j.remove(field);
            }
            Body::Empty => {}
        }
    }
    if matches!(&body, Body::Form(f) if f.is_empty()) {
        body = Body::Empty;
    }
    Ok(CanonicalRequest {
        method,
        path: path.to_owned(),
        query,
        body,
    })
}

/// A method-override member anywhere in a JSON body is refused, not only at the top: a
/// JSON-RPC body (Deribit) or a batch carries its parameters one level down, where the
/// exchange may read them as well.
fn refuse_nested_method_override(body: &Body) -> Result<(), Refusal> {
    fn walk(v: &Json) -> Result<(), Refusal> {
        match v {
            Json::Object(members) => members.iter().try_for_each(|(k, v)| {
                refuse_method_override(k, "body")?;
                walk(v)
            }),
            Json::Array(items) => items.iter().try_for_each(walk),
            _ => Ok(()),
        }
    }
    match body {
        Body::Json(v) => walk(v),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::MAX_VALUE_LEN;

    const RULES: CanonRules = CanonRules {
        bot_signing_params: &["signature", "timestamp"],
        ..CanonRules::FORM
    };

    fn canon(
        method: Method,
        query: Option<&str>,
        ct: Option<&str>,
        body: &str,
    ) -> Result<CanonicalRequest, Refusal> {
        canonicalise(method, "/api/v3/order", query, ct, body.as_bytes(), &RULES)
    }

    #[test]
    fn paths_accepted_and_refused() {
        for good in [
            "/binance-main/api/v3/order",
            "/alpaca-main/trading/v2/orders:by_client_order_id",
            "/a/b:c:d/e",
            "/a/:",
        ] {
            assert!(check_path(good).is_ok(), "{good} should be accepted");
        }
        for bad in [
            "/api/v3%3aorder",
            "/api/v3%3Aorder",
            "/api/v3:order;x",
            "/api/v3:/",
            "/api/v3://order",
            "/api/v3:order/..",
            "/api/v3:\\order",
            "/api/v3:order\u{0}",
            "/api/v3:@order",
            "/api/v3:order?",
            "/api/v3:order#",
            "/api/v3:order!",
            "/api/v3:order$",
            "/api/v3:order=1",
            "/api/v3:order,x",
            "/api/v3:order+x",
            "/api/v3:ordér",
            "api/v3",
            "/api//v3",
            "/api/v3/",
            "/api/./v3",
            "/api/../sapi",
            "/api/%2e%2e/sapi",
            "/api%2fv3",
            "/api;x=1/v3",
            "/api\\v3",
            "/api/v3/ordér",
            "/api/v3\u{1}",
        ] {
            assert!(check_path(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn parses_and_strips_bot_signing_fields() {
        let r = canon(
            Method::Post,
            Some("symbol=BTCUSDT&timestamp=1&signature=abc"),
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "side=BUY&quantity=0.1&price=%EF%BC%91",
        )
        .unwrap();
        assert_eq!(r.query.encode(), "symbol=BTCUSDT");
        assert_eq!(r.param("side"), Some("BUY"));
        assert_eq!(r.param("price"), Some("１"));
        assert_eq!(r.param("signature"), None);
        assert_eq!(r.param("timestamp"), None);
        assert_eq!(
            r.params_string(),
            "symbol=BTCUSDT&side=BUY&quantity=0.1&price=%EF%BC%91"
        );
    }

    #[test]
    fn raw_brackets_in_names() {
        // ccxt's Kraken class sends conditional-close fields with raw brackets.
        let r = canon(
            Method::Post,
            None,
            Some("application/x-www-form-urlencoded"),
            "close[ordertype]=limit&close[price]=1",
        )
        .unwrap();
        assert_eq!(r.param("close[ordertype]"), Some("limit"));
        assert_eq!(
            r.params_string(),
            "close%5Bordertype%5D=limit&close%5Bprice%5D=1"
        );
    }

    #[test]
    fn empty_json_object_on_a_bodyless_method_is_no_body() {
        const JSON_DELETE: CanonRules = CanonRules {
            body_on_delete: true,
            ..CanonRules::JSON
        };
        let json = Some("application/json; charset=utf-8");
        for method in [Method::Get, Method::Delete] {
            for empty in ["{}", "{ }", " {\r\n\t} \n"] {
                let r = canon(method, Some("a=1"), json, empty).unwrap();
                assert_eq!(r.body, Body::Empty, "{method} {empty:?}");
                assert_eq!(r.param("a"), Some("1"));
            }
            let no_ct = canon(method, None, None, "").unwrap();
            assert_eq!(no_ct.body, Body::Empty);
            for content in ["[]", "null", "\"\"", "{\"a\":1}", "{}{}", "{\u{c}}", "{} x"] {
                let e = canon(method, None, json, content).unwrap_err();
                assert!(
                    e.message.contains("must not have a body"),
                    "{content:?}: {e:?}"
                );
            }
            for ct in [None, Some("text/plain"), Some(FORM_MEDIA_TYPE)] {
                assert!(canon(method, None, ct, "{}").is_err(), "{ct:?}");
            }
        }
        // Where DELETE may carry a body, `{}` stays the (empty) JSON body the exchange takes.
        let r = canonicalise(Method::Delete, "/o", None, json, b"{}", &JSON_DELETE).unwrap();
        assert!(matches!(r.body, Body::Json(_)));
    }

    #[test]
    fn plus_is_space_and_reencoded() {
        let r = canon(Method::Get, Some("a=x+y%20z"), None, "").unwrap();
        assert_eq!(r.param("a"), Some("x y z"));
        assert_eq!(r.query.encode(), "a=x%20y%20z");
    }

    #[test]
    fn refuses_ambiguous_parameters() {
        let cases: &[(Method, Option<&str>, Option<&str>, &str)] = &[
            (Method::Get, Some("symbol=A&symbol=B"), None, ""),
            (Method::Get, Some("symbol=A&SYMBOL=B"), None, ""),
            (Method::Get, Some("symbol=A;side=SELL"), None, ""),
            (Method::Get, Some("symbol=A&&b=1"), None, ""),
            (Method::Get, Some("symbol"), None, ""),
            (Method::Get, Some("a=%zz"), None, ""),
            (Method::Get, Some("a=%ff"), None, ""),
            (Method::Get, Some("a=%0a"), None, ""),
            (Method::Get, Some("a b=1"), None, ""),
            (Method::Get, Some("=1"), None, ""),
            (
                Method::Post,
                Some("symbol=A"),
                Some("application/x-www-form-urlencoded"),
                "symbol=B",
            ),
            (
                Method::Post,
                None,
                Some("application/x-www-form-urlencoded"),
                "a=1&a=2",
            ),
            (Method::Post, None, Some("application/json"), "{\"a\":1}"),
            (Method::Post, None, Some("text/plain"), "a=1"),
            (Method::Post, None, None, "a=1"),
            (
                Method::Get,
                None,
                Some("application/x-www-form-urlencoded"),
                "a=1",
            ),
        ];
        for (m, q, ct, body) in cases {
            assert!(
                canon(*m, *q, *ct, body).is_err(),
                "{m} {q:?} {ct:?} {body:?} should be refused"
            );
        }
    }

    #[test]
    fn patch_takes_a_body_like_put() {
        let json = CanonRules::JSON;
        for m in [Method::Put, Method::Patch] {
            let r = canonicalise(
                m,
                "/v2/orders/1",
                None,
                Some("application/json"),
                br#"{"qty":"1"}"#,
                &json,
            )
            .unwrap();
            assert_eq!(r.method, m);
            assert_eq!(r.param("qty"), Some("1"));
            // Without mirroring, a PATCH keeps its parameters in one place, like PUT.
            assert!(canonicalise(
                m,
                "/v2/orders/1",
                Some("a=1"),
                Some("application/json"),
                br#"{"qty":"1"}"#,
                &json,
            )
            .is_err());
            assert!(
                canonicalise(m, "/v2/orders/1", None, Some("text/plain"), b"qty=1", &json).is_err()
            );
        }
        // Mirroring applies to PATCH only.
        let mirrors = CanonRules {
            patch_mirrors_query: true,
            ..CanonRules::JSON
        };
        let (q, b) = (Some("a=1&b=x"), br#"{"a":"1","c":2}"#);
        let r = canonicalise(
            Method::Patch,
            "/o/1",
            q,
            Some("application/json"),
            b,
            &mirrors,
        )
        .unwrap();
        assert_eq!(r.param("a"), Some("1"));
        assert_eq!(r.param("c"), Some("2"));
        assert_eq!(r.mentions("a"), 1);
        assert_eq!(r.params_string(), r#"a=1&b=x {"a":"1","c":2}"#);
        for m in [Method::Post, Method::Put, Method::Delete] {
            assert!(
                canonicalise(m, "/o/1", q, Some("application/json"), b, &mirrors).is_err(),
                "{m}"
            );
        }
        let n = canonicalise(
            Method::Patch,
            "/o/1",
            Some("a=1"),
            Some("application/json"),
            br#"{"a":1}"#,
            &mirrors,
        )
        .unwrap();
        assert_eq!(n.mentions("a"), 1, "the number 1 reads as the text 1");
    }

    #[test]
    fn methods_parse_exactly() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(*m));
            assert_eq!(Method::from_http(&m.to_http()), Some(*m));
        }
        for bad in ["patch", "Patch", "TRACE", "OPTIONS", "HEAD", "CONNECT", ""] {
            assert_eq!(Method::parse(bad), None, "{bad}");
        }
        assert_eq!(Method::list(Method::COMMON), "GET, POST, PUT, DELETE");
    }

    #[test]
    fn method_override_parameters_are_refused_everywhere() {
        let form = Some("application/x-www-form-urlencoded");
        for name in [
            "_method",
            "_METHOD",
            "_HttpMethod",
            "X-HTTP-Method-Override",
            "x-http-method",
            "x-method-override",
        ] {
            let q = format!("symbol=BTCUSDT&{name}=PUT");
            let r = canon(Method::Get, Some(&q), None, "").unwrap_err();
            assert_eq!(r.code, "method_override", "{name} in the query");
            let r = canon(Method::Post, None, form, &q).unwrap_err();
            assert_eq!(r.code, "method_override", "{name} in the form body");
            let json = format!(r#"{{"symbol":"BTCUSDT","{name}":"PUT"}}"#);
            let r = canonicalise(
                Method::Post,
                "/v5/order/create",
                None,
                Some("application/json"),
                json.as_bytes(),
                &CanonRules::JSON,
            )
            .unwrap_err();
            assert_eq!(r.code, "method_override", "{name} in a JSON body");
        }
        // Names that merely contain "method" are parameters like any other.
        assert!(canon(Method::Get, Some("method=x&paymentMethod=y"), None, "").is_ok());
        // One level down (a JSON-RPC body's params, a batch's items) too.
        for json in [
            r#"{"jsonrpc":"2.0","id":1,"method":"private/buy","params":{"amount":1,"_method":"GET"}}"#,
            r#"{"orders":[{"symbol":"BTCUSDT","X-HTTP-Method-Override":"DELETE"}]}"#,
        ] {
            let r = canonicalise(
                Method::Post,
                "/api/v2/private/buy",
                None,
                Some("application/json"),
                json.as_bytes(),
                &CanonRules::JSON,
            )
            .unwrap_err();
            assert_eq!(r.code, "method_override", "{json}");
        }
    }

    #[test]
    fn json_bodies() {
        let rules = CanonRules {
            bot_signing_params: &["nonce"],
            ..CanonRules::JSON
        };
        let r = canonicalise(
            Method::Post,
            "/v5/order/create",
            None,
            Some("application/json"),
            br#"{"symbol":"BTCUSDT","qty":"0.10","price":219.0,"nonce":5}"#,
            &rules,
        )
        .unwrap();
        assert_eq!(r.param("price"), Some("219.0"));
        assert_eq!(r.param("nonce"), None);
        assert_eq!(
            r.params_string(),
            r#"{"symbol":"BTCUSDT","qty":"0.10","price":219.0}"#
        );
        for (q, body) in [
            (Some("a=1"), r#"{"b":1}"#),
            (None, r#"{"b":1,"b":2}"#),
            (None, "not json"),
        ] {
            assert!(canonicalise(
                Method::Post,
                "/x",
                q,
                Some("application/json"),
                body.as_bytes(),
                &rules
            )
            .is_err());
        }
        assert!(canonicalise(
            Method::Post,
            "/x",
            None,
            Some("application/x-www-form-urlencoded"),
            b"a=1",
            &rules
        )
        .is_err());
    }

    #[test]
    fn bounds() {
        let long = "a".repeat(MAX_VALUE_LEN + 1);
        assert!(canon(Method::Get, Some(&format!("a={long}")), None, "").is_err());
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("k{i}=1")).collect();
        assert!(canon(Method::Get, Some(&many.join("&")), None, "").is_err());
    }

    #[test]
    fn encode_is_strict() {
        let mut p = Params::new();
        p.set("a", "1/2 &=+é".to_owned());
        assert_eq!(p.encode(), "a=1%2F2%20%26%3D%2B%C3%A9");
        let back = parse_params(&p.encode(), "query string").unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn dotted_names_resolve_through_real_nesting_only() {
        let req = canonicalise(
            Method::Post,
            "/api/v2/private/buy",
            None,
            Some("application/json"),
            br#"{"params.amount":"1","params":{"amount":"500"}}"#,
            &CanonRules::JSON,
        )
        .unwrap();
        // The decoy top-level member is not what the exchange reads, and not what keyward reads.
        assert_eq!(req.param("params.amount"), Some("500"));
        let only_decoy = canonicalise(
            Method::Post,
            "/api/v2/private/buy",
            None,
            Some("application/json"),
            br#"{"params.amount":"1"}"#,
            &CanonRules::JSON,
        )
        .unwrap();
        assert_eq!(only_decoy.param("params.amount"), None);
    }
}
