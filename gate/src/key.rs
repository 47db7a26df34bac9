//! [`SwitchKey`]: where a switch is stored, its namespace and its name.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::names::{validate_name, validate_namespace};

/// The key of a stored switch: its namespace and its name.
///
/// Its storage form, the string every storage keeps and every wire format
/// (Redis keys, the file storage's JSON, the snapshot file, history
/// entries, the admin API) carries, is the name alone in the root
/// namespace and `namespace.name` otherwise: a name holds no `.`, so the
/// last `.` splits them (a nested namespace, `a.b`, keeps its own). A key is
/// compared, hashed, ordered, shown ([`Display`](fmt::Display)) and
/// serialized as that string, so it also [`Borrow`]s as a `str`: a map
/// keyed by `SwitchKey` can be searched with `&str`. Cloning it is cheap
/// (a reference count).
///
/// ```
/// use gate::SwitchKey;
///
/// let key = SwitchKey::new("billing", "checkout:express")?;
/// assert_eq!(key.namespace(), "billing");
/// assert_eq!(key.name(), "checkout:express");
/// assert_eq!(key.as_str(), "billing.checkout:express");
/// assert_eq!(key.to_string(), "billing.checkout:express");
///
/// let parent = key.parent().unwrap();
/// assert_eq!(parent, SwitchKey::new("billing", "checkout")?);
/// assert!(key.is_in_tree(&parent));
///
/// assert_eq!(SwitchKey::parse("beta"), SwitchKey::root("beta")?);
/// assert_eq!(serde_json::to_string(&key).unwrap(), r#""billing.checkout:express""#);
/// assert!(SwitchKey::new("billing", "a.b").is_err());
/// # Ok::<_, gate::Error>(())
/// ```
#[derive(Clone)]
pub struct SwitchKey {
    /// The storage form.
    key: Arc<str>,
    /// Where the name starts in `key`: 0 in the root namespace, else the
    /// length of the namespace plus one (the `.`).
    name_at: usize,
}

impl SwitchKey {
    /// The key of `name` in `namespace` (`""` is the root namespace; a
    /// nested namespace is its parts joined by `.`, `a.b`), both checked by
    /// the rules of names and namespaces.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyName`], [`Error::InvalidName`] or
    /// [`Error::InvalidNamespace`].
    pub fn new(namespace: &str, name: &str) -> Result<SwitchKey, Error> {
        check_namespace(namespace)?;
        validate_name(name)?;
        Ok(SwitchKey::join(namespace, name))
    }

    /// The key of `name` in the root namespace, checked like
    /// [`new`](Self::new).
    ///
    /// # Errors
    ///
    /// [`Error::EmptyName`] or [`Error::InvalidName`].
    pub fn root(name: &str) -> Result<SwitchKey, Error> {
        SwitchKey::new("", name)
    }

    /// The key whose storage form is `key`, as stored: split at its last
    /// `.` (none: the root namespace), and not checked, so that every
    /// stored key reads back as it is (a record whose name breaks the
    /// rules is reported by the storage, not lost here). To read a key a
    /// user typed, use [`parse_checked`](Self::parse_checked).
    pub fn parse(key: &str) -> SwitchKey {
        let name_at = key.rfind('.').map_or(0, |dot| dot + 1);
        SwitchKey {
            key: Arc::from(key),
            name_at,
        }
    }

    /// [`parse`](Self::parse), then checks the namespace and the name (as
    /// [`new`](Self::new) does): for keys given by a user (the CLI, the
    /// admin API). Also what [`FromStr`] does.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyName`], [`Error::InvalidName`] or
    /// [`Error::InvalidNamespace`].
    pub fn parse_checked(key: &str) -> Result<SwitchKey, Error> {
        let parsed = SwitchKey::parse(key);
        if key.contains('.') {
            // `.a`: an empty namespace before the dot.
            if parsed.namespace().is_empty() {
                validate_namespace("")?;
            }
            check_namespace(parsed.namespace())?;
        }
        validate_name(parsed.name())?;
        Ok(parsed)
    }

    /// Joins a namespace and a name without checking them.
    pub(crate) fn join(namespace: &str, name: &str) -> SwitchKey {
        if namespace.is_empty() {
            SwitchKey {
                key: Arc::from(name),
                name_at: 0,
            }
        } else {
            SwitchKey {
                key: Arc::from(format!("{namespace}.{name}")),
                name_at: namespace.len() + 1,
            }
        }
    }

    /// The namespace (`""` for the root namespace).
    pub fn namespace(&self) -> &str {
        match self.name_at {
            0 => "",
            at => &self.key[..at - 1],
        }
    }

    /// The switch's name within its namespace (`a:b`).
    pub fn name(&self) -> &str {
        &self.key[self.name_at..]
    }

    /// The storage form: `name`, or `namespace.name`.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The key of the parent switch (`a` for `a:b`, in the same
    /// namespace), or `None` for a switch without a parent.
    pub fn parent(&self) -> Option<SwitchKey> {
        let colon = self.name().rfind(':')?;
        Some(SwitchKey {
            key: Arc::from(&self.key[..self.name_at + colon]),
            name_at: self.name_at,
        })
    }

    /// Whether this key is `root` or one of its descendants (`root:…`).
    pub fn is_in_tree(&self, root: &SwitchKey) -> bool {
        in_tree(self.as_str(), root.as_str())
    }
}

/// Checks a namespace: `""` (the root), or one or more namespaces joined
/// by `.` (a handle's [`namespaced`](crate::Manager::namespaced) of a
/// namespaced handle), each by the rules of namespaces.
fn check_namespace(namespace: &str) -> Result<(), Error> {
    if namespace.is_empty() {
        return Ok(());
    }
    namespace.split('.').try_for_each(validate_namespace)
}

/// Whether `key` is `root` or one of its descendants.
fn in_tree(key: &str, root: &str) -> bool {
    key == root || (key.starts_with(root) && key[root.len()..].starts_with(':'))
}

impl PartialEq for SwitchKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for SwitchKey {}

impl PartialOrd for SwitchKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SwitchKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl std::hash::Hash for SwitchKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `str` hashes, so that `Borrow<str>` is consistent.
        self.as_str().hash(state);
    }
}

impl Borrow<str> for SwitchKey {
    fn borrow(&self) -> &str {
        &self.key
    }
}

impl AsRef<str> for SwitchKey {
    fn as_ref(&self) -> &str {
        &self.key
    }
}

impl PartialEq<str> for SwitchKey {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SwitchKey {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SwitchKey {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<SwitchKey> for str {
    fn eq(&self, other: &SwitchKey) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SwitchKey> for &str {
    fn eq(&self, other: &SwitchKey) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for SwitchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl fmt::Debug for SwitchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.key, f)
    }
}

impl FromStr for SwitchKey {
    type Err = Error;

    fn from_str(key: &str) -> Result<SwitchKey, Error> {
        SwitchKey::parse_checked(key)
    }
}

impl Serialize for SwitchKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key)
    }
}

impl<'de> Deserialize<'de> for SwitchKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SwitchKey, D::Error> {
        let key = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(SwitchKey::parse(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_last_dot_as_stored() {
        let k = SwitchKey::parse("a.b.c:d");
        assert_eq!((k.namespace(), k.name()), ("a.b", "c:d"));
        let k = SwitchKey::parse("plain");
        assert_eq!((k.namespace(), k.name()), ("", "plain"));
        let k = SwitchKey::parse("");
        assert_eq!((k.namespace(), k.name(), k.as_str()), ("", "", ""));
        let k = SwitchKey::parse(".x");
        assert_eq!((k.namespace(), k.name()), ("", "x"));
        assert_eq!(k.as_str(), ".x");
    }

    #[test]
    fn joins_like_the_storage_form() {
        assert_eq!(SwitchKey::join("", "a").as_str(), "a");
        assert_eq!(SwitchKey::join("ns", "a:b").as_str(), "ns.a:b");
        assert_eq!(SwitchKey::join("ns", "a:b"), SwitchKey::parse("ns.a:b"));
    }

    #[test]
    fn parents_and_trees() {
        let k = SwitchKey::parse("ns.a:b:c");
        let p = k.parent().unwrap();
        assert_eq!(p.as_str(), "ns.a:b");
        assert_eq!(p.namespace(), "ns");
        assert_eq!(p.parent().unwrap().as_str(), "ns.a");
        assert_eq!(p.parent().unwrap().parent(), None);
        assert!(k.is_in_tree(&p));
        assert!(k.is_in_tree(&k));
        assert!(!p.is_in_tree(&k));
        assert!(!SwitchKey::parse("ns.ab").is_in_tree(&SwitchKey::parse("ns.a")));
        assert!(!SwitchKey::parse("a:b").is_in_tree(&SwitchKey::parse("ns.a")));
    }

    #[test]
    fn checks_what_users_give() {
        assert!(SwitchKey::parse_checked("ns.a:b").is_ok());
        assert!(SwitchKey::parse_checked("a").is_ok());
        assert!(matches!(
            SwitchKey::parse_checked("ns."),
            Err(Error::EmptyName)
        ));
        assert!(matches!(
            SwitchKey::parse_checked(".a"),
            Err(Error::InvalidNamespace { .. })
        ));
        assert!(matches!(
            " ns.a".parse::<SwitchKey>(),
            Err(Error::InvalidNamespace { .. })
        ));
        assert!(SwitchKey::new("a:b", "c").is_err());
        let nested = SwitchKey::parse_checked("a.b.c:d").unwrap();
        assert_eq!((nested.namespace(), nested.name()), ("a.b", "c:d"));
        assert_eq!(SwitchKey::new("a.b", "c:d").unwrap(), nested);
        assert!(SwitchKey::new("a..b", "c").is_err());
        assert_eq!(SwitchKey::root("x").unwrap().as_str(), "x");
    }

    #[test]
    fn hashes_and_orders_as_its_string() {
        use std::collections::{BTreeMap, HashMap};
        let mut h = HashMap::new();
        h.insert(SwitchKey::parse("ns.a"), 1);
        assert_eq!(h.get("ns.a"), Some(&1));
        let mut b = BTreeMap::new();
        b.insert(SwitchKey::parse("b"), 2);
        b.insert(SwitchKey::parse("a.z"), 1);
        assert_eq!(b.get("b"), Some(&2));
        assert_eq!(b.keys().next().unwrap().as_str(), "a.z");
    }

    #[test]
    fn serializes_as_the_storage_form() {
        let k = SwitchKey::parse("ns.a");
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, r#""ns.a""#);
        let back: SwitchKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, k);
        assert_eq!(back.namespace(), "ns");
    }
}
