//! Inputs: the values a check is made for (a user, a request, a plain id).

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::value::{Identity, Value};

/// The kind of plain ids (`&str`, `String`, integers) used as inputs.
pub const ID_KIND: &str = "id";

/// A type that can be passed to a check: it has a *kind*, maybe an
/// *identity*, and named attributes.
///
/// Usually derived with `#[derive(gate::Arguments)]`; by hand it looks like
/// this. `attribute` is called on every check, so it should `match` on the
/// name rather than build anything.
///
/// # Examples
///
/// ```
/// use gate::{Arguments, Identity, Value};
///
/// struct User { id: u64, age: u32, country: String }
///
/// impl Arguments for User {
///     fn kind(&self) -> &str { "User" }
///     fn identity(&self) -> Option<Identity<'_>> { Some(Identity::from(self.id)) }
///     fn attribute(&self, name: &str) -> Option<Value<'_>> {
///         match name {
///             "age" => Some(Value::from(self.age)),
///             "country" => Some(Value::from(self.country.as_str())),
///             _ => None,
///         }
///     }
/// }
///
/// let manager = gate::Manager::in_memory();
/// let user = User { id: 443301, age: 30, country: "fr".into() };
/// assert!(!manager.active("beta", &user));
/// ```
pub trait Arguments {
    /// The kind of input: conditions name it as their `argument`.
    fn kind(&self) -> &str;

    /// The identity used by percentages, allow-lists and id rules.
    fn identity(&self) -> Option<Identity<'_>> {
        None
    }

    /// The value of the attribute `name`, or `None` if there is no such
    /// attribute (a condition on it then cannot be evaluated).
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        let _ = name;
        None
    }
}

impl<T: Arguments + ?Sized> Arguments for &T {
    fn kind(&self) -> &str {
        (**self).kind()
    }
    fn identity(&self) -> Option<Identity<'_>> {
        (**self).identity()
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        (**self).attribute(name)
    }
}

impl<T: Arguments + ?Sized> Arguments for &mut T {
    fn kind(&self) -> &str {
        (**self).kind()
    }
    fn identity(&self) -> Option<Identity<'_>> {
        (**self).identity()
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        (**self).attribute(name)
    }
}

impl<T: Arguments + ?Sized> Arguments for Box<T> {
    fn kind(&self) -> &str {
        (**self).kind()
    }
    fn identity(&self) -> Option<Identity<'_>> {
        (**self).identity()
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        (**self).attribute(name)
    }
}

impl<T: Arguments + ?Sized> Arguments for Arc<T> {
    fn kind(&self) -> &str {
        (**self).kind()
    }
    fn identity(&self) -> Option<Identity<'_>> {
        (**self).identity()
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        (**self).attribute(name)
    }
}

impl Arguments for str {
    fn kind(&self) -> &str {
        ID_KIND
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(Identity::Str(Cow::Borrowed(self)))
    }
}

impl Arguments for String {
    fn kind(&self) -> &str {
        ID_KIND
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(Identity::Str(Cow::Borrowed(self)))
    }
}

impl Arguments for Identity<'_> {
    fn kind(&self) -> &str {
        ID_KIND
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(match self {
            Identity::Str(s) => Identity::Str(Cow::Borrowed(s)),
            Identity::Int(n) => Identity::Int(*n),
        })
    }
}

macro_rules! int_arguments {
    ($($t:ty),*) => {$(
        impl Arguments for $t {
            fn kind(&self) -> &str {
                ID_KIND
            }
            fn identity(&self) -> Option<Identity<'_>> {
                Some(Identity::from(*self))
            }
        }
    )*};
}
int_arguments!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

/// The local inputs of a check: one input, `()` for none, a tuple of up
/// to eight inputs, or a slice / `Vec` / array of them.
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::in_memory();
/// manager.active("f", "443301");          // a plain id
/// manager.active("f", 443301u64);         // the same identity
/// manager.active("f", ("443301", 7u32));  // two inputs
/// manager.active("f", ());                // only the context's inputs
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the inputs of a check",
    label = "not an input",
    note = "an input implements `gate::Arguments` (usually with #[derive(gate::Arguments)]); pass one, a tuple of them, a slice, or `()`"
)]
pub trait Inputs {
    /// Calls `f` with each input in order until it breaks.
    fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()>;
}

impl<T: Arguments> Inputs for T {
    fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        f(self)
    }
}

impl Inputs for () {
    fn each<'s>(
        &'s self,
        _f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

macro_rules! tuple_inputs {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Arguments),+> Inputs for ($($name,)+) {
            fn each<'s>(
                &'s self,
                f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
            ) -> ControlFlow<()> {
                $( f(&self.$idx)?; )+
                ControlFlow::Continue(())
            }
        }
    };
}
tuple_inputs!(A.0);
tuple_inputs!(A.0, B.1);
tuple_inputs!(A.0, B.1, C.2);
tuple_inputs!(A.0, B.1, C.2, D.3);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);

impl<T: Arguments> Inputs for [T] {
    fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for input in self {
            f(input)?;
        }
        ControlFlow::Continue(())
    }
}

impl<T: Arguments> Inputs for &[T] {
    fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        (**self).each(f)
    }
}

impl<T: Arguments, const N: usize> Inputs for [T; N] {
    fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.as_slice().each(f)
    }
}

impl<T: Arguments> Inputs for Vec<T> {
    fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.as_slice().each(f)
    }
}

/// The context's inputs followed by the local ones.
pub(crate) struct Chain<'a> {
    pub(crate) first: &'a [Arc<dyn Arguments + Send + Sync>],
    pub(crate) then: &'a dyn Inputs,
}

impl Chain<'_> {
    pub(crate) fn each<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s dyn Arguments) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for input in self.first {
            f(&**input)?;
        }
        self.then.each(f)
    }
}
