//! Comparing short strings on the check path: switch names, kinds,
//! attribute values and ids are mostly 1 to 16 bytes long, where a few
//! word or byte reads beat a call to `memcmp`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// `a == b`: strings of 4 to 16 bytes are compared as two overlapping
/// words, first and last, without a call to `memcmp`.
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        8..=16 => ends_equal::<8>(a, b),
        4..=7 => ends_equal::<4>(a, b),
        2..=3 => ends_equal::<2>(a, b),
        1 => ends_equal::<1>(a, b),
        _ => a == b,
    }
}

/// Whether `a` and `b`, of one length from `W` to `2 * W`, have the same
/// first `W` and last `W` bytes: all their bytes.
#[inline(always)]
fn ends_equal<const W: usize>(a: &[u8], b: &[u8]) -> bool {
    let last = a.len() - W;
    a.get(..W) == b.get(..W) && a.get(last..) == b.get(last..)
}

/// A `&str` looked up in a map keyed by `Arc<str>`, compared with
/// [`same`]. Hashes exactly as the `str` does.
pub(crate) struct Key<'a>(pub(crate) &'a str);

impl Hash for Key<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl hashbrown::Equivalent<Arc<str>> for Key<'_> {
    #[inline]
    fn equivalent(&self, key: &Arc<str>) -> bool {
        same(self.0.as_bytes(), key.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-wise compare of ids of 4 to 16 bytes sees every byte.
    #[test]
    fn ids_differing_in_any_one_byte_differ() {
        for n in 0..=20u8 {
            let id: Vec<u8> = (0..n).map(|i| b'a' + i).collect();
            assert!(same(&id, &id.clone()));
            for i in 0..usize::from(n) {
                let mut other = id.clone();
                other[i] = b'Z';
                assert!(!same(&id, &other), "{n} bytes, byte {i}");
            }
            assert!(!same(&id, &id[..id.len().saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn same_is_equality_at_every_length() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 0..text.len() {
            let a = &text[..len];
            assert!(same(a.as_bytes(), a.to_owned().as_bytes()), "{a}");
            for at in 0..len {
                let mut b = a.as_bytes().to_vec();
                b[at] = b'!';
                assert!(!same(a.as_bytes(), &b), "{a} at {at}");
            }
            assert!(!same(a.as_bytes(), &text.as_bytes()[..len + 1]));
        }
    }

    #[test]
    fn a_key_finds_what_its_str_finds() {
        let mut map: hashbrown::HashMap<Arc<str>, usize, rustc_hash::FxBuildHasher> =
            hashbrown::HashMap::default();
        for (i, name) in ["a", "beta", "checkout", "a-much-longer-switch-name"]
            .iter()
            .enumerate()
        {
            map.insert(Arc::from(*name), i);
        }
        assert_eq!(map.get(&Key("checkout")), Some(&2));
        assert_eq!(map.get(&Key("a-much-longer-switch-name")), Some(&3));
        assert_eq!(map.get(&Key("checkouts")), None);
        assert_eq!(map.get(&Key("a")), Some(&0));
    }
}
