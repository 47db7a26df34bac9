//! [`Users`], the allow-list of a switch.
//!
//! A list may hold millions of ids and every node keeps it in memory, so
//! its layout is chosen for size as much as for lookups: all ids sit in one
//! arena, each after its length, and an open-addressing hash table holds
//! the 4-byte offsets where they start. A million ids of 6 bytes take
//! ~17 MiB (8 MiB of offsets, 2 MiB of control bytes, 7 MiB of text)
//! instead of one allocation per id plus a 16-byte pointer per bucket
//! (~41 MiB). A lookup costs what it did: one hash, one probe of the
//! table, one compare (without a call to `memcmp` for most ids).

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// An explicit allow-list of identities. Cloning is cheap (the list is
/// shared until one copy changes), and lookups do not allocate.
///
/// The order of [`iter`](Users::iter) is unspecified; the JSON form lists
/// the ids sorted.
///
/// # Examples
///
/// ```
/// use gate::Users;
///
/// let mut users: Users = ["ada", "grace"].into_iter().collect();
/// assert!(users.insert("linus"));
/// assert!(!users.insert("ada"));
/// assert!(users.remove("grace"));
/// assert!(users.contains("ada") && !users.contains("grace"));
/// assert_eq!(serde_json::to_string(&users).unwrap(), r#"["ada","linus"]"#);
/// ```
#[derive(Clone, Default)]
pub struct Users(Arc<Ids>);

impl PartialEq for Users {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.len() == other.len() && self.iter().all(|id| other.contains(id)))
    }
}

impl Eq for Users {}

impl Users {
    /// An empty list with room for `ids` ids before its table grows: a
    /// loader that knows the size (Redis `SCARD`) builds the list without
    /// rehashing it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gate::Users;
    ///
    /// let page = ["1", "2", "3"];
    /// let mut users = Users::with_capacity(page.len());
    /// users.extend(page);
    /// assert_eq!(users.len(), 3);
    /// ```
    pub fn with_capacity(ids: usize) -> Self {
        Users(Arc::new(Ids {
            arena: String::new(),
            table: HashTable::with_capacity(ids),
            dead: 0,
        }))
    }

    /// Whether `id` is in the list.
    #[inline]
    pub fn contains(&self, id: &str) -> bool {
        self.0.find(hash(id), id).is_some()
    }

    /// Adds `id`; returns whether it was new.
    ///
    /// # Panics
    ///
    /// If the list's ids would take more than 4 GiB.
    pub fn insert(&mut self, id: impl Into<String>) -> bool {
        let id: String = id.into();
        let hash = hash(&id);
        if self.0.find(hash, &id).is_some() {
            return false;
        }
        Arc::make_mut(&mut self.0).push(hash, &id);
        true
    }

    /// Removes `id`; returns whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let hash = hash(id);
        if self.0.find(hash, id).is_none() {
            return false;
        }
        Arc::make_mut(&mut self.0).remove(hash, id)
    }

    /// How many ids are listed.
    pub fn len(&self) -> usize {
        self.0.table.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.table.is_empty()
    }

    /// The ids, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let arena = &self.0.arena;
        self.0.table.iter().map(move |&at| id_at(arena, at))
    }

    fn sorted(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.iter().collect();
        ids.sort_unstable();
        ids
    }

    /// The bytes this list's ids and table take on the heap.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.0.arena.capacity() + self.0.table.allocation_size()
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len() > 16 {
            write!(f, "Users({} ids)", self.len())
        } else {
            f.debug_set().entries(self.sorted()).finish()
        }
    }
}

/// Adds borrowed ids without allocating for each (unlike
/// [`insert`](Users::insert), which takes an owned id).
///
/// # Panics
///
/// If the list's ids would take more than 4 GiB.
impl<'a> Extend<&'a str> for Users {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, ids: I) {
        let ids = ids.into_iter();
        let list = Arc::make_mut(&mut self.0);
        list.reserve(ids.size_hint().0);
        for id in ids {
            list.insert(id);
        }
    }
}

/// # Panics
///
/// If the list's ids would take more than 4 GiB.
impl<S: Into<String>> FromIterator<S> for Users {
    fn from_iter<I: IntoIterator<Item = S>>(ids: I) -> Self {
        let ids = ids.into_iter();
        let mut list = Ids::default();
        list.reserve(ids.size_hint().0);
        for id in ids {
            list.insert(&id.into());
        }
        list.arena.shrink_to_fit();
        Users(Arc::new(list))
    }
}

impl Serialize for Users {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.sorted())
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ListVisitor)
    }
}

/// Reads a sequence of ids straight into the arena: no `String` per id.
struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Users;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Users, A::Error> {
        let mut list = Ids::default();
        // A size announced by the input is trusted only so far.
        list.reserve(seq.size_hint().unwrap_or(0).min(1 << 16));
        while seq.next_element_seed(IdInto(&mut list))?.is_some() {}
        list.arena.shrink_to_fit();
        Ok(Users(Arc::new(list)))
    }
}

/// Reads one id into a list.
struct IdInto<'a>(&'a mut Ids);

impl<'de> DeserializeSeed<'de> for IdInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for IdInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<(), E> {
        self.0.insert(id);
        Ok(())
    }
}

/// The ids of a list.
///
/// `arena` holds one record per id ever added since the last compaction:
/// the id's length in base-64 digits, least significant first, each digit
/// a byte `< 0x40` with `0x40` added to all but the last, then the id. The
/// length bytes are ASCII, so the arena stays valid UTF-8 and every record
/// starts on a character boundary. `table` holds the offset of each listed
/// id's record, hashed by the id. A removed id's record stays until the
/// removed bytes outweigh the listed ones; then the arena is rewritten.
#[derive(Clone, Default)]
struct Ids {
    arena: String,
    table: HashTable<u32>,
    /// Bytes of `arena` taken by the records of removed ids.
    dead: usize,
}

impl Ids {
    /// The offset of `id`'s record, if listed.
    #[inline]
    fn find(&self, hash: u64, id: &str) -> Option<u32> {
        let arena = self.arena.as_bytes();
        self.table.find(hash, |&at| holds(arena, at, id)).copied()
    }

    fn reserve(&mut self, ids: usize) {
        let arena = &self.arena;
        self.table.reserve(ids, |&at| hash(id_at(arena, at)));
    }

    /// Adds `id` if not listed; returns whether it was new. One probe of
    /// the table, for the lookup and the insertion.
    fn insert(&mut self, id: &str) -> bool {
        let arena = &self.arena;
        let entry = self.table.entry(
            hash(id),
            |&at| holds(arena.as_bytes(), at, id),
            |&at| hash(id_at(arena, at)),
        );
        match entry {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(append(&mut self.arena, id));
                true
            }
        }
    }

    /// Adds `id`, not listed, whose hash is `hash`.
    fn push(&mut self, hash: u64, id: &str) {
        let at = append(&mut self.arena, id);
        let arena = &self.arena;
        self.table
            .insert_unique(hash, at, |&at| self::hash(id_at(arena, at)));
    }

    /// Removes `id`; returns whether it was listed.
    fn remove(&mut self, hash: u64, id: &str) -> bool {
        let arena = self.arena.as_bytes();
        let Ok(entry) = self.table.find_entry(hash, |&at| holds(arena, at, id)) else {
            return false;
        };
        let (at, _) = entry.remove();
        self.dead += record(arena, at).1 - at as usize;
        if self.dead > self.arena.len() / 2 {
            self.compact();
        }
        true
    }

    /// Rewrites the arena with the listed ids only, and shrinks the table
    /// to their number. The hashes do not change, so nothing is rehashed
    /// but for the shrink.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.arena);
        self.arena.reserve_exact(old.len() - self.dead);
        for at in self.table.iter_mut() {
            let start = *at as usize;
            let end = record(old.as_bytes(), *at).1;
            *at = self.arena.len() as u32;
            self.arena.push_str(&old[start..end]);
        }
        self.dead = 0;
        let arena = &self.arena;
        self.table.shrink_to_fit(|&at| hash(id_at(arena, at)));
    }
}

/// Appends the record of `id` to `arena`; returns its offset.
///
/// # Panics
///
/// If the arena is 4 GiB long.
fn append(arena: &mut String, id: &str) -> u32 {
    let at = u32::try_from(arena.len())
        .unwrap_or_else(|_| panic!("an allow-list holds at most 4 GiB of ids"));
    let mut len = id.len();
    while len >= 0x40 {
        arena.push(char::from(0x40 | (len & 0x3f) as u8));
        len >>= 6;
    }
    arena.push(char::from(len as u8));
    arena.push_str(id);
    at
}

/// Whether the record at `at` holds `id`. For an id under 64 bytes, where
/// its record's length byte would be and what it would say are known, so
/// that byte and the id's bytes are read at once, not one after the other.
#[inline]
fn holds(arena: &[u8], at: u32, id: &str) -> bool {
    let at = at as usize;
    match u8::try_from(id.len()) {
        Ok(len @ 0..0x40) => match arena.get(at..at + 1 + id.len()) {
            Some([first, rest @ ..]) => *first == len && crate::text::same(rest, id.as_bytes()),
            _ => false,
        },
        _ => holds_long(arena, at, id),
    }
}

/// [`holds`] for an id of 64 bytes or more.
#[cold]
#[inline(never)]
fn holds_long(arena: &[u8], at: usize, id: &str) -> bool {
    let (start, end) = record(arena, at as u32);
    arena.get(start..end) == Some(id.as_bytes())
}

/// The hash of an id in the table.
#[inline]
fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

/// Where the id of the record at `at` starts and ends.
fn record(arena: &[u8], at: u32) -> (usize, usize) {
    let (mut i, mut len, mut shift) = (at as usize, 0, 0);
    loop {
        let digit = arena[i];
        i += 1;
        len |= usize::from(digit & 0x3f) << shift;
        if digit & 0x40 == 0 {
            return (i, i + len);
        }
        shift += 6;
    }
}

/// The id of the record at `at`.
fn id_at(arena: &str, at: u32) -> &str {
    let (start, end) = record(arena.as_bytes(), at);
    &arena[start..end]
}

#[cfg(test)]
mod tests;
