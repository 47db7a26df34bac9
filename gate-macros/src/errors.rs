//! The error collector and the duplicate-detecting option slots, so one
//! build reports every mistake of a macro call (serde's `Ctxt` and
//! `Attr<T>`).

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Gathers every error of one macro call, so the user sees all of them in
/// one build (serde's `Ctxt`). It must be [`finish`](Errors::finish)ed.
pub(crate) struct Errors {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Errors {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned on `tokens`.
    pub(crate) fn error(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn error_at(&self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error.
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Errors used after finish")
            .push(error);
    }

    /// Whether no error was recorded yet.
    pub(crate) fn is_empty(&self) -> bool {
        match self.errors.borrow().as_ref() {
            Some(errors) => errors.is_empty(),
            None => true,
        }
    }

    /// All the errors recorded, combined into one; `Ok` if none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in errors {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("gate-macros: Errors dropped without finish()");
        }
    }
}

/// An option that may be given once: a second one is an error spanned on
/// its keyword.
pub(crate) struct Slot<T> {
    name: &'static str,
    value: Option<(Span, T)>,
}

impl<T> Slot<T> {
    pub(crate) fn new(name: &'static str) -> Self {
        Slot { name, value: None }
    }

    /// Sets the option given at `keyword`, or records a duplicate.
    pub(crate) fn set(&mut self, errors: &Errors, keyword: Span, value: T) {
        if self.value.is_some() {
            errors.error_at(
                keyword,
                format_args!("`{}` is specified more than once", self.name),
            );
        } else {
            self.value = Some((keyword, value));
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.value.is_some()
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, v)| v)
    }

    pub(crate) fn span(&self) -> Option<Span> {
        self.value.as_ref().map(|(s, _)| *s)
    }

    pub(crate) fn take(self) -> Option<T> {
        self.value.map(|(_, v)| v)
    }
}
