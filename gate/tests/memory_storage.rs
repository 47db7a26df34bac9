//! The in-memory storage follows the storage conformance suite, one test
//! per rule.

gate::conformance_tests!(conformance, |_rule| async { gate::MemoryStorage::new() });
