//! A rejection turned into a response logs one TRACE event (target
//! `gate_axum::rejection`). Alone in its binary, with a global subscriber:
//! a thread-scoped one beside other tests in the same process lost events
//! now and then (tracing's callsite interest is process-wide).

use std::fmt;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use gate_axum::{Off, Rejection};
use http::Method;

/// Records the events of target `gate_axum::rejection`: their level,
/// `feature` and `status` fields.
#[derive(Default, Clone)]
struct Events(Arc<Mutex<Vec<(tracing::Level, String, String)>>>);

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String, String);
        impl tracing::field::Visit for Fields {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "feature" {
                    self.0 = value.to_owned();
                }
            }
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "status" {
                    self.1 = value.to_string();
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn fmt::Debug) {}
        }
        if event.metadata().target() == "gate_axum::rejection" {
            let mut fields = Fields(String::new(), String::new());
            event.record(&mut fields);
            let level = *event.metadata().level();
            self.0.lock().unwrap().push((level, fields.0, fields.1));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn into_response_logs_a_trace_event() {
    let events = Events::default();
    tracing::subscriber::set_global_default(events.clone()).unwrap();
    let _ = Rejection::new("beta", Off::NotFound, Some(&Method::GET)).into_response();
    let _ = Rejection::new("shop", Off::redirect("/x"), Some(&Method::POST)).into_response();
    let events = events.0.lock().unwrap().clone();
    assert_eq!(
        events,
        [
            (tracing::Level::TRACE, "beta".to_owned(), "404".to_owned()),
            (tracing::Level::TRACE, "shop".to_owned(), "303".to_owned()),
        ]
    );
}
