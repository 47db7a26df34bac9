//! An axum service whose pages are behind feature switches.
//!
//! Run with `cargo run --example axum_app` (port 3000, or `PORT`), then:
//!
//! ```sh
//! curl -i localhost:3000/beta -H 'x-user: alice'        # 200: alice is a beta user
//! curl -i localhost:3000/beta?user=bob                  # 404: bob is not
//! curl -i localhost:3000/new-checkout -H 'x-user: bob'  # 200: bob is in the 30%
//! curl -i localhost:3000/new-checkout?user=alice        # 302 to /checkout
//! ```
//!
//! - `/` — the home page: who you are and what is on for you.
//! - `/beta` — guarded by the `require("beta")` layer: 404 when off.
//! - `/new-checkout` — guarded by the `Active<NewCheckout>` extractor:
//!   a redirect to the old `/checkout` when off.
//!
//! The user comes from the `x-user` header or the `user` query parameter
//! (the header wins); `inputs_from_fn` puts it into gate's context for the
//! whole request. A malformed user answers 400.

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use gate_axum::Active;

gate_axum::feature! {
    /// The new checkout; off → the old one.
    NewCheckout = "new_checkout", redirect_to = "/checkout";
}

/// The user of a request: `x-user`, else `?user=`; none is anonymous.
async fn user(headers: HeaderMap, uri: Uri) -> Result<gate::Context, (StatusCode, String)> {
    let from_header = match headers.get("x-user") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| (StatusCode::BAD_REQUEST, "x-user is not text\n".to_owned()))?
                .to_owned(),
        ),
        None => None,
    };
    let from_query = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("user="))
            .map(str::to_owned)
    });
    match from_header.or(from_query) {
        None => Ok(gate::Context::default()),
        Some(id) if valid(&id) => Ok(gate::Context::default().with(id)),
        Some(id) => Err((
            StatusCode::BAD_REQUEST,
            format!("invalid user {id:?}: use 1 to 32 letters, digits, '-' or '_'\n"),
        )),
    }
}

fn valid(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn home() -> Html<String> {
    let manager = gate::default();
    let user = gate::Context::current()
        .inputs()
        .iter()
        .find_map(|input| input.identity().map(|id| id.with_text(str::to_owned)))
        .unwrap_or_else(|| "anonymous".to_owned());
    let on = |name| {
        if manager.active(name, ()) {
            "on"
        } else {
            "off"
        }
    };
    Html(format!(
        "<h1>Hello, {user}</h1>\n<p>beta: {}, new_checkout: {}</p>\n",
        on("beta"),
        on("new_checkout"),
    ))
}

async fn beta() -> Html<&'static str> {
    Html("<h1>The beta</h1>\n")
}

async fn new_checkout(_: Active<NewCheckout>) -> Html<&'static str> {
    Html("<h1>The new checkout</h1>\n")
}

async fn old_checkout() -> Html<&'static str> {
    Html("<h1>The checkout</h1>\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Switches configured at start-up (in production: a Redis-backed
    // manager that operators change at run time).
    let manager = gate::Manager::in_memory();
    manager.allow("beta", "alice").await?; // named users
    manager.set_percentage("new_checkout", 30).await?; // crc32(id) % 100 < 30
    gate::configure(manager)?;

    let app = Router::new()
        .route("/beta", get(beta))
        .route_layer(gate_axum::require("beta"))
        .route("/", get(home))
        .route("/new-checkout", get(new_checkout))
        .route("/checkout", get(old_checkout))
        .layer(gate_axum::inputs_from_fn(user));

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
