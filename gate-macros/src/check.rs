//! Checks beyond the grammar of the options: names against gate's rules
//! (the `gate-names` crate, which the manager applies at run time too, so
//! a name it would refuse never compiles), and field options that make no
//! sense together.

use gate_names::NameError;
use syn::LitStr;

use crate::attr::FieldAttrs;
use crate::errors::Errors;

/// Checks a switch name (`#[gate("name")]`, `#[with_switches(name = ..)]`).
pub(crate) fn name(errors: &Errors, lit: &LitStr) {
    let name = lit.value();
    match gate_names::check_name(&name) {
        Ok(()) => {}
        Err(NameError::EmptyName) => errors.error(lit, "the feature name must not be empty"),
        Err(reason) => errors.error(lit, format_args!("invalid feature name {name:?}: {reason}")),
    }
}

/// Checks an input kind (`#[gate(kind = "User")]`).
pub(crate) fn kind(errors: &Errors, lit: &LitStr) {
    let kind = lit.value();
    match gate_names::check_kind(&kind) {
        Ok(()) => {}
        Err(NameError::EmptyKind) => errors.error(lit, "the kind must not be empty"),
        Err(NameError::ReservedKind) => errors.error(lit, NameError::ReservedKind),
        Err(reason) => errors.error(lit, format_args!("invalid kind {kind:?}: {reason}")),
    }
}

/// A field's options that make no sense together: `skip` with any other,
/// `id` with `rename` or `with`.
pub(crate) fn field_options(errors: &Errors, field: &FieldAttrs) {
    if let Some(skip) = field.skip.span() {
        for (other, span) in [
            ("id", field.id.span()),
            ("rename", field.rename.span()),
            ("with", field.with.span()),
        ] {
            if span.is_some() {
                errors.error_at(
                    skip,
                    format_args!("`skip` cannot be combined with `{other}`"),
                );
            }
        }
    } else if field.id.is_set() {
        for (other, span) in [("rename", field.rename.span()), ("with", field.with.span())] {
            if let Some(span) = span {
                errors.error_at(
                    span,
                    format_args!(
                        "`{other}` cannot be combined with `id`: the identity field is not an attribute (conditions reach it as the identity, \"@id\")"
                    ),
                );
            }
        }
    }
}
