//! The extractor: `Active<F>` guards one handler with the feature `F`.

use std::fmt;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::rejection::{Off, Rejection};

/// A feature switch named once, as a type, for the [`Active`] extractor:
/// a misspelt feature is then a compile error instead of a switch that is
/// silently off for everybody. Usually declared with [`feature!`](crate::feature!).
///
/// # Examples
///
/// ```
/// use gate_axum::{Feature, Off};
///
/// /// The new checkout; off → back to the old one.
/// struct NewCheckout;
///
/// impl Feature for NewCheckout {
///     const NAME: &'static str = "new_checkout";
///     const OFF: Off = Off::redirect_static("/checkout");
/// }
/// # assert_eq!(NewCheckout::NAME, "new_checkout");
/// ```
pub trait Feature: Send + Sync + 'static {
    /// The switch's name.
    const NAME: &'static str;
    /// What to answer when it is off (default: 404).
    const OFF: Off = Off::NotFound;
}

/// Declares feature switches as types implementing [`Feature`], for the
/// [`Active`] extractor: `Name = "switch"`, optionally followed by
/// `, redirect_to = "/location"` to redirect instead of answering 404.
/// Several declarations are separated by `;`. Attributes and doc comments
/// before a declaration are kept.
///
/// # Examples
///
/// ```
/// use gate_axum::Feature;
///
/// gate_axum::feature! {
///     /// The beta pages.
///     pub Beta = "beta";
///     pub NewCheckout = "new_checkout", redirect_to = "/checkout";
/// }
///
/// assert_eq!(Beta::NAME, "beta");
/// assert_eq!(NewCheckout::OFF.location().unwrap(), "/checkout");
/// ```
#[macro_export]
macro_rules! feature {
    ($(
        $(#[$meta:meta])*
        $vis:vis $ty:ident = $name:literal $(, redirect_to = $location:literal)?
    );+ $(;)?) => {$(
        $(#[$meta])*
        #[doc = ::core::concat!("\n\nThe feature switch `", $name, "`.")]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
        $vis struct $ty;

        impl $crate::Feature for $ty {
            const NAME: &'static str = $name;
            $(const OFF: $crate::Off = $crate::Off::redirect_static($location);)?
        }
    )+};
}

/// An extractor that lets the handler run only when the feature `F` is
/// active for the request's context (the inputs put there by
/// [`inputs_from_fn`](crate::inputs_from_fn())); otherwise the request is
/// rejected with `F::OFF` (404, or a redirect: 302 to `GET`/`HEAD`, 303 to
/// other methods), as the [`require`](crate::require()) layer does.
///
/// The manager is the `gate::Manager` in the request's extensions (add it
/// with `.layer(axum::Extension(manager))`), else [`gate::default()`]. The
/// extractor works with any router state.
///
/// `Option<Active<F>>` never rejects: `Some` when on, `None` when off, for
/// a handler that answers both ways.
///
/// # Examples
///
/// ```
/// use axum::{routing::get, Router};
/// use gate_axum::Active;
///
/// gate_axum::feature! {
///     Beta = "beta";
///     NewCheckout = "new_checkout", redirect_to = "/checkout";
/// }
///
/// async fn beta(_: Active<Beta>) -> &'static str {
///     "the beta page"
/// }
///
/// async fn checkout(new: Option<Active<NewCheckout>>) -> &'static str {
///     if new.is_some() { "new checkout" } else { "old checkout" }
/// }
///
/// let app: Router = Router::new()
///     .route("/beta", get(beta))
///     .route("/checkout", get(checkout));
/// # let _ = app;
/// ```
pub struct Active<F>(PhantomData<fn() -> F>);

impl<F> Active<F> {
    fn new() -> Self {
        Active(PhantomData)
    }
}

impl<F> Clone for Active<F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for Active<F> {}

impl<F: Feature> fmt::Debug for Active<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Active").field(&F::NAME).finish()
    }
}

impl<F: Feature> Active<F> {
    /// The switch's name.
    ///
    /// # Examples
    ///
    /// ```
    /// gate_axum::feature!(Beta = "beta");
    /// assert_eq!(gate_axum::Active::<Beta>::name(), "beta");
    /// ```
    pub fn name() -> &'static str {
        F::NAME
    }

    fn check(parts: &Parts) -> bool {
        crate::manager_of(&parts.extensions).active(F::NAME, ())
    }
}

impl<F: Feature, S: Send + Sync> FromRequestParts<S> for Active<F> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        if Self::check(parts) {
            Ok(Active::new())
        } else {
            Err(Rejection::new(F::NAME, F::OFF, Some(&parts.method)))
        }
    }
}

impl<F: Feature, S: Send + Sync> OptionalFromRequestParts<S> for Active<F> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Self::check(parts).then(Active::new))
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::{any, get};
    use axum::{Extension, Router};
    use gate::Manager;
    use http::{header, Method, Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    crate::feature! {
        /// Documented, to check attributes are kept.
        On = "on";
        OffSwitch = "off";
        OffRedirect = "off", redirect_to = "/upsell";
        AliceOnly = "alice_only";
    }

    async fn router() -> Router {
        let manager = Manager::in_memory();
        manager.enable_for_all("on").await.unwrap();
        manager.disable("off").await.unwrap();
        manager.allow("alice_only", "alice").await.unwrap();
        Router::new()
            .route("/on", get(|_: Active<On>| async { "on" }))
            .route("/off", get(|_: Active<OffSwitch>| async { "off" }))
            .route("/redirect", any(|_: Active<OffRedirect>| async { "off" }))
            .route("/alice", get(|_: Active<AliceOnly>| async { "alice" }))
            .route(
                "/either",
                get(|on: Option<Active<AliceOnly>>| async move {
                    if on.is_some() {
                        "new"
                    } else {
                        "old"
                    }
                }),
            )
            .layer(Extension(manager))
    }

    fn request(method: Method, uri: &str) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap()
    }

    async fn text(response: axum::response::Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn on_off_and_redirect() {
        let app = router().await;
        let on = app
            .clone()
            .oneshot(request(Method::GET, "/on"))
            .await
            .unwrap();
        assert_eq!(on.status(), StatusCode::OK);
        assert_eq!(text(on).await, "on");
        let off = app
            .clone()
            .oneshot(request(Method::GET, "/off"))
            .await
            .unwrap();
        assert_eq!(off.status(), StatusCode::NOT_FOUND);
        assert_eq!(text(off).await, "");
        let get = app.clone().oneshot(request(Method::GET, "/redirect"));
        let get = get.await.unwrap();
        assert_eq!(get.status(), StatusCode::FOUND);
        assert_eq!(get.headers()[header::LOCATION], "/upsell");
        let post = app
            .oneshot(request(Method::POST, "/redirect"))
            .await
            .unwrap();
        assert_eq!(post.status(), StatusCode::SEE_OTHER);
        assert_eq!(post.headers()[header::LOCATION], "/upsell");
    }

    #[tokio::test]
    async fn checks_for_the_context_and_option_never_rejects() {
        let app = router().await;
        let alice = gate::scope("alice", app.clone().oneshot(request(Method::GET, "/alice")));
        assert_eq!(alice.await.unwrap().status(), StatusCode::OK);
        let bob = gate::scope("bob", app.clone().oneshot(request(Method::GET, "/alice")));
        assert_eq!(bob.await.unwrap().status(), StatusCode::NOT_FOUND);

        let alice = gate::scope(
            "alice",
            app.clone().oneshot(request(Method::GET, "/either")),
        );
        assert_eq!(text(alice.await.unwrap()).await, "new");
        let bob = gate::scope("bob", app.oneshot(request(Method::GET, "/either")));
        let bob = bob.await.unwrap();
        assert_eq!(bob.status(), StatusCode::OK);
        assert_eq!(text(bob).await, "old");
    }

    #[tokio::test]
    async fn without_an_extension_the_default_manager() {
        crate::feature!(DefaultOnly = "gate_axum_extractor_default_only");
        gate::default()
            .enable_for_all(DefaultOnly::NAME)
            .await
            .unwrap();
        let app: Router = Router::new().route("/", get(|_: Active<DefaultOnly>| async { "yes" }));
        let response = app.oneshot(request(Method::GET, "/")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn declared_features() {
        assert_eq!(On::NAME, "on");
        assert_eq!(On::OFF, Off::NotFound);
        assert_eq!(OffRedirect::OFF, Off::redirect("/upsell"));
        assert_eq!(Active::<AliceOnly>::name(), "alice_only");
        assert_eq!(format!("{:?}", Active::<On>::new()), "Active(\"on\")");
    }
}
