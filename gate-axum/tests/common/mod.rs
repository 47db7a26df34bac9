//! A real server on 127.0.0.1:0 and a real HTTP client (hyper-util's
//! legacy client), and the admin API served with a token.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::Router;
use gate::Manager;
use gate_axum::admin::{self, Auth};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A running server and a client for it.
pub struct Server {
    pub addr: SocketAddr,
    pub client: Client<HttpConnector, Full<Bytes>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(http::header::LOCATION)
            .map(|l| l.to_str().unwrap())
    }
}

/// Serves `app` with `axum::serve` on a fresh port of 127.0.0.1.
pub async fn serve(app: Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let client = Client::builder(TokioExecutor::new()).build_http();
    Server { addr, client, task }
}

impl Server {
    /// Sends `method path` with `headers` (name, raw bytes).
    pub async fn send(&self, method: Method, path: &str, headers: &[(&str, &[u8])]) -> Answer {
        self.send_body(method, path, headers, "").await
    }

    /// Sends `method path` with `headers` and `body`.
    pub async fn send_body(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &str,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        for (name, value) in headers {
            request = request.header(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// `GET path`, as `user` (the `x-user` header) if given.
    pub async fn get(&self, path: &str, user: Option<&str>) -> Answer {
        match user {
            Some(user) => {
                self.send(Method::GET, path, &[("x-user", user.as_bytes())])
                    .await
            }
            None => self.send(Method::GET, path, &[]).await,
        }
    }
}

/// The token of `api:alice`.
pub const TOKEN: &str = "s3cret-token";

/// The admin API of `manager` under `/admin/gate`, for the tokens of
/// alice ([`TOKEN`]) and bob.
pub async fn start(manager: &Manager) -> Server {
    let app = Router::new().nest(
        "/admin/gate",
        admin::router(
            manager.clone(),
            Auth::bearer_tokens([("alice", TOKEN), ("bob", "bobs-token")]),
        ),
    );
    serve(app).await
}

/// `method /admin/gate{path}` as alice, with `body` (none if null).
pub async fn call(server: &Server, method: Method, path: &str, body: Value) -> Answer {
    call_as(server, TOKEN, method, path, body).await
}

/// `method /admin/gate{path}` with `token`, with `body` (none if null).
pub async fn call_as(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Answer {
    let auth = format!("Bearer {token}");
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    server
        .send_body(
            method,
            &format!("/admin/gate{path}"),
            &[
                ("authorization", auth.as_bytes()),
                ("content-type", b"application/json"),
            ],
            &body,
        )
        .await
}

/// The answer's body as JSON.
pub fn json_of(answer: &Answer) -> Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}
