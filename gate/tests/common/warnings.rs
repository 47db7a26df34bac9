//! A tracing subscriber that keeps the warnings a test causes (no
//! tracing-subscriber dependency for it).

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Keeps the `switch` field of every warning that has one, and the
/// message of every warning.
#[derive(Clone, Default)]
pub struct Warnings(pub Arc<Mutex<Vec<String>>>, pub Arc<Mutex<Vec<String>>>);

struct Fields {
    switch: Option<String>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "switch" => self.switch = Some(format!("{value:?}")),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl Subscriber for Warnings {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            let mut fields = Fields {
                switch: None,
                message: None,
            };
            event.record(&mut fields);
            if let Some(switch) = fields.switch {
                self.0.lock().unwrap().push(switch);
            }
            if let Some(message) = fields.message {
                self.1.lock().unwrap().push(message);
            }
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
