//! A `#[gate]` function adds no allocation to the check: a counting
//! global allocator counts this thread's allocations around calls.

// A GlobalAlloc must be an `unsafe impl`; see the SAFETY comment below.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gate::{gate, Arguments, Inactive, Manager};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards its arguments unchanged to `System`; the
// only addition is bumping a const, destructor-free thread-local counter,
// which neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations<T>(mut f: impl FnMut() -> T) -> usize {
    std::hint::black_box(f());
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..100 {
        std::hint::black_box(f());
    }
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Arguments)]
struct User {
    #[gate(id)]
    id: u64,
    name: String,
}

#[gate("on", arg = user, manager = manager)]
fn on(manager: &Manager, user: &User) -> Result<usize, Inactive> {
    Ok(user.name.len())
}

#[gate("off", arg = user, manager = manager)]
fn off(manager: &Manager, user: &User) -> Result<usize, Inactive> {
    Ok(user.name.len())
}

#[gate("on", manager = manager)]
fn from_context(manager: &Manager) -> Option<()> {
    Some(())
}

#[test]
fn gated_calls_do_not_allocate() {
    let manager = Manager::in_memory();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(manager.enable_for_all("on"))
        .unwrap();
    let user = User {
        id: 1,
        name: "ann".into(),
    };
    assert_eq!(on(&manager, &user), Ok(3));
    assert!(off(&manager, &user).is_err());
    assert_eq!(allocations(|| on(&manager, &user)), 0);
    assert_eq!(allocations(|| off(&manager, &user)), 0);
    assert_eq!(allocations(|| from_context(&manager)), 0);
    // The counter works: an allocation is seen.
    assert_eq!(allocations(|| Box::new(user.id)), 100);
}
