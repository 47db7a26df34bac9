//! What a guard answers when its switch is off: [`Off`] (the choice) and
//! [`Rejection`] (the error and response).

use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};

/// What a guard answers when its switch is off: 404 Not Found, or a
/// redirect to a location.
///
/// A redirect is **302 Found** for `GET` and `HEAD` requests and **303 See
/// Other** for every other method: after a `POST` (or `PUT`, `DELETE`, …)
/// to a feature that is off, 303 tells every client to follow with a `GET`,
/// where 302 would leave it free to repeat the `POST` on the new location.
/// When the method is unknown (a [`Rejection`] built by hand, see
/// [`redirect`](crate::redirect())), the answer is 303, which is correct for
/// every method.
///
/// # Examples
///
/// ```
/// use gate_axum::Off;
///
/// assert_eq!(Off::NotFound, Off::default());
/// let upsell = Off::redirect("/upsell");
/// assert_eq!(upsell.location().unwrap(), "/upsell");
/// // In a `const`, for `Feature::OFF`:
/// const CHECKOUT: Off = Off::redirect_static("/checkout");
/// # let _ = CHECKOUT;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Off {
    /// 404 Not Found with an empty body, as for a route that does not exist.
    #[default]
    NotFound,
    /// 302 Found (GET, HEAD) or 303 See Other (other methods) to this
    /// location.
    Redirect(HeaderValue),
}

impl Off {
    /// A redirect to `location` (a path such as `/upsell`, or a URL).
    ///
    /// # Panics
    ///
    /// If `location` is not a valid header value (it contains a control
    /// character such as a newline). Guards are built at start-up, so the
    /// mistake shows at once.
    pub fn redirect(location: impl AsRef<str>) -> Off {
        let location = location.as_ref();
        match HeaderValue::from_str(location) {
            Ok(value) => Off::Redirect(value),
            Err(_) => {
                panic!("gate_axum: redirect location {location:?} is not a valid header value")
            }
        }
    }

    /// A redirect to a `&'static str` location, usable in a `const`.
    ///
    /// # Panics
    ///
    /// If `location` is not a valid header value (at compile time in a
    /// `const`).
    pub const fn redirect_static(location: &'static str) -> Off {
        Off::Redirect(HeaderValue::from_static(location))
    }

    /// The redirect's location, `None` for [`Off::NotFound`].
    pub fn location(&self) -> Option<&HeaderValue> {
        match self {
            Off::NotFound => None,
            Off::Redirect(location) => Some(location),
        }
    }

    /// The status answered for a request with `method` (`None`: unknown).
    ///
    /// # Examples
    ///
    /// ```
    /// use gate_axum::Off;
    /// use http::{Method, StatusCode};
    ///
    /// let off = Off::redirect("/upsell");
    /// assert_eq!(off.status(Some(&Method::HEAD)), StatusCode::FOUND);
    /// assert_eq!(off.status(Some(&Method::POST)), StatusCode::SEE_OTHER);
    /// assert_eq!(Off::NotFound.status(None), StatusCode::NOT_FOUND);
    /// ```
    pub fn status(&self, method: Option<&Method>) -> StatusCode {
        match (self, method) {
            (Off::NotFound, _) => StatusCode::NOT_FOUND,
            (Off::Redirect(_), Some(m)) if m == Method::GET || m == Method::HEAD => {
                StatusCode::FOUND
            }
            (Off::Redirect(_), _) => StatusCode::SEE_OTHER,
        }
    }
}

/// The rejection of a request because a feature switch is off for it: an
/// ordinary error (`Display`, `Error`) and a response (404, or a redirect
/// as [`Off`] describes).
///
/// The layer ([`require`](crate::require())) and the extractor
/// ([`Active`](crate::Active)) answer with it; a handler may return it too,
/// and `?` turns a [`gate::Inactive`] (what a `#[gate("feature")]` function
/// returning `Result` gives when off) into the 404:
///
/// ```
/// use gate_axum::Rejection;
///
/// fn beta_data() -> Result<&'static str, gate::Inactive> {
///     Err(gate::Inactive::new("beta"))
/// }
///
/// async fn handler() -> Result<&'static str, Rejection> {
///     Ok(beta_data()?)
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let rejection = handler().await.unwrap_err();
/// assert_eq!(rejection.status(), http::StatusCode::NOT_FOUND);
/// assert_eq!(rejection.feature(), Some("beta"));
/// # });
/// ```
///
/// The 404 body is empty, like axum's answer for a route that does not
/// exist, so a client cannot tell a switched-off feature from a missing
/// page; the feature's name is in `Display` and in a TRACE event
/// (target `gate_axum::rejection`) logged when the response is built.
#[derive(Debug, Clone)]
pub struct Rejection {
    feature: Option<Arc<str>>,
    off: Off,
    method: Option<Method>,
}

impl Rejection {
    /// A 404 Not Found, for no feature in particular.
    ///
    /// # Examples
    ///
    /// ```
    /// let rejection = gate_axum::Rejection::not_found();
    /// assert_eq!(rejection.status(), http::StatusCode::NOT_FOUND);
    /// ```
    pub fn not_found() -> Rejection {
        Rejection {
            feature: None,
            off: Off::NotFound,
            method: None,
        }
    }

    /// A redirect to `location`: 303 See Other, unless a method is given
    /// with [`for_method`](Self::for_method).
    ///
    /// # Panics
    ///
    /// If `location` is not a valid header value.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{Method, StatusCode};
    ///
    /// let rejection = gate_axum::Rejection::redirect("/upsell");
    /// assert_eq!(rejection.status(), StatusCode::SEE_OTHER);
    /// assert_eq!(rejection.for_method(&Method::GET).status(), StatusCode::FOUND);
    /// ```
    pub fn redirect(location: impl AsRef<str>) -> Rejection {
        Rejection {
            feature: None,
            off: Off::redirect(location),
            method: None,
        }
    }

    /// The rejection for the switch `feature` being off, answering `off` to
    /// a request with `method`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gate_axum::{Off, Rejection};
    /// use http::{Method, StatusCode};
    ///
    /// let rejection = Rejection::new("beta", Off::redirect("/upsell"), Some(&Method::POST));
    /// assert_eq!(rejection.status(), StatusCode::SEE_OTHER);
    /// assert_eq!(rejection.to_string(), "the feature \"beta\" is not active");
    /// ```
    pub fn new(feature: impl Into<Arc<str>>, off: Off, method: Option<&Method>) -> Rejection {
        Rejection {
            feature: Some(feature.into()),
            off,
            method: method.cloned(),
        }
    }

    pub(crate) fn shared(feature: &Arc<str>, off: &Off, method: &Method) -> Rejection {
        Rejection {
            feature: Some(feature.clone()),
            off: off.clone(),
            method: Some(method.clone()),
        }
    }

    /// The same rejection, answering as to a request with `method` (302
    /// instead of 303 for a `GET` or `HEAD` redirect).
    pub fn for_method(mut self, method: &Method) -> Rejection {
        self.method = Some(method.clone());
        self
    }

    /// The switch that is off, if known.
    ///
    /// # Examples
    ///
    /// ```
    /// let rejection = gate_axum::Rejection::from(gate::Inactive::new("beta"));
    /// assert_eq!(rejection.feature(), Some("beta"));
    /// assert_eq!(gate_axum::Rejection::not_found().feature(), None);
    /// ```
    pub fn feature(&self) -> Option<&str> {
        self.feature.as_deref()
    }

    /// What is answered: not found or a redirect.
    ///
    /// # Examples
    ///
    /// ```
    /// use gate_axum::{Off, Rejection};
    ///
    /// assert_eq!(Rejection::not_found().off(), &Off::NotFound);
    /// ```
    pub fn off(&self) -> &Off {
        &self.off
    }

    /// The response's status: 404, 302 or 303 (see [`Off`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use http::StatusCode;
    ///
    /// assert_eq!(gate_axum::Rejection::not_found().status(), StatusCode::NOT_FOUND);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.off.status(self.method.as_ref())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.feature {
            Some(name) => write!(f, "the feature {name:?} is not active"),
            None => f.write_str("a feature is not active"),
        }
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::trace!(
            target: "gate_axum::rejection",
            feature = self.feature(),
            status = status.as_u16(),
            location = self.off.location().and_then(|l| l.to_str().ok()),
            "rejecting request: feature switch off",
        );
        let mut response = status.into_response();
        if let Off::Redirect(location) = self.off {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl From<Rejection> for Response {
    fn from(rejection: Rejection) -> Response {
        rejection.into_response()
    }
}

impl From<gate::Inactive> for Rejection {
    /// A 404 for the inactive feature.
    fn from(inactive: gate::Inactive) -> Rejection {
        Rejection {
            feature: Some(Arc::from(inactive.name())),
            off: Off::NotFound,
            method: None,
        }
    }
}

/// A 404 Not Found response: the off-answer for
/// `#[gate("feature", otherwise = gate_axum::not_found())]` on a handler
/// returning [`Response`].
///
/// # Examples
///
/// ```
/// use axum::response::{IntoResponse, Response};
///
/// // What `#[gate("beta", otherwise = gate_axum::not_found())]` answers
/// // when "beta" is off; the body runs when it is on.
/// async fn beta() -> Response {
///     "beta".into_response()
/// }
///
/// assert_eq!(gate_axum::not_found().status(), http::StatusCode::NOT_FOUND);
/// # let _ = beta;
/// ```
pub fn not_found() -> Response {
    Rejection::not_found().into_response()
}

/// A **303 See Other** redirect to `location`: the off-answer for
/// `#[gate("feature", otherwise = gate_axum::redirect("/upsell"))]` on a
/// handler returning [`Response`]. 303 because the request's method is not
/// known here, and it is correct for every method (the client follows with
/// a `GET`); the layer and the extractor, which see the method, answer 302
/// to `GET` and `HEAD`.
///
/// # Panics
///
/// If `location` is not a valid header value.
///
/// # Examples
///
/// ```
/// let response = gate_axum::redirect("/upsell");
/// assert_eq!(response.status(), http::StatusCode::SEE_OTHER);
/// assert_eq!(response.headers()[http::header::LOCATION], "/upsell");
/// ```
pub fn redirect(location: impl AsRef<str>) -> Response {
    Rejection::redirect(location).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_method() {
        let off = Off::redirect("/upsell");
        assert_eq!(off.status(Some(&Method::GET)), StatusCode::FOUND);
        assert_eq!(off.status(Some(&Method::HEAD)), StatusCode::FOUND);
        assert_eq!(off.status(Some(&Method::POST)), StatusCode::SEE_OTHER);
        assert_eq!(off.status(Some(&Method::DELETE)), StatusCode::SEE_OTHER);
        assert_eq!(off.status(None), StatusCode::SEE_OTHER);
        assert_eq!(
            Off::NotFound.status(Some(&Method::POST)),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn from_inactive_is_a_404_naming_the_feature() {
        let rejection = Rejection::from(gate::Inactive::new("beta"));
        assert_eq!(rejection.feature(), Some("beta"));
        assert_eq!(rejection.status(), StatusCode::NOT_FOUND);
        assert_eq!(rejection.to_string(), "the feature \"beta\" is not active");
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get(header::LOCATION).is_none());
    }

    #[test]
    fn redirect_response_carries_the_location() {
        let response =
            Rejection::new("beta", Off::redirect("/upsell"), Some(&Method::GET)).into_response();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()[header::LOCATION], "/upsell");
        let response = redirect("https://example.com/x?y=1");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://example.com/x?y=1"
        );
    }

    #[test]
    fn not_found_response_is_an_empty_404() {
        let response = not_found();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get(header::LOCATION).is_none());
        assert_eq!(
            Rejection::not_found().to_string(),
            "a feature is not active"
        );
    }

    #[test]
    #[should_panic(expected = "not a valid header value")]
    fn redirect_to_an_invalid_location_panics() {
        let _ = Off::redirect("/a\nb");
    }
}
