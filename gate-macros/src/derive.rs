//! `#[derive(Arguments)]`: an `Arguments` impl whose attribute lookup is a
//! `match` on the name.
//!
//! ```text
//! #[derive(Arguments)]                 impl Arguments for User {
//! struct User {                            fn kind(&self) -> &str { "User" }
//!     #[gate(id)] id: u64,       =>        fn identity(&self) -> Option<Identity<'_>> { ToIdentity::to_identity(&self.id) }
//!     age: u32,                            fn attribute(&self, name: &str) -> Option<Value<'_>> {
//! }                                            match name { "age" => ToValue::to_value(&self.age), _ => None }
//!                                          }
//!                                      }
//! ```
//!
//! Each field's conversion is spanned on the field's type, so an
//! unsupported type is reported by rustc at that type, with the message of
//! gate's support trait (`__private::AttributeField`, over `gate::ToValue`).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::attr::{ContainerAttrs, FieldAttrs};
use crate::errors::Errors;
use crate::tokens;

const NAMED_FIELDS: &str =
    "#[derive(Arguments)] needs a struct with named fields (its attributes are named after them)";

pub(crate) fn expand(input: DeriveInput) -> TokenStream {
    let errors = Errors::new();
    let container = ContainerAttrs::from_attrs(&errors, &input.attrs);
    let private = tokens::private(container.krate.as_ref());
    let name = &input.ident;
    let kind = container
        .kind
        .clone()
        .unwrap_or_else(|| LitStr::new(&syn::ext::IdentExt::unraw(name).to_string(), name.span()));
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

    let body = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Some(methods(&errors, &input, &private, fields)),
            Fields::Unnamed(fields) => {
                errors.error(
                    fields,
                    format_args!("{NAMED_FIELDS}, not a tuple struct; implement gate::Arguments by hand, or name the fields"),
                );
                None
            }
            Fields::Unit => {
                errors.error(
                    name,
                    format_args!(
                        "{NAMED_FIELDS}, not a unit struct; implement gate::Arguments by hand"
                    ),
                );
                None
            }
        },
        Data::Enum(data) => {
            errors.error(
                data.enum_token,
                format_args!(
                    "{NAMED_FIELDS}, not an enum; implement gate::Arguments by hand for an enum"
                ),
            );
            None
        }
        Data::Union(data) => {
            errors.error(
                data.union_token,
                format_args!("{NAMED_FIELDS}, not a union"),
            );
            None
        }
    };

    match (errors.finish(), body) {
        (Ok(()), Some((bounds, methods))) => {
            let mut where_clause = where_clause.cloned().unwrap_or_else(|| syn::WhereClause {
                where_token: Default::default(),
                predicates: Default::default(),
            });
            where_clause.predicates.extend(bounds);
            quote! {
                #[automatically_derived]
                impl #impl_generics #private::Arguments for #name #ty_generics #where_clause {
                    #[inline]
                    fn kind(&self) -> &str {
                        #kind
                    }
                    #methods
                }
            }
        }
        (result, _) => {
            // The errors, and a stub impl so that uses of the type are not
            // flooded with "Arguments is not implemented" errors.
            let mut out = result
                .err()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            out.extend(quote! {
                #[automatically_derived]
                impl #impl_generics #private::Arguments for #name #ty_generics #where_clause {
                    fn kind(&self) -> &str {
                        #kind
                    }
                }
            });
            out
        }
    }
}

/// The `identity` and `attribute` methods, and the where-clause bounds
/// the generic field types need.
fn methods(
    errors: &Errors,
    input: &DeriveInput,
    private: &TokenStream,
    fields: &syn::FieldsNamed,
) -> (Vec<syn::WherePredicate>, TokenStream) {
    let type_params: Vec<&Ident> = input.generics.type_params().map(|p| &p.ident).collect();
    let mut bounds = Vec::new();
    let mut identity: Option<(&Ident, TokenStream)> = None;
    let mut arms = Vec::new();
    let mut names: Vec<(String, Span)> = Vec::new();

    for field in &fields.named {
        let attrs = FieldAttrs::from_attrs(errors, &field.attrs);
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        if attrs.skip.is_set() {
            continue;
        }
        if let Some(span) = attrs.id.span() {
            if let Some((first, _)) = &identity {
                errors.error_at(
                    span,
                    format_args!(
                        "only one field can be the identity: `{first}` is already #[gate(id)]"
                    ),
                );
            } else {
                if mentions(ty, &type_params) {
                    bounds.push(syn::parse_quote_spanned!(ty.span()=> #ty: #private::ToIdentity));
                }
                let receiver = receiver(ty);
                let get = quote!(#private::IdentityField::identity_field(#receiver #ident));
                identity = Some((ident, get));
            }
            continue;
        }
        let (name, name_span) = match attrs.rename.get() {
            Some(lit) => (lit.value(), lit.span()),
            None => (syn::ext::IdentExt::unraw(ident).to_string(), ident.span()),
        };
        if let Some((_, _)) = names.iter().find(|(n, _)| *n == name) {
            errors.error_at(
                name_span,
                format_args!(
                    "two attributes are named {name:?}: rename one with #[gate(rename = \"...\")]"
                ),
            );
            continue;
        }
        names.push((name.clone(), name_span));
        let value = match attrs.with.get() {
            Some(path) => quote_spanned! {path.span()=>
                #private::IntoAttribute::into_attribute(#path(self))
            },
            None => {
                if mentions(ty, &type_params) {
                    bounds.push(syn::parse_quote_spanned!(ty.span()=> #ty: #private::ToValue));
                }
                let receiver = receiver(ty);
                quote!(#private::AttributeField::attribute_field(#receiver #ident))
            }
        };
        let lit = LitStr::new(&name, name_span);
        arms.push(quote!(#lit => #value,));
    }

    let identity = identity.map(|(_, get)| {
        quote! {
            #[inline]
            fn identity(&self) -> #private::Option<#private::Identity<'_>> {
                #get
            }
        }
    });
    let lookup = if arms.is_empty() {
        quote! {
            let _ = __gate_attribute_name;
            #private::None
        }
    } else {
        quote! {
            match __gate_attribute_name {
                #(#arms)*
                _ => #private::None,
            }
        }
    };
    let methods = quote! {
        #identity
        #[inline]
        fn attribute(&self, __gate_attribute_name: &str) -> #private::Option<#private::Value<'_>> {
            #lookup
        }
    };
    (bounds, methods)
}

/// `&self.` spanned on the end of the field's type: with the field's
/// name after it, the conversion's argument covers `name: Type`, where
/// rustc reports an unsupported type.
fn receiver(ty: &Type) -> TokenStream {
    let (_, last) = tokens::first_last(ty);
    quote_spanned!(last=> &self.)
}

/// Whether `ty` mentions one of the struct's type parameters.
fn mentions(ty: &Type, params: &[&Ident]) -> bool {
    fn walk(tokens: TokenStream, params: &[&Ident]) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => params.iter().any(|p| **p == i),
            TokenTree::Group(g) => walk(g.stream(), params),
            _ => false,
        })
    }
    !params.is_empty() && walk(ty.to_token_stream(), params)
}
