//! The check path makes zero heap allocations: a counting global
//! allocator counts this thread's allocations around each kind of check.

// The only unsafe code in the workspace: a GlobalAlloc must be an
// `unsafe impl`. See the SAFETY comment below.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::User;
use gate::{Condition, Manager, Operator, State, Switch};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the slot may be gone; a const,
    // destructor-free thread local never allocates itself.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds `GlobalAlloc`'s contract; the only addition is bumping a
// thread-local counter, which neither allocates nor touches the memory
// being (de)allocated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` once to warm up, then counts the allocations of 100 runs.
fn allocations(mut f: impl FnMut() -> bool) -> usize {
    std::hint::black_box(f());
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..100 {
        std::hint::black_box(f());
    }
    ALLOCATIONS.with(Cell::get) - before
}

async fn manager() -> Manager {
    let m = Manager::in_memory();
    m.enable_for_all("global").await.unwrap();
    m.set_percentage("percent", 50).await.unwrap();
    let cond = |a: &str, op| Condition::new("User", a, op).unwrap();
    m.register(
        Switch::new("three")
            .state(State::Selective)
            .compounded(true)
            .condition(cond("age", Operator::more_than(18).unwrap()))
            .condition(cond(
                "location",
                Operator::one_of(["Paris", "Rome"]).unwrap(),
            ))
            .condition(cond(
                "name",
                Operator::strip_ignorecase_equals("JEFF").unwrap(),
            )),
    )
    .await
    .unwrap();
    m.register(
        Switch::new("odd")
            .state(State::Selective)
            .condition(cond("name", Operator::more_than(3).unwrap()))
            .condition(cond("shoe", Operator::truthy()))
            .condition(Condition::identity(Operator::matches("^4").unwrap())),
    )
    .await
    .unwrap();
    let mut allowed = Switch::new("allowed").state(State::Selective);
    allowed.users = (0..10_000u32).map(|i| i.to_string()).collect();
    m.register(allowed).await.unwrap();
    m.register(
        Switch::new("global:child")
            .state(State::Global)
            .variants(["a", "b"]),
    )
    .await
    .unwrap();
    m
}

#[tokio::test]
async fn checks_do_not_allocate() {
    let m = manager().await;
    let jeff = User::new(443301, "jeff", 30, "Paris", false);
    type Check<'a> = Box<dyn Fn() -> bool + 'a>;
    let cases: Vec<(&str, Check<'_>)> = vec![
        ("global", Box::new(|| m.active("global", &jeff))),
        (
            "percent, string id",
            Box::new(|| m.active("percent", "443301")),
        ),
        (
            "percent, integer id",
            Box::new(|| m.active("percent", 443301u64)),
        ),
        ("percent, user", Box::new(|| m.active("percent", &jeff))),
        ("three conditions", Box::new(|| m.active("three", &jeff))),
        (
            "erroring conditions and regex",
            Box::new(|| m.active("odd", &jeff)),
        ),
        ("allow-list hit", Box::new(|| m.active("allowed", "9999"))),
        (
            "allow-list miss, integer",
            Box::new(|| m.active("allowed", 123456u64)),
        ),
        (
            "concent child",
            Box::new(|| m.active("global:child", &jeff)),
        ),
        (
            "variant",
            Box::new(|| m.variant("global:child", &jeff).is_some()),
        ),
        ("unknown switch", Box::new(|| m.active("unknown", &jeff))),
        (
            "try_active",
            Box::new(|| m.try_active("global", &jeff).unwrap_or(false)),
        ),
        (
            "exclusive",
            Box::new(|| m.active_exclusive("percent", &jeff)),
        ),
        ("is_enabled", Box::new(|| m.is_enabled("percent"))),
        ("two inputs", Box::new(|| m.active("three", ("1", &jeff)))),
        (
            "scope_sync context",
            Box::new(|| {
                gate::scope_sync(User::new(1, "jeff", 30, "Rome", false), || {
                    // Only the checks inside are measured here: count around them.
                    let before = ALLOCATIONS.with(Cell::get);
                    let on = m.active("three", ());
                    assert_eq!(
                        ALLOCATIONS.with(Cell::get),
                        before,
                        "check inside scope_sync allocated"
                    );
                    on
                })
            }),
        ),
    ];
    for (name, check) in &cases {
        if *name == "scope_sync context" {
            check();
            continue;
        }
        assert_eq!(allocations(check), 0, "{name} allocated");
    }
}

#[tokio::test]
async fn checks_in_a_task_scope_do_not_allocate() {
    let m = manager().await;
    let user = User::new(443301, "jeff", 30, "Paris", false);
    gate::scope(user, async {
        assert!(m.active("three", ()));
        assert_eq!(allocations(|| m.active("three", ())), 0);
        assert_eq!(allocations(|| m.active("percent", ())), 0);
        // A sync scope stacked onto the task's: its checks do not allocate
        // either (the context is borrowed, not cloned).
        gate::scope_sync("443301", || {
            assert!(m.active("percent", ()));
            assert_eq!(allocations(|| m.active("three", ())), 0);
            assert_eq!(allocations(|| m.active("percent", ())), 0);
        });
    })
    .await;
}

#[tokio::test]
async fn the_counter_counts() {
    // Guards against a vacuous pass: an allocating closure is counted.
    assert!(allocations(|| !String::from("x").is_empty()) >= 100);
}
