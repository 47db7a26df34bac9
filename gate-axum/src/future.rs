//! The futures of gate-axum's services.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;

use crate::rejection::Rejection;

pin_project! {
    /// The response future of [`Require`](crate::Require): the inner
    /// service's future when the switch is on, else the rejection.
    pub struct RequireFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        On { #[pin] future: F },
        Off { rejection: Option<Rejection> },
    }
}

impl<F> RequireFuture<F> {
    pub(crate) fn on(future: F) -> Self {
        RequireFuture {
            kind: Kind::On { future },
        }
    }

    pub(crate) fn off(rejection: Rejection) -> Self {
        RequireFuture {
            kind: Kind::Off {
                rejection: Some(rejection),
            },
        }
    }
}

impl<F, E> Future for RequireFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::On { future } => future.poll(cx),
            KindProj::Off { rejection } => match rejection.take() {
                Some(rejection) => Poll::Ready(Ok(rejection.into_response())),
                None => panic!("RequireFuture polled after completion"),
            },
        }
    }
}

impl<F> fmt::Debug for RequireFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::On { .. } => "on",
            Kind::Off { .. } => "off",
        };
        f.debug_struct("RequireFuture")
            .field("switch", &state)
            .finish_non_exhaustive()
    }
}

type BoxResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The response future of [`InputsService`](crate::InputsService): the
/// user's function, then the inner service inside `gate::scope`.
pub struct InputsFuture {
    inner: BoxResponseFuture,
}

impl InputsFuture {
    pub(crate) fn new(
        future: impl Future<Output = Result<Response, Infallible>> + Send + 'static,
    ) -> Self {
        InputsFuture {
            inner: Box::pin(future),
        }
    }
}

impl Future for InputsFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for InputsFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputsFuture").finish_non_exhaustive()
    }
}
