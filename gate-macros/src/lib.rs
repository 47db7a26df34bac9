//! Procedural macros of `gate`. Use them through the `gate` crate:
//! `use gate::{gate, Arguments};` and `#[gate::with_switches(...)]`.
//!
//! The generated code refers only to `::gate::__private` (or to the path
//! given with `crate = "..."`), so the support it uses can change freely
//! with the exactly pinned `gate-macros` version.

mod attr;
mod check;
mod derive;
mod errors;
mod expand;
mod item;
mod testing;
mod tokens;

use proc_macro::TokenStream;

/// Runs the function's body only when a feature switch is active.
///
/// `#[gate("feature", ...)]` puts a check in front of the body; the
/// signature, attributes, doc comments and visibility are kept, and the
/// body is not wrapped in a closure (`return` and `?` mean what they
/// meant). Works on free functions, methods (`self`, `&self`,
/// `&mut self`), `async fn`, generic functions, `where` clauses and
/// `impl Trait` returns.
///
/// # Options
///
/// - `"feature"` (first, required): the switch's name, a non-empty string
///   literal that the manager accepts as a name.
/// - `arg = user`: check the switch for this parameter (any
///   `gate::Arguments`: a derived input, a plain id, `self`), after the
///   current context's inputs. `args(user, request)` for several. Without
///   either, the check sees only the current context (`gate::scope`).
/// - `manager = expr`: the `gate::Manager` to ask (a `Manager`,
///   `&Manager`, `Arc<Manager>`, `LazyLock<Manager>`, ...). Default:
///   `gate::default()`.
/// - `otherwise = expr`: what to return when the switch is off.
/// - `crate = "path"`: where to find `gate`, if not at `::gate`.
///
/// # When the switch is off
///
/// The body does not run, and the function returns
///
/// - `otherwise`'s value, if given;
/// - else `Err(gate::Inactive::new("feature").into())` for a `Result`
///   (so the error type needs `From<gate::Inactive>`);
/// - else `None` for an `Option`;
/// - else `()` for a function that returns nothing.
///
/// Any other return type without `otherwise` is a compile error.
///
/// An `async fn` is checked when its future is first polled, so it sees
/// the context of the task that polls it.
///
/// # Examples
///
/// ```
/// use gate::{gate, Arguments, Manager};
/// use std::sync::LazyLock;
///
/// static SWITCHES: LazyLock<Manager> = LazyLock::new(Manager::in_memory);
///
/// #[derive(Arguments)]
/// struct User {
///     #[gate(id)]
///     id: u64,
/// }
///
/// #[derive(Debug)]
/// enum ApiError {
///     Off(gate::Inactive),
/// }
///
/// impl From<gate::Inactive> for ApiError {
///     fn from(off: gate::Inactive) -> Self {
///         ApiError::Off(off)
///     }
/// }
///
/// /// New search, for the users it is on for.
/// #[gate("new_search", arg = user, manager = SWITCHES)]
/// fn search(user: &User, query: &str) -> Result<Vec<String>, ApiError> {
///     Ok(vec![format!("results for {query}")])
/// }
///
/// #[gate("banner", arg = user, manager = SWITCHES, otherwise = "")]
/// fn banner(user: &User) -> &'static str {
///     "Try the new search!"
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// SWITCHES.allow("new_search", 7u64).await.unwrap();
/// SWITCHES.enable_for_all("banner").await.unwrap();
///
/// assert!(search(&User { id: 7 }, "rust").is_ok());
/// let off = search(&User { id: 8 }, "rust").unwrap_err();
/// assert!(matches!(off, ApiError::Off(e) if e.name() == "new_search"));
/// assert_eq!(banner(&User { id: 8 }), "Try the new search!");
/// # });
/// ```
///
/// The current user, from the context:
///
/// ```
/// use gate::gate;
///
/// #[gate("beta")]
/// async fn beta_feature() -> Option<&'static str> {
///     Some("on")
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// gate::default().allow("beta", "alice").await.unwrap();
/// assert_eq!(gate::scope("alice", beta_feature()).await, Some("on"));
/// assert_eq!(gate::scope("bob", beta_feature()).await, None);
/// # });
/// ```
#[proc_macro_attribute]
pub fn gate(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}

/// Forces switches on or off for a whole test function.
///
/// `#[gate::with_switches(cool_feature = true, "name:with:colons" = false)]`
/// makes a `gate::testing::override_switch` guard for each switch in front
/// of the body; they are dropped when the body ends. A name that is not an
/// identifier (or is `manager` / `crate`) is written as a string.
/// `manager = expr` picks the manager (default: `gate::default()`);
/// `crate = "path"` tells where `gate` is.
///
/// Overrides are seen by the thread that made them, so parallel tests do
/// not see each other's. On a `#[tokio::test]` (either order of the two
/// attributes, current-thread or multi-thread flavor) the body runs on the
/// test's thread, so it sees the overrides across every `.await`; tasks it
/// `tokio::spawn`s onto other worker threads do not.
///
/// # Examples
///
/// ```
/// // In a test module, with `#[test]` or `#[tokio::test]` above or below.
/// #[gate::with_switches(cool_feature = true, "movies:star_wars" = false)]
/// fn uses_the_cool_feature() {
///     assert!(gate::default().active("cool_feature", "anyone"));
///     assert!(!gate::default().active("movies:star_wars", "anyone"));
/// }
///
/// uses_the_cool_feature();
/// // The overrides ended with the function.
/// assert!(!gate::default().active("cool_feature", "anyone"));
/// ```
#[proc_macro_attribute]
pub fn with_switches(attr: TokenStream, item: TokenStream) -> TokenStream {
    testing::expand(attr.into(), item.into()).into()
}

/// Implements `gate::Arguments` for a struct with named fields.
///
/// The kind is the struct's name (or `#[gate(kind = "...")]` on the
/// struct); every field is an attribute named after it, unless marked:
///
/// - `#[gate(id)]`: this field is the identity (percentages, allow-lists,
///   id rules), not an attribute. At most one. Any `gate::ToIdentity`
///   type: integers, `String`, `&str`, `Cow<str>`, `Option` of those.
/// - `#[gate(skip)]`: not an attribute.
/// - `#[gate(rename = "country")]`: the attribute's name.
/// - `#[gate(with = path::to::fn)]`: the attribute is computed by
///   `fn(&Self) -> impl Into<gate::Value>` (or an `Option` of such a
///   value, `None` being missing).
///
/// Field types: `bool`, integers, `f32`/`f64`, `String`, `&str`,
/// `Cow<str>`, `Option` of those (`None` = the attribute is missing), and
/// any type implementing `gate::ToValue`; another type is a compile error
/// at that field's type. Generic and lifetime parameters are fine.
/// `#[gate(crate = "path")]` tells where `gate` is. Looking an attribute
/// up is a `match` on its name: no allocation.
///
/// # Examples
///
/// ```
/// use gate::{Arguments, Identity, Value};
/// use std::borrow::Cow;
///
/// #[derive(Arguments)]
/// #[gate(kind = "User")]
/// struct Customer<'a> {
///     #[gate(id)]
///     id: u64,
///     age: u32,
///     #[gate(rename = "country")]
///     country_code: Cow<'a, str>,
///     email: Option<String>,
///     #[gate(with = Customer::is_adult)]
///     adult: (),
///     #[gate(skip)]
///     password_hash: String,
/// }
///
/// impl Customer<'_> {
///     fn is_adult(&self) -> bool {
///         self.age >= 18
///     }
/// }
///
/// let c = Customer {
///     id: 443301,
///     age: 30,
///     country_code: "fr".into(),
///     email: None,
///     adult: (),
///     password_hash: "x".into(),
/// };
/// assert_eq!(c.kind(), "User");
/// assert_eq!(c.identity(), Some(Identity::from(443301u64)));
/// assert_eq!(c.attribute("age"), Some(Value::Int(30)));
/// assert_eq!(c.attribute("country"), Some(Value::from("fr")));
/// assert_eq!(c.attribute("email"), None); // None: missing
/// assert_eq!(c.attribute("adult"), Some(Value::Bool(true)));
/// assert_eq!(c.attribute("password_hash"), None);
/// ```
#[proc_macro_derive(Arguments, attributes(gate))]
pub fn derive_arguments(item: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(item as syn::DeriveInput);
    derive::expand(input).into()
}
