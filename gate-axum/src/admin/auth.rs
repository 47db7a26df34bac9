//! Who may call the admin API: [`Auth`] and the middleware that checks it.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};

use super::errors::ApiError;

/// Who may use the admin API, and as which actor their writes are
/// recorded.
///
/// # Examples
///
/// ```
/// use gate_axum::admin::Auth;
///
/// let one = Auth::bearer("s3cret"); // actor "api"
/// let named = Auth::bearer_tokens([("deploy-bot", "t0ken"), ("alice", "pa55")]); // "api:alice"
/// let custom = Auth::from_fn(|headers| {
///     headers.get("x-admin-user").and_then(|v| v.to_str().ok()).map(|u| format!("sso:{u}"))
/// });
/// # let _ = (one, named, custom);
/// ```
#[derive(Clone)]
pub struct Auth(Arc<Check>);

/// An authentication check: the actor, or `None` to refuse.
type Check = dyn Fn(&HeaderMap) -> Option<String> + Send + Sync;

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth(..)")
    }
}

impl Auth {
    /// `Authorization: Bearer <token>` (the scheme in any case), the token
    /// compared in constant time; writes are recorded as actor `api`.
    pub fn bearer(token: impl Into<String>) -> Auth {
        let token = token.into();
        Auth::bearer_tokens([("", token)])
    }

    /// Several named bearer tokens, each compared in constant time; writes
    /// are recorded as `api:<name>`.
    pub fn bearer_tokens<N: Into<String>, T: Into<String>>(
        tokens: impl IntoIterator<Item = (N, T)>,
    ) -> Auth {
        let tokens: Vec<(String, Vec<u8>)> = tokens
            .into_iter()
            .map(|(n, t)| (n.into(), t.into().into_bytes()))
            .collect();
        Auth::from_fn(move |headers| {
            let given = bearer_token(headers.get(header::AUTHORIZATION)?.as_bytes())?;
            // Every token is compared, in full, whatever matches.
            let mut found = None;
            for (name, token) in &tokens {
                if constant_time_eq(given, token) && found.is_none() {
                    found = Some(if name.is_empty() {
                        "api".to_owned()
                    } else {
                        format!("api:{name}")
                    });
                }
            }
            found
        })
    }

    /// Your own check: return the actor to record, or `None` to refuse
    /// (401).
    pub fn from_fn(check: impl Fn(&HeaderMap) -> Option<String> + Send + Sync + 'static) -> Auth {
        Auth(Arc::new(check))
    }
}

/// The token of `Bearer <token>`: the scheme in any case (RFC 9110
/// auth-schemes are case-insensitive), then one or more spaces.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"Bearer") || !rest.starts_with(b" ") {
        return None;
    }
    let token = rest.trim_ascii_start();
    (!token.is_empty()).then_some(token)
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

/// The actor of an authenticated request.
#[derive(Clone)]
pub(super) struct Actor(pub(super) String);

pub(super) async fn authenticate(
    State(auth): State<Auth>,
    mut request: Request,
    next: Next,
) -> Response {
    match (auth.0)(request.headers()) {
        Some(actor) => {
            request.extensions_mut().insert(Actor(actor));
            next.run(request).await
        }
        None => {
            tracing::debug!(path = %request.uri().path(), "gate admin: unauthenticated request refused");
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication required: send Authorization: Bearer <token>",
                None,
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}
