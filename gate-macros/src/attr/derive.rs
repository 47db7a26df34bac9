//! The derive's `#[gate(...)]` attributes: `kind` and `crate` on the
//! struct, `id`, `skip`, `rename` and `with` on a field.

use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitStr, Path, Token};

use super::{comma, kw, parse_crate_path, skip_option};
use crate::check;
use crate::errors::{Errors, Slot};

/// `#[gate(kind = "...", crate = "...")]` on the struct.
pub(crate) struct ContainerAttrs {
    pub(crate) kind: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

/// `#[gate(id | skip | rename = "..." | with = path)]` on a field.
pub(crate) struct FieldAttrs {
    pub(crate) id: Slot<()>,
    pub(crate) skip: Slot<()>,
    pub(crate) rename: Slot<LitStr>,
    pub(crate) with: Slot<Path>,
}

/// Calls `each` for every `#[gate(...)]` among `attrs`, with its options
/// as a stream; a syntax error is recorded and the attribute skipped.
fn each_gate_attr(
    errors: &Errors,
    attrs: &[syn::Attribute],
    mut each: impl FnMut(ParseStream<'_>) -> syn::Result<()>,
) {
    for attr in attrs {
        if !attr.path().is_ident("gate") {
            continue;
        }
        let parser = |input: ParseStream<'_>| -> syn::Result<()> {
            loop {
                if input.is_empty() {
                    break;
                }
                each(input)?;
                if !comma(input)? {
                    break;
                }
            }
            Ok(())
        };
        let result = match &attr.meta {
            syn::Meta::List(list) => syn::parse::Parser::parse2(parser, list.tokens.clone()),
            other => Err(syn::Error::new_spanned(
                other,
                "expected options in parentheses: #[gate(...)]",
            )),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
}

impl ContainerAttrs {
    pub(crate) fn from_attrs(errors: &Errors, attrs: &[syn::Attribute]) -> ContainerAttrs {
        let mut kind = Slot::new("kind");
        let mut krate = Slot::new("crate");
        each_gate_attr(errors, attrs, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::kind) {
                let keyword: kw::kind = input.parse()?;
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                check::kind(errors, &lit);
                kind.set(errors, keyword.span, lit);
            } else if lookahead.peek(Token![crate]) {
                let keyword: Token![crate] = input.parse()?;
                if let Some(path) = parse_crate_path(errors, input)? {
                    krate.set(errors, keyword.span, path);
                }
            } else if input.peek(Ident::peek_any) {
                let ident = Ident::parse_any(input)?;
                let hint = match ident.to_string().as_str() {
                    "id" | "skip" | "rename" | "with" => {
                        format!("`{ident}` belongs on a field, not on the struct")
                    }
                    _ => format!("unknown option `{ident}`: expected `kind` or `crate`"),
                };
                errors.error(&ident, hint);
                skip_option(input);
            } else {
                return Err(lookahead.error());
            }
            Ok(())
        });
        ContainerAttrs {
            kind: kind.take(),
            krate: krate.take(),
        }
    }
}

impl FieldAttrs {
    pub(crate) fn from_attrs(errors: &Errors, attrs: &[syn::Attribute]) -> FieldAttrs {
        let mut this = FieldAttrs {
            id: Slot::new("id"),
            skip: Slot::new("skip"),
            rename: Slot::new("rename"),
            with: Slot::new("with"),
        };
        each_gate_attr(errors, attrs, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::id) {
                let keyword: kw::id = input.parse()?;
                this.id.set(errors, keyword.span, ());
            } else if lookahead.peek(kw::skip) {
                let keyword: kw::skip = input.parse()?;
                this.skip.set(errors, keyword.span, ());
            } else if lookahead.peek(kw::rename) {
                let keyword: kw::rename = input.parse()?;
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if lit.value().is_empty() {
                    errors.error(&lit, "an attribute name must not be empty");
                }
                this.rename.set(errors, keyword.span, lit);
            } else if lookahead.peek(kw::with) {
                let keyword: kw::with = input.parse()?;
                input.parse::<Token![=]>()?;
                this.with.set(errors, keyword.span, input.parse::<Path>()?);
            } else if input.peek(Ident::peek_any) {
                let ident = Ident::parse_any(input)?;
                let hint = match ident.to_string().as_str() {
                    "kind" | "crate" => {
                        format!("`{ident}` belongs on the struct, not on a field")
                    }
                    _ => format!(
                        "unknown field option `{ident}`: expected `id`, `skip`, `rename` or `with`"
                    ),
                };
                errors.error(&ident, hint);
                skip_option(input);
            } else {
                return Err(lookahead.error());
            }
            Ok(())
        });
        check::field_options(errors, &this);
        this
    }
}
