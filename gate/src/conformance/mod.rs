//! The storage conformance suite: the rules every [`Storage`] must follow,
//! one `pub async fn` per rule, grouped by what they are about: single
//! records, the history (audit trail), batches and the rollout shortcuts.
//!
//! [`conformance_tests!`](crate::conformance_tests) makes one named test
//! per rule for a storage; [`conformance`] runs every rule in order against
//! one storage. Each rule writes its own keys (`conf_<rule>…`) and removes
//! them when it passes, so the rules can share a storage.

mod batch;
mod history;
mod records;
mod shortcuts;

use std::future::Future;

use crate::key::SwitchKey;
use crate::storage::Storage;

pub use batch::*;
pub use history::*;
pub use records::*;
pub use shortcuts::*;

/// The actor the suite's writes are recorded as.
const ACTOR: &str = "conformance";

/// The storage key of switch `name` under `prefix` (a namespace, or `""`).
fn key(prefix: &str, name: &str) -> SwitchKey {
    SwitchKey::join(prefix, name)
}

/// Calls `$callback! { $($args)* rule rule … }` with the name of every
/// rule, in the order [`conformance`] runs them: the one list of rules.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_rules {
    ($callback:path { $($args:tt)* }) => {
        $callback! {
            $($args)*
            get_of_a_missing_key_is_none
            insert_stores_version_1
            a_second_insert_is_already_exists
            update_returns_the_previous_switch_and_bumps_the_version
            a_stale_update_is_a_conflict_and_writes_nothing
            update_of_a_missing_key_is_not_found
            load_returns_every_key
            remove_tree_removes_the_key_and_its_descendants_only
            history_records_each_write_newest_first_none_for_a_failed_one
            history_names_the_actor
            history_records_the_field_level_changes
            history_of_a_tree_covers_its_descendants_not_its_siblings
            history_honours_the_limit
            a_batch_with_a_stale_update_is_a_conflict_and_writes_nothing
            creating_a_taken_key_in_a_batch_is_already_exists
            a_failed_batch_records_nothing_in_the_history
            a_batch_returns_the_switches_as_stored_in_order
            each_write_of_a_batch_is_in_the_history
            a_shortcut_on_a_missing_switch_creates_it
            each_shortcut_stores_what_it_implies
            each_shortcut_writes_one_audit_entry_or_none
            the_conditions_numbers_survive_every_shortcut
        }
    };
}

macro_rules! run_all {
    ($storage:ident, $prefix:ident; $($rule:ident)*) => {
        $( $rule($storage, $prefix).await; )*
    };
}

/// Runs the conformance suite against `storage`, every rule in order.
/// Panics with a message naming the broken rule. The storage must hold
/// nothing under `prefix` whose name starts with `conf_`.
///
/// Every storage gate ships runs the suite, one test per rule, with
/// [`conformance_tests!`](crate::conformance_tests); run it against your
/// own the same way, or call this.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// gate::testing::conformance(&gate::MemoryStorage::new(), "").await;
/// # });
/// ```
pub async fn conformance(storage: &dyn Storage, prefix: &str) {
    crate::__conformance_rules!(run_all { storage, prefix; });
}

/// What a test of [`conformance_tests!`](crate::conformance_tests) runs
/// against: a storage, or a storage and a guard that must live as long as
/// the test (a temporary folder, a key prefix deleted on drop). The
/// storage is dropped first.
///
/// # Examples
///
/// ```
/// use gate::testing::StorageFixture;
///
/// let alone = gate::MemoryStorage::new();
/// let with_guard = (gate::MemoryStorage::new(), "a guard");
/// let _ = (alone.storage(), with_guard.storage());
/// ```
pub trait StorageFixture {
    /// The storage under test.
    fn storage(&self) -> &dyn Storage;
}

impl<S: Storage> StorageFixture for S {
    fn storage(&self) -> &dyn Storage {
        self
    }
}

impl<S: Storage, G> StorageFixture for (S, G) {
    fn storage(&self) -> &dyn Storage {
        &self.0
    }
}

/// Runs one rule's test: builds a current-thread runtime, makes the
/// fixture (given the rule's name, for a unique folder or key prefix),
/// and runs `rule` on it outside a namespace, then in namespace `ns`.
#[doc(hidden)]
pub fn run<F, Fut, X>(
    rule_name: &'static str,
    fixture: F,
    rule: for<'a> fn(&'a dyn Storage, &'a str) -> Rule<'a>,
) where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = X>,
    X: StorageFixture,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the conformance test");
    runtime.block_on(async {
        let fixture = fixture(rule_name).await;
        for prefix in ["", "ns"] {
            rule(fixture.storage(), prefix).await;
        }
    });
}

/// The future of one rule.
#[doc(hidden)]
pub type Rule<'a> = std::pin::Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Makes one `#[test]` per rule of the storage conformance suite, in a
/// module named `$module`: a failure names the broken rule
/// (`memory::a_stale_update_is_a_conflict_and_writes_nothing`).
///
/// `$fixture` is called once per test with the rule's name, and returns a
/// future of a fresh storage — or of a `(storage, guard)` pair, the guard
/// living until the test ends (see
/// [`StorageFixture`](crate::testing::StorageFixture)). Each rule runs
/// outside a namespace, then in namespace `ns`, on a runtime of its own:
/// the test crate needs no async test attribute. Names the fixture uses
/// are looked up in the module where the macro is called.
///
/// # Examples
///
/// ```
/// // In tests/my_storage.rs:
/// gate::conformance_tests!(memory, |_rule| async { gate::MemoryStorage::new() });
/// # fn main() {}
/// ```
///
/// With a guard, here a folder removed when the test ends:
///
/// ```no_run
/// struct TempDir(std::path::PathBuf);
///
/// impl Drop for TempDir {
///     fn drop(&mut self) {
///         let _ = std::fs::remove_dir_all(&self.0);
///     }
/// }
///
/// gate::conformance_tests!(file, |rule| async move {
///     let dir = TempDir(std::env::temp_dir().join(format!("my-store-{rule}")));
///     std::fs::create_dir_all(&dir.0).unwrap();
///     let storage = gate::storage::FileStorage::open(dir.0.join("switches.json")).unwrap();
///     (storage, dir)
/// });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($module:ident, $fixture:expr $(,)?) => {
        $crate::__conformance_rules!($crate::__conformance_tests { $module, $fixture; });
    };
}

/// The tests of [`conformance_tests!`], given the rules.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $fixture:expr; $($rule:ident)*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $rule() {
                    $crate::conformance::run(::core::stringify!($rule), $fixture, |storage, prefix| {
                        ::std::boxed::Box::pin($crate::conformance::$rule(storage, prefix))
                    });
                }
            )*
        }
    };
}
