use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::memory::Book;
use super::{
    AppliedShortcut, BatchWrite, BoxFuture, ImmediateStorage, Record, ShortcutRequest, Storage,
};
use crate::error::Error;
use crate::history::{self, HistoryEntry};
use crate::key::SwitchKey;
use crate::switch::Switch;

/// Switches in one JSON file, for a command-line tool, a small service, or
/// switches kept under version control.
///
/// Every write takes an advisory lock on `<file>.lock` (so two processes
/// writing at once are serialized, and neither loses the other's update),
/// reads the file afresh, applies the change, writes the result to a
/// temporary file in the same folder, syncs it to disk and renames it over
/// the old one: a crash leaves either the old file or the new one, never
/// half of one. The audit trail is kept in the same file, so a change and
/// its entry are written together.
///
/// A rewrite keeps the file's permissions (and, where allowed, its group),
/// and writes through a symbolic link to the file it points to, which
/// stays a link; a temporary file a crashed writer left is removed by the
/// next write. A file that is not an object of switches (`[]`, `null`, a
/// key other than `switches` and `history`) is refused and left as it is.
///
/// A manager reads the file when it is built; changes other processes make
/// later reach it with [`FileStorage::reload`] (the `gate` command reloads
/// on every run).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("gate-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("switches.json");
///
/// let manager = gate::Manager::builder()
///     .storage(gate::storage::FileStorage::open(&path)?)
///     .build();
/// manager.set_percentage("new_search", 20).await?;
///
/// // Another process (here: another manager) reads the same file.
/// let other = gate::Manager::builder()
///     .storage(gate::storage::FileStorage::open(&path)?)
///     .build();
/// assert!(other.active("new_search", "443301"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FileStorage {
    path: Arc<Path>,
    /// The file's bytes as last read or written, and what they parse to:
    /// a read of an unchanged file reuses it instead of parsing the file
    /// and compiling every regular expression again.
    parsed: Arc<Mutex<Option<Parsed>>>,
}

#[derive(Debug)]
struct Parsed {
    bytes: Vec<u8>,
    book: Arc<Book>,
}

/// How many symbolic links are followed to the file (as Linux's `ELOOP`).
const MAX_LINKS: usize = 40;

impl FileStorage {
    /// A storage on the file at `path`, which need not exist yet (it is
    /// created by the first write). An existing file is read and checked
    /// now.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJson`] naming the file and the position for a
    /// malformed file (which is left untouched), [`Error::Storage`] if it
    /// cannot be read.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileStorage, Error> {
        let path: PathBuf = path.into();
        let storage = FileStorage {
            path: Arc::from(path),
            parsed: Arc::default(),
        };
        storage.read()?;
        Ok(storage)
    }

    /// The file written: the path, or what its symbolic links lead to
    /// (resolved at each write, so a link moved to another file is
    /// followed). A dangling link leads to the file to create.
    fn target(&self) -> Result<PathBuf, Error> {
        let mut path = self.path.to_path_buf();
        for _ in 0..MAX_LINKS {
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let link = std::fs::read_link(&path)
                        .map_err(|e| self.io_error("follow the symbolic link", e))?;
                    path = match path.parent() {
                        Some(dir) if link.is_relative() => dir.join(link),
                        _ => link,
                    };
                }
                _ => return Ok(path),
            }
        }
        Err(Error::storage_msg(format!(
            "cannot write {}: more than {MAX_LINKS} symbolic links lead to it",
            self.path.display()
        )))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every switch in the file as it is now, for a manager to replace its
    /// replica with ([`Manager::reload`](crate::Manager::reload)).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn reload(&self) -> Result<Vec<Record>, Error> {
        Ok(self.read()?.records())
    }

    fn io_error(&self, what: &str, error: std::io::Error) -> Error {
        Error::storage(
            format!("cannot {what} {}: {error}", self.path.display()),
            error,
        )
    }

    /// The file's contents; an empty book if it does not exist. The file
    /// is read every time, but parsed only when its bytes changed.
    fn read(&self) -> Result<Arc<Book>, Error> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Arc::default()),
            Err(e) => return Err(self.io_error("read", e)),
        };
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(parsed) = parsed.as_ref().filter(|p| p.bytes == bytes) {
            return Ok(Arc::clone(&parsed.book));
        }
        let book = Arc::new(self.parse(&bytes)?);
        *parsed = Some(Parsed {
            bytes,
            book: Arc::clone(&book),
        });
        Ok(book)
    }

    fn parse(&self, bytes: &[u8]) -> Result<Book, Error> {
        let invalid = |reason: String| Error::InvalidJson {
            what: format!("the switch file {}", self.path.display()),
            reason,
        };
        let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
            return Ok(Book::default());
        };
        if *first != b'{' {
            // Not an object: say what it is (serde would take an array
            // for an empty store, and a write would overwrite it).
            let what = match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(serde_json::Value::Array(_)) => "a JSON array",
                Ok(serde_json::Value::Null) => "null",
                Ok(serde_json::Value::Bool(_)) => "a boolean",
                Ok(serde_json::Value::Number(_)) => "a number",
                Ok(serde_json::Value::String(_)) => "a string",
                Ok(serde_json::Value::Object(_)) => "an object",
                Err(e) => return Err(invalid(e.to_string())),
            };
            return Err(invalid(format!(
                "it holds {what}, not an object of switches \
                 ({{\"switches\": {{\"name\": {{...}}}}, \"history\": [...]}}); \
                 the file was left as it is"
            )));
        }
        // serde_json's message ends with the line and column.
        let book: Book = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        for (key, switch) in &book.switches {
            if switch.name != key.name() {
                return Err(invalid(format!(
                    "the switch stored as {key:?} is named {:?}",
                    switch.name
                )));
            }
            switch
                .validate()
                .map_err(|e| invalid(format!("switch {key:?}: {e}")))?;
        }
        Ok(book)
    }

    /// Writes `book` atomically to `target` (the file itself, links
    /// followed): temporary file with the file's permissions, fsync,
    /// rename, fsync of the folder. Called under the lock.
    fn write(&self, target: &Path, book: &Book) -> Result<(), Error> {
        let mut json =
            serde_json::to_vec_pretty(book).map_err(|e| Error::storage(e.to_string(), e))?;
        json.push(b'\n');
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{file_name}.tmp.");
        remove_leftovers(&dir, &prefix);
        let tmp = dir.join(format!("{prefix}{}", std::process::id()));
        let existing = std::fs::metadata(target).ok();
        let written = (|| {
            let mut file = File::create(&tmp)?;
            if let Some(existing) = &existing {
                keep_owner(&file, existing);
                file.set_permissions(existing.permissions())?;
            }
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, target)?;
            // The rename itself is durable once the folder is synced.
            if let Ok(dir) = File::open(&dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        match written {
            Ok(()) => {
                *self.parsed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Parsed {
                    bytes: json,
                    book: Arc::new(book.clone()),
                });
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(self.io_error("write", e))
            }
        }
    }

    /// Runs `change` on the file's current contents under the lock, and
    /// writes the result if it succeeds (nothing is written if it fails).
    fn locked<T>(&self, change: impl FnOnce(&mut Book) -> Result<T, Error>) -> Result<T, Error> {
        // The lock sits beside the file itself, so writers through a link
        // and through the file's own path exclude each other.
        let target = self.target()?;
        let mut lock_path = target.clone().into_os_string();
        lock_path.push(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.io_error("open the lock file of", e))?;
        lock.lock().map_err(|e| self.io_error("lock", e))?;
        let result = (|| {
            let before = self.read()?;
            let mut book = Book::clone(&before);
            let out = change(&mut book)?;
            if book != *before {
                self.write(&target, &book)?;
            }
            Ok(out)
        })();
        let _ = lock.unlock();
        result
    }

    /// Runs a locked change off the async runtime's threads (the lock may
    /// be held by another process for a moment).
    fn blocking<T: Send + 'static>(
        &self,
        change: impl FnOnce(&FileStorage) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        let storage = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => Box::pin(async move {
                handle
                    .spawn_blocking(move || change(&storage))
                    .await
                    .unwrap_or_else(|e| {
                        Err(Error::storage(format!("the file write failed: {e}"), e))
                    })
            }),
            Err(_) => Box::pin(std::future::ready(change(&storage))),
        }
    }
}

/// Removes the temporary files (`<prefix><pid>`) that writers killed
/// between writing and renaming left in `dir`. Under the lock no other
/// writer has one in flight, so every such file is a leftover; failures
/// are ignored (the write goes on).
fn remove_leftovers(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name
            .strip_prefix(prefix)
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Gives the new file the old one's owner and group where this process may
/// (its own files, a group it belongs to); silently keeps its own
/// otherwise.
#[cfg(unix)]
fn keep_owner(file: &File, existing: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let _ = std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()))
        .or_else(|_| std::os::unix::fs::fchown(file, None, Some(existing.gid())));
}

#[cfg(not(unix))]
fn keep_owner(_file: &File, _existing: &std::fs::Metadata) {}

impl Storage for FileStorage {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        let records = self.reload();
        Box::pin(async move { records })
    }

    fn get<'a>(&'a self, key: &'a SwitchKey) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
        let found = self.read().map(|book| book.switches.get(key).cloned());
        Box::pin(async move { found })
    }

    fn insert<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        let (key, actor) = (key.to_owned(), actor.to_owned());
        self.blocking(move |s| s.locked(|book| book.insert(&key, &actor, switch)))
    }

    fn update<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        let (key, actor) = (key.to_owned(), actor.to_owned());
        self.blocking(move |s| s.locked(|book| book.update(&key, &actor, switch)))
    }

    fn remove_tree<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        let (key, actor) = (key.to_owned(), actor.to_owned());
        self.blocking(move |s| s.locked(|book| Ok(book.remove_tree(&key, &actor))))
    }

    fn write_batch<'a>(
        &'a self,
        actor: &'a str,
        writes: Vec<(SwitchKey, BatchWrite)>,
    ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
        let actor = actor.to_owned();
        // One lock, one file write: a failed check writes nothing.
        self.blocking(move |s| s.locked(|book| book.batch(&actor, writes)))
    }

    fn apply_shortcut<'a>(
        &'a self,
        request: ShortcutRequest<'a>,
    ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
        let (key, actor, shortcut) = (
            request.key.to_owned(),
            request.actor.to_owned(),
            request.shortcut.clone(),
        );
        // One lock, one file write (none if nothing changes).
        self.blocking(move |s| {
            s.locked(|book| book.apply_shortcut(&key, &actor, &shortcut))
                .map(AppliedShortcut::exact)
        })
    }

    fn history<'a>(
        &'a self,
        key: Option<&'a SwitchKey>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
        let selected = self
            .read()
            .map(|book| history::select(&book.history, key, limit));
        Box::pin(async move { selected })
    }

    fn immediate(&self) -> Option<&dyn ImmediateStorage> {
        Some(self)
    }
}

/// The file is read at once when a manager is built; an insert writes the
/// file, so autocreate does it in the background (`insert_now` is `None`).
impl ImmediateStorage for FileStorage {
    fn load_now(&self) -> Result<Vec<Record>, Error> {
        self.reload()
    }
}
