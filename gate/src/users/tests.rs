//! The allow-list's layout: records of every length, sharing, compaction,
//! equality, JSON, memory.

use super::*;

fn decimal(n: u32) -> impl Iterator<Item = String> {
    (0..n).map(|i| i.to_string())
}

#[test]
fn ids_of_every_length_read_back() {
    let ids: Vec<String> = [0, 1, 63, 64, 65, 4095, 4096, 300_000]
        .iter()
        .map(|&n| "é".repeat(n / 2) + &"x".repeat(n % 2))
        .collect();
    let users: Users = ids.iter().cloned().collect();
    assert_eq!(users.len(), ids.len());
    for id in &ids {
        assert!(users.contains(id), "{}", id.len());
    }
    let mut back: Vec<&str> = users.iter().collect();
    back.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(back, expected);
    assert!(!users.contains(&"x".repeat(65)));
}

#[test]
fn copies_share_until_one_changes() {
    let a: Users = decimal(100).collect();
    let mut b = a.clone();
    assert!(Arc::ptr_eq(&a.0, &b.0));
    assert!(!b.insert("5") && !b.remove("100"));
    assert!(Arc::ptr_eq(&a.0, &b.0), "no-op changes keep sharing");
    assert!(b.insert("100"));
    assert!(!Arc::ptr_eq(&a.0, &b.0));
    assert!(!a.contains("100") && b.contains("100"));
    assert_ne!(a, b);
    assert!(b.remove("100"));
    assert_eq!(a, b);
}

#[test]
fn removals_compact_the_arena() {
    let mut users: Users = decimal(10_000).collect();
    let full = users.0.arena.len();
    for i in 0..9_990 {
        assert!(users.remove(&i.to_string()));
        assert!(users.0.dead * 2 <= users.0.arena.len());
    }
    assert!(users.0.arena.len() < full / 100, "{}", users.0.arena.len());
    let mut left = users.sorted();
    left.sort_unstable_by_key(|id| id.parse::<u32>().unwrap());
    assert_eq!(
        left,
        (9_990..10_000).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert!(!users.contains("0") && users.contains("9999"));
    assert!(users.insert("0") && users.contains("0"));
    for id in users.clone().iter() {
        assert!(users.remove(id));
    }
    assert!(users.is_empty() && users.0.arena.is_empty());
}

#[test]
fn equality_ignores_order_and_history() {
    let a: Users = ["a", "b", "c"].into_iter().collect();
    let mut b: Users = ["c", "x", "b"].into_iter().collect();
    assert_ne!(a, b);
    b.remove("x");
    b.insert("a");
    assert_eq!(a, b);
    assert_ne!(a, ["a", "b"].into_iter().collect::<Users>());
}

#[test]
fn json_is_sorted_and_read_without_duplicates() {
    let users: Users = serde_json::from_str(r#"["b","a\u00e9","b","\"q\""]"#).unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(
        serde_json::to_string(&users).unwrap(),
        r#"["\"q\"","aé","b"]"#
    );
    let err = serde_json::from_str::<Users>("[1]")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a string"), "{err}");
    let err = serde_json::from_str::<Users>(r#""a""#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a sequence"), "{err}");
}

#[test]
fn extend_adds_borrowed_ids() {
    let mut users = Users::with_capacity(3);
    users.extend(["a", "b", "a"]);
    assert_eq!(users.len(), 2);
    let shared = users.clone();
    users.extend(["c"]);
    assert_eq!((shared.len(), users.len()), (2, 3));
}

/// DESIGN.md: a 1,000,000-id list grows a node's memory by at most
/// 48 MiB; the list itself takes well under half of that.
#[test]
fn a_million_ids_take_under_20_mib() {
    let users: Users = decimal(1_000_000).collect();
    let mib = users.heap_bytes() as f64 / (1024.0 * 1024.0);
    println!("1,000,000 ids: {mib:.1} MiB");
    assert!(mib < 20.0, "{mib:.1} MiB");
    let mut loaded = Users::with_capacity(1_000_000);
    loaded.extend(
        decimal(1_000_000)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    assert_eq!(loaded, users);
}
