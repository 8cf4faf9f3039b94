//! The HTTP methods exchange APIs use.

use std::fmt;

/// The methods some exchange API uses. Anything else is refused before routing; each exchange
/// then accepts only its own set ([`crate::exchange::Exchange::methods`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Every method keyward knows, in the order error messages list them.
    pub const ALL: &'static [Method] = &[
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The methods most exchanges use (everything but PATCH).
    pub const COMMON: &'static [Method] = &[Method::Get, Method::Post, Method::Put, Method::Delete];

    /// `GET, POST, PUT, DELETE`: a method set as error messages show it.
    pub fn list(methods: &[Method]) -> String {
        methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn from_http(method: &http::Method) -> Option<Method> {
        Self::parse(method.as_str())
    }

    /// Exact, upper-case method names only (`get` is refused, as HTTP methods are case-sensitive).
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub fn to_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Patch => http::Method::PATCH,
            Method::Delete => http::Method::DELETE,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
