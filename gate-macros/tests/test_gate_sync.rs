//! `#[gate]` on synchronous functions, against a real manager.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use gate::{gate, Arguments, Inactive, Manager};

static SWITCHES: LazyLock<Manager> = LazyLock::new(Manager::in_memory);

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[derive(Arguments)]
struct User {
    #[gate(id)]
    id: u64,
    age: u32,
}

#[derive(Debug, PartialEq)]
enum AppError {
    Off(&'static str),
}

impl From<Inactive> for AppError {
    fn from(off: Inactive) -> Self {
        AppError::Off(off.name())
    }
}

static RAN: AtomicUsize = AtomicUsize::new(0);

/// Counts the runs of its body.
#[gate("sync_result", arg = user, manager = SWITCHES)]
pub(crate) fn result_fn(user: &User) -> Result<u64, AppError> {
    RAN.fetch_add(1, Ordering::SeqCst);
    Ok(user.id * 2)
}

#[test]
fn result_is_err_inactive_when_off_and_body_skipped() {
    block_on(SWITCHES.allow("sync_result", 1u64)).unwrap();
    let before = RAN.load(Ordering::SeqCst);
    assert_eq!(result_fn(&User { id: 1, age: 0 }), Ok(2));
    assert_eq!(RAN.load(Ordering::SeqCst), before + 1);
    assert_eq!(
        result_fn(&User { id: 2, age: 0 }),
        Err(AppError::Off("sync_result"))
    );
    assert_eq!(RAN.load(Ordering::SeqCst), before + 1, "body must not run");
}

#[gate("sync_inactive_err", arg = id, manager = SWITCHES)]
fn plain_inactive(id: u64) -> Result<u64, Inactive> {
    Ok(id)
}

#[gate("sync_boxed", arg = id, manager = SWITCHES)]
fn boxed_error(id: &str) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    Ok(id.len())
}

#[test]
fn error_types_convert_from_inactive() {
    let err = plain_inactive(5).unwrap_err();
    assert_eq!(err, Inactive::new("sync_inactive_err"));
    let err = boxed_error("x").unwrap_err();
    assert_eq!(err.to_string(), "the feature \"sync_boxed\" is not active");
    block_on(SWITCHES.enable_for_all("sync_boxed")).unwrap();
    assert_eq!(boxed_error("abc").unwrap(), 3);
}

#[gate("sync_option", arg = user, manager = SWITCHES)]
fn option_fn(user: User) -> Option<u32> {
    Some(user.age)
}

#[gate("sync_otherwise", arg = name, manager = &*SWITCHES, otherwise = format!("hello, {name}"))]
fn otherwise_fn(name: &str) -> String {
    format!("welcome back, {name}")
}

#[test]
fn option_and_otherwise() {
    block_on(
        SWITCHES.register(
            gate::Switch::new("sync_option")
                .state(gate::State::Selective)
                .condition(
                    gate::Condition::new("User", "age", gate::Operator::more_than(17).unwrap())
                        .unwrap(),
                ),
        ),
    )
    .unwrap();
    assert_eq!(option_fn(User { id: 1, age: 30 }), Some(30));
    assert_eq!(option_fn(User { id: 1, age: 12 }), None);

    assert_eq!(otherwise_fn("ann"), "hello, ann");
    block_on(SWITCHES.allow("sync_otherwise", "ann")).unwrap();
    assert_eq!(otherwise_fn("ann"), "welcome back, ann");
    assert_eq!(otherwise_fn("bob"), "hello, bob");
}

static UNIT_RAN: AtomicUsize = AtomicUsize::new(0);

#[gate("sync_unit", manager = SWITCHES)]
fn unit_fn() {
    UNIT_RAN.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn unit_fn_skips_its_body_and_context_is_checked() {
    block_on(SWITCHES.allow("sync_unit", "carol")).unwrap();
    unit_fn();
    assert_eq!(UNIT_RAN.load(Ordering::SeqCst), 0);
    gate::scope_sync("carol", unit_fn);
    assert_eq!(UNIT_RAN.load(Ordering::SeqCst), 1);
    gate::scope_sync("dave", unit_fn);
    assert_eq!(UNIT_RAN.load(Ordering::SeqCst), 1);
}

#[gate("sync_args", args(user, request), manager = SWITCHES)]
fn several_inputs(user: &User, request: &str) -> Option<()> {
    let _ = (user, request);
    Some(())
}

#[test]
fn args_pass_several_inputs() {
    // On for the id "req-1" (the request), whatever the user.
    block_on(SWITCHES.allow("sync_args", "req-1")).unwrap();
    assert_eq!(several_inputs(&User { id: 9, age: 1 }, "req-1"), Some(()));
    assert_eq!(several_inputs(&User { id: 9, age: 1 }, "req-2"), None);
}

struct Service {
    manager: Manager,
    calls: usize,
}

impl Service {
    #[gate("svc_ref", arg = user, manager = self.manager)]
    fn by_ref(&self, user: u64) -> Option<u64> {
        Some(user)
    }

    #[gate("svc_mut", manager = self.manager, otherwise = self.calls)]
    fn by_mut(&mut self) -> usize {
        self.calls += 1;
        self.calls
    }

    #[gate("svc_owned", manager = self.manager.clone())]
    fn by_value(self) -> Option<usize> {
        Some(self.calls)
    }
}

#[test]
fn methods_with_self() {
    let manager = Manager::in_memory();
    let mut service = Service {
        manager: manager.clone(),
        calls: 0,
    };
    assert_eq!(service.by_ref(3), None);
    assert_eq!(service.by_mut(), 0);
    block_on(manager.allow("svc_ref", 3u64)).unwrap();
    block_on(manager.enable_for_all("svc_mut")).unwrap();
    assert_eq!(service.by_ref(3), Some(3));
    assert_eq!(service.by_mut(), 1);
    assert_eq!(service.by_mut(), 2);
    assert_eq!(service.by_value(), None);
}

/// An input that checks itself.
#[derive(Arguments)]
struct Account {
    #[gate(id)]
    id: String,
}

impl Account {
    #[gate("account_self", arg = self, manager = SWITCHES)]
    fn premium(&self) -> Option<&str> {
        Some(&self.id)
    }
}

#[test]
fn arg_can_be_self() {
    block_on(SWITCHES.allow("account_self", "acme")).unwrap();
    let acme = Account { id: "acme".into() };
    assert_eq!(acme.premium(), Some("acme"));
    assert_eq!(Account { id: "other".into() }.premium(), None);
}

#[gate("sync_generic", arg = input, manager = SWITCHES)]
fn generic<I, T>(input: I, value: T) -> Option<T>
where
    I: Arguments,
    T: Clone,
{
    Some(value.clone())
}

#[gate("sync_impl", arg = id, manager = SWITCHES, otherwise = Vec::new().into_iter())]
fn impl_trait(id: u32) -> impl Iterator<Item = u32> {
    vec![id, id + 1].into_iter()
}

#[gate("sync_impl_arg", arg = id, manager = SWITCHES)]
fn impl_arg(id: impl Arguments + Copy) -> Option<Box<dyn Fn() -> u8>> {
    let _ = id;
    Some(Box::new(|| 7))
}

#[test]
fn generics_where_clauses_and_impl_trait() {
    block_on(SWITCHES.allow("sync_generic", 4u64)).unwrap();
    block_on(SWITCHES.allow("sync_impl", 10u64)).unwrap();
    block_on(SWITCHES.allow("sync_impl_arg", "k")).unwrap();
    assert_eq!(generic(4u64, "x"), Some("x"));
    assert_eq!(generic("4", 1.5), Some(1.5));
    assert_eq!(generic(5u64, "x"), None);
    assert_eq!(impl_trait(10).collect::<Vec<_>>(), [10, 11]);
    assert_eq!(impl_trait(11).count(), 0);
    assert_eq!(impl_arg("k").map(|f| f()), Some(7));
    assert!(impl_arg("j").is_none());
}

#[gate("sync_early_return", arg = n, manager = SWITCHES)]
fn early_return(n: u8) -> Result<u8, Inactive> {
    if n == 0 {
        return Ok(100); // `return` leaves the function, not a closure
    }
    let doubled: u8 = Some(n).map(|n| n * 2).ok_or(Inactive::new("never"))?;
    Ok(doubled)
}

#[test]
fn return_and_question_mark_keep_their_meaning() {
    block_on(SWITCHES.enable_for_all("sync_early_return")).unwrap();
    assert_eq!(early_return(0), Ok(100));
    assert_eq!(early_return(3), Ok(6));
}

#[test]
fn overrides_reach_gated_functions() {
    let _on = gate::testing::override_switch(&SWITCHES, "sync_option", true);
    assert_eq!(option_fn(User { id: 1, age: 1 }), Some(1));
}

#[test]
fn manager_can_be_an_arc() {
    let shared = Arc::new(Manager::in_memory());

    #[gate("arc_manager", manager = manager)]
    fn with_arc(manager: &Arc<Manager>) -> Option<()> {
        let _ = manager;
        Some(())
    }

    assert_eq!(with_arc(&shared), None);
    block_on(shared.enable_for_all("arc_manager")).unwrap();
    assert_eq!(with_arc(&shared), Some(()));
}

/// A stand-in for `gate` whose default manager is not `gate::default()`:
/// proves that `crate = "..."` is the path the generated code uses.
mod fake {
    pub(crate) mod __private {
        pub(crate) use gate::__private::*;

        pub(crate) fn default() -> &'static gate::Manager {
            &super::super::FAKE_DEFAULT
        }
    }
}

static FAKE_DEFAULT: LazyLock<Manager> = LazyLock::new(Manager::in_memory);

#[gate("sync_crate_path", crate = "fake")]
fn via_crate_path() -> Option<()> {
    Some(())
}

#[test]
fn crate_path_override() {
    let _real = gate::testing::override_switch(gate::default(), "sync_crate_path", true);
    assert_eq!(via_crate_path(), None);
    let _fake = gate::testing::override_switch(&FAKE_DEFAULT, "sync_crate_path", true);
    assert_eq!(via_crate_path(), Some(()));
}

/// An input that updates itself, gated on itself.
#[derive(Arguments)]
struct Counter {
    #[gate(id)]
    name: &'static str,
    hits: u32,
}

impl Counter {
    #[gate("counter_self", arg = self, manager = SWITCHES)]
    fn hit(&mut self) -> Option<u32> {
        self.hits += 1;
        Some(self.hits)
    }
}

#[gate("counter_mut_arg", arg = counter, manager = SWITCHES)]
fn reset(counter: &mut Counter) -> Option<()> {
    counter.hits = 0;
    Some(())
}

#[test]
fn mutable_inputs() {
    block_on(SWITCHES.allow("counter_self", "a")).unwrap();
    block_on(SWITCHES.allow("counter_mut_arg", "a")).unwrap();
    let mut a = Counter { name: "a", hits: 0 };
    let mut b = Counter { name: "b", hits: 0 };
    assert_eq!(a.hit(), Some(1));
    assert_eq!(a.hit(), Some(2));
    assert_eq!(b.hit(), None);
    assert_eq!(b.hits, 0);
    assert_eq!(reset(&mut a), Some(()));
    assert_eq!(a.hits, 0);
    assert_eq!(reset(&mut b), None);
}
