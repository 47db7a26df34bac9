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
//!
//! Operating it:
//!
//! - `GATE_STORE=path/to/gate.json` (or `redis://…`) keeps the switches
//!   there instead of in memory, so the `gate` command changes them while
//!   the service runs (a file is re-read every second; Redis pushes
//!   changes). The start-up switches are only created if missing.
//! - `GATE_ADMIN_TOKEN=…` mounts the admin API at `/admin/gate`:
//!
//! ```sh
//! curl -X PUT localhost:3000/admin/gate/switches/new_checkout/percentage \
//!      -H "authorization: Bearer $GATE_ADMIN_TOKEN" -d '{"percentage": 50}'
//! ```

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

/// The manager of `GATE_STORE`: a Redis URL, a file, or (unset) memory.
async fn manager() -> Result<gate::Manager, Box<dyn std::error::Error>> {
    let Ok(store) = std::env::var("GATE_STORE") else {
        return Ok(gate::Manager::in_memory());
    };
    if store.starts_with("redis://") || store.starts_with("rediss://") {
        let prefix = std::env::var("GATE_PREFIX").unwrap_or_else(|_| "gate".into());
        return Ok(gate::Manager::builder()
            .redis(store)
            .prefix(prefix)
            .build()
            .await?);
    }
    let manager = gate::Manager::builder()
        .storage(gate::storage::FileStorage::open(&store)?)
        .build();
    // Other processes (the `gate` command) change the file: re-read it.
    let reloading = manager.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if let Err(e) = reloading.reload().await {
                eprintln!("could not re-read {store}: {e}");
            }
        }
    });
    Ok(manager)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Switches configured at start-up, unless the store already has them.
    let manager = manager().await?.as_actor("axum_app");
    if manager.switch("beta").is_none() {
        manager.allow("beta", "alice").await?; // named users
    }
    if manager.switch("new_checkout").is_none() {
        manager.set_percentage("new_checkout", 30).await?; // crc32(id) % 100 < 30
    }
    gate::configure(manager.clone())?;

    let mut app = Router::new()
        .route("/beta", get(beta))
        .route_layer(gate_axum::require("beta"))
        .route("/", get(home))
        .route("/new-checkout", get(new_checkout))
        .route("/checkout", get(old_checkout))
        .layer(gate_axum::inputs_from_fn(user));
    if let Ok(token) = std::env::var("GATE_ADMIN_TOKEN") {
        let admin = gate_axum::admin::router(manager, gate_axum::admin::Auth::bearer(token));
        app = app.nest("/admin/gate", admin);
        println!("admin API at /admin/gate");
    }

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
