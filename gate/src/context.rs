//! The context: task-local (or thread-local) inputs, the "current user".

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::arguments::Arguments;

/// An input kept in a context.
pub type SharedInput = Arc<dyn Arguments + Send + Sync>;

/// The inputs of the current scope, outermost first.
///
/// # Examples
///
/// ```
/// let outer = gate::scope_sync("443301", || gate::Context::current());
/// assert_eq!(outer.len(), 1);
/// assert!(gate::Context::current().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Context {
    inputs: Arc<[SharedInput]>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.inputs.iter().map(|i| i.kind().to_owned()))
            .finish()
    }
}

tokio::task_local! {
    static TASK: Context;
}

thread_local! {
    static THREAD: RefCell<Option<Context>> = const { RefCell::new(None) };
}

impl Context {
    /// The current context: the innermost task scope, else the innermost
    /// `scope_sync` on this thread, else empty.
    pub fn current() -> Context {
        TASK.try_with(Context::clone)
            .unwrap_or_else(|_| THREAD.with(|t| t.borrow().clone().unwrap_or_default()))
    }

    /// How many inputs.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The inputs, outermost first.
    pub fn inputs(&self) -> &[SharedInput] {
        &self.inputs
    }

    /// This context with `more` inputs after the existing ones.
    pub fn with(&self, more: impl IntoInputs) -> Context {
        let mut inputs: Vec<SharedInput> = self.inputs.to_vec();
        more.into_inputs(&mut inputs);
        Context {
            inputs: inputs.into(),
        }
    }

    /// Runs `future` inside this context (to carry it into a spawned task).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// gate::scope("443301", async {
    ///     let context = gate::Context::current();
    ///     let handle = tokio::spawn(context.run(async { gate::Context::current().len() }));
    ///     assert_eq!(handle.await.unwrap(), 1);
    /// }).await;
    /// # });
    /// ```
    pub fn run<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        TASK.scope(self, future)
    }
}

/// Calls `f` with the current context's inputs, without cloning them when
/// they come from a task scope.
#[inline]
pub(crate) fn with_current<R>(f: &mut dyn FnMut(&[SharedInput]) -> R) -> R {
    match TASK.try_with(|c| f(&c.inputs)) {
        Ok(r) => r,
        Err(_) => {
            let thread = THREAD.with(|t| t.borrow().clone());
            match thread {
                Some(c) => f(&c.inputs),
                None => f(&[]),
            }
        }
    }
}

/// Values that can be put into a context: any `Arguments + Send + Sync +
/// 'static` value, a tuple of them, a `Vec<SharedInput>` or a [`Context`].
pub trait IntoInputs {
    /// Appends the inputs to `out`.
    fn into_inputs(self, out: &mut Vec<SharedInput>);
}

impl<T: Arguments + Send + Sync + 'static> IntoInputs for T {
    fn into_inputs(self, out: &mut Vec<SharedInput>) {
        out.push(Arc::new(self));
    }
}

impl IntoInputs for Vec<SharedInput> {
    fn into_inputs(self, out: &mut Vec<SharedInput>) {
        out.extend(self);
    }
}

impl IntoInputs for Context {
    fn into_inputs(self, out: &mut Vec<SharedInput>) {
        out.extend(self.inputs.iter().cloned());
    }
}

impl IntoInputs for () {
    fn into_inputs(self, _out: &mut Vec<SharedInput>) {}
}

macro_rules! tuple_into_inputs {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Arguments + Send + Sync + 'static),+> IntoInputs for ($($name,)+) {
            fn into_inputs(self, out: &mut Vec<SharedInput>) {
                $( out.push(Arc::new(self.$idx)); )+
            }
        }
    };
}
tuple_into_inputs!(A.0);
tuple_into_inputs!(A.0, B.1);
tuple_into_inputs!(A.0, B.1, C.2);
tuple_into_inputs!(A.0, B.1, C.2, D.3);

/// Runs `future` with `inputs` added to the context: checks made while it
/// is polled see them. Nested scopes stack (outer inputs first).
///
/// The context is task-local: a `tokio::spawn`ed task does not inherit it;
/// carry it with [`Context::current`] and [`Context::run`].
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let manager = gate::Manager::in_memory();
/// manager.allow("beta", "443301").await.unwrap();
/// let on = gate::scope("443301", async { manager.active("beta", ()) }).await;
/// assert!(on);
/// assert!(!manager.active("beta", ()));
/// # });
/// ```
pub fn scope<F: Future>(inputs: impl IntoInputs, future: F) -> impl Future<Output = F::Output> {
    TASK.scope(Context::current().with(inputs), future)
}

/// Runs `f` with `inputs` added to this thread's context (for synchronous
/// code). Nested scopes stack; the previous context is restored afterwards,
/// even if `f` panics.
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::in_memory();
/// let answer = gate::scope_sync("443301", || manager.active("beta", ()));
/// assert!(!answer);
/// ```
pub fn scope_sync<R>(inputs: impl IntoInputs, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Context>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            THREAD.with(|t| *t.borrow_mut() = previous);
        }
    }
    let next = Context::current().with(inputs);
    let previous = THREAD.with(|t| t.borrow_mut().replace(next));
    let _restore = Restore(previous);
    f()
}
