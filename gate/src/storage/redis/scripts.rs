//! The Lua scripts, one `.lua` file each under `scripts/`, each file
//! saying at its top what its KEYS, ARGV and reply are.
//!
//! Every write script runs inside the op guard (`scripts/guard.lua`, see
//! [`ops`](super::ops)): its own KEYS and ARGV come after the guard's.
//! Every script that writes also pushes its audit entry onto the history
//! list and trims it to its capacity: the change and its entry are one
//! atomic step.

/// The op guard; a write script's body replaces its [`BODY`] line.
const GUARD: &str = include_str!("scripts/guard.lua");
/// Where the guard takes the body.
const BODY: &str = "--[[body]]";

pub(super) const INSERT: &str = include_str!("scripts/insert.lua");
pub(super) const UPDATE: &str = include_str!("scripts/update.lua");
pub(super) const SHORTCUT: &str = include_str!("scripts/shortcut.lua");
pub(super) const REMOVE_TREE: &str = include_str!("scripts/remove_tree.lua");
pub(super) const BATCH: &str = include_str!("scripts/batch.lua");
pub(super) const REPAIR: &str = include_str!("scripts/repair.lua");
pub(super) const OUTCOME: &str = include_str!("scripts/outcome.lua");

/// `body` inside the op guard.
pub(super) fn guarded(body: &str) -> String {
    GUARD.replacen(BODY, body, 1)
}

/// Every script, loaded once per storage.
pub(super) struct Scripts {
    pub(super) insert: redis::Script,
    pub(super) update: redis::Script,
    pub(super) shortcut: redis::Script,
    pub(super) remove_tree: redis::Script,
    pub(super) batch: redis::Script,
    pub(super) outcome: redis::Script,
    pub(super) repair: redis::Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            insert: redis::Script::new(&guarded(INSERT)),
            update: redis::Script::new(&guarded(UPDATE)),
            shortcut: redis::Script::new(&guarded(SHORTCUT)),
            remove_tree: redis::Script::new(&guarded(REMOVE_TREE)),
            batch: redis::Script::new(&guarded(BATCH)),
            outcome: redis::Script::new(OUTCOME),
            repair: redis::Script::new(&guarded(REPAIR)),
        }
    }
}

#[cfg(test)]
mod tests {
    /// The shortcut script refuses a condition past the limit itself (it
    /// cannot read the Rust constant): both must say the same number.
    #[test]
    fn the_script_knows_the_condition_limit() {
        let check = format!("#spans >= {}", crate::limits::MAX_CONDITIONS);
        assert!(super::SHORTCUT.contains(&check), "{check}");
    }

    /// The guard has one place for the body, on a line of its own.
    #[test]
    fn the_guard_takes_the_body_once() {
        assert_eq!(super::GUARD.matches(super::BODY).count(), 1);
        let guarded = super::guarded("return 7");
        assert!(guarded.contains("local function write()\nreturn 7\nend\n"));
    }
}
