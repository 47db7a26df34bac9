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
    // A cell, so that a `scope_sync` entered while a task scope is polled
    // can stack its inputs onto the task's context for its duration.
    static TASK: RefCell<Context>;
}

thread_local! {
    static THREAD: RefCell<Option<Context>> = const { RefCell::new(None) };
}

impl Context {
    /// The current context: the innermost scope, whichever its kind (a
    /// `scope_sync` inside a task scope stacks onto it, and the reverse),
    /// else empty.
    pub fn current() -> Context {
        match TASK.try_with(|c| c.try_borrow().map(|c| c.clone())) {
            Ok(Ok(c)) => c,
            Ok(Err(_)) => Context::default(),
            Err(_) => THREAD.with(|t| t.borrow().clone().unwrap_or_default()),
        }
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
        TASK.scope(RefCell::new(self), future)
    }
}

/// Calls `f` with the current context's inputs, without cloning them when
/// they come from a task scope.
#[inline]
pub(crate) fn with_current<R>(f: &mut dyn FnMut(&[SharedInput]) -> R) -> R {
    // Borrowed, not cloned: no reference count touched on the check path.
    // The cell is only ever borrowed mutably for a swap, never while user
    // code runs, so the `Err` arm is unreachable in practice.
    let task = TASK.try_with(|c| match c.try_borrow() {
        Ok(c) => f(&c.inputs),
        Err(_) => f(&[]),
    });
    match task {
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
    Context::current().with(inputs).run(future)
}

/// Runs `f` with `inputs` added to the current context (for synchronous
/// code). Nested scopes stack, whichever their kinds: called while a
/// [`scope`]d task is polled (a sync helper of an axum handler), the inputs
/// come after the task's. The previous context is restored afterwards, even
/// if `f` panics.
///
/// One exception: entered from inside a check's own callbacks (a signal
/// listener or an `Arguments` getter run by a check in a task scope), the
/// task's context is in use and `f` runs with it unchanged.
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::in_memory();
/// let answer = gate::scope_sync("443301", || manager.active("beta", ()));
/// assert!(!answer);
/// ```
pub fn scope_sync<R>(inputs: impl IntoInputs, f: impl FnOnce() -> R) -> R {
    enum Restore {
        /// The task scope's context, swapped out for the duration.
        Task(Option<Context>),
        /// This thread's previous context.
        Thread(Option<Context>),
    }
    impl Drop for Restore {
        fn drop(&mut self) {
            match self {
                Restore::Task(previous) => {
                    if let Some(previous) = previous.take() {
                        let _ = TASK.try_with(|c| {
                            if let Ok(mut c) = c.try_borrow_mut() {
                                *c = previous;
                            }
                        });
                    }
                }
                Restore::Thread(previous) => {
                    let previous = previous.take();
                    THREAD.with(|t| *t.borrow_mut() = previous);
                }
            }
        }
    }
    let mut next = Some(Context::current().with(inputs));
    // Inside a task scope the task's context is the one checks read: stack
    // onto it there, else onto this thread's.
    let _restore = match TASK.try_with(|c| {
        c.try_borrow_mut()
            .ok()
            .and_then(|mut c| next.take().map(|next| std::mem::replace(&mut *c, next)))
    }) {
        Ok(previous) => Restore::Task(previous),
        Err(_) => Restore::Thread(THREAD.with(|t| std::mem::replace(&mut *t.borrow_mut(), next))),
    };
    f()
}
