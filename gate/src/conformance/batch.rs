//! The rules of batches (`write_batch`): all or nothing.

use super::{key, ACTOR};
use crate::error::Error;
use crate::key::SwitchKey;
use crate::storage::{BatchWrite, Storage};
use crate::switch::{State, Switch};

/// The keys of a batch's two switches, `conf_<base>_x` (missing) and
/// `conf_<base>_y` (inserted), `y` as stored, and the length of the whole
/// history after inserting it.
struct Batch {
    x_name: String,
    x: SwitchKey,
    y: SwitchKey,
    y1: Switch,
    history_before: usize,
}

impl Batch {
    async fn new(storage: &dyn Storage, prefix: &str, base: &str) -> Batch {
        let x_name = format!("{base}_x");
        let (x, y) = (key(prefix, &x_name), key(prefix, &format!("{base}_y")));
        let y1 = storage
            .insert(&y, ACTOR, Switch::new(format!("{base}_y")))
            .await
            .unwrap();
        let history_before = history_len(storage).await;
        Batch {
            x_name,
            x,
            y,
            y1,
            history_before,
        }
    }

    /// Creates `x` and updates `y` from a stale version.
    async fn stale(&self, storage: &dyn Storage) -> Result<Vec<Switch>, Error> {
        let stale = Switch {
            version: self.y1.version + 7,
            ..self.y1.clone().state(State::Global)
        };
        storage
            .write_batch(
                ACTOR,
                vec![
                    (self.x.clone(), BatchWrite::Create(self.x_switch())),
                    (self.y.clone(), BatchWrite::Update(stale)),
                ],
            )
            .await
    }

    /// Creates `y` again.
    async fn taken(&self, storage: &dyn Storage) -> Result<Vec<Switch>, Error> {
        let y = Switch::new(self.y1.name.clone());
        storage
            .write_batch(ACTOR, vec![(self.y.clone(), BatchWrite::Create(y))])
            .await
    }

    /// Creates `x` and makes `y` global, from its stored version.
    async fn valid(&self, storage: &dyn Storage) -> Vec<Switch> {
        storage
            .write_batch(
                ACTOR,
                vec![
                    (self.x.clone(), BatchWrite::Create(self.x_switch())),
                    (
                        self.y.clone(),
                        BatchWrite::Update(self.y1.clone().state(State::Global)),
                    ),
                ],
            )
            .await
            .unwrap()
    }

    fn x_switch(&self) -> Switch {
        Switch::new(self.x_name.clone())
    }

    async fn remove(&self, storage: &dyn Storage) {
        storage.remove_tree(&self.x, ACTOR).await.unwrap();
        storage.remove_tree(&self.y, ACTOR).await.unwrap();
    }
}

async fn history_len(storage: &dyn Storage) -> usize {
    storage.history(None, usize::MAX).await.unwrap().len()
}

/// A batch with a stale update is a `Conflict`, and writes nothing, not
/// even its valid writes.
pub async fn a_batch_with_a_stale_update_is_a_conflict_and_writes_nothing(
    storage: &dyn Storage,
    prefix: &str,
) {
    let batch = Batch::new(storage, prefix, "conf_batch_stale").await;
    let failed = batch.stale(storage).await;
    assert!(
        matches!(failed, Err(Error::Conflict { .. })),
        "a batch with a stale update is a Conflict, got {failed:?}"
    );
    assert_eq!(
        storage.get(&batch.x).await.unwrap(),
        None,
        "a failed batch writes nothing, not even its valid writes"
    );
    batch.remove(storage).await;
}

/// Creating a taken key in a batch is `AlreadyExists`.
pub async fn creating_a_taken_key_in_a_batch_is_already_exists(
    storage: &dyn Storage,
    prefix: &str,
) {
    let batch = Batch::new(storage, prefix, "conf_batch_taken").await;
    let taken = batch.taken(storage).await;
    assert!(
        matches!(taken, Err(Error::AlreadyExists { .. })),
        "creating a taken key in a batch is AlreadyExists, got {taken:?}"
    );
    batch.remove(storage).await;
}

/// A failed batch records nothing in the history.
pub async fn a_failed_batch_records_nothing_in_the_history(storage: &dyn Storage, prefix: &str) {
    let batch = Batch::new(storage, prefix, "conf_batch_unrecorded").await;
    assert!(batch.stale(storage).await.is_err(), "a stale batch fails");
    assert!(batch.taken(storage).await.is_err(), "a taken batch fails");
    assert_eq!(
        history_len(storage).await,
        batch.history_before,
        "a failed batch records nothing in the history"
    );
    batch.remove(storage).await;
}

/// A batch returns the switches as stored, in order, and stores them.
pub async fn a_batch_returns_the_switches_as_stored_in_order(storage: &dyn Storage, prefix: &str) {
    let batch = Batch::new(storage, prefix, "conf_batch_done").await;
    let done = batch.valid(storage).await;
    assert_eq!(
        done.iter().map(|s| s.version).collect::<Vec<_>>(),
        [1, batch.y1.version + 1],
        "a batch returns the switches as stored, in order"
    );
    assert_eq!(
        storage.get(&batch.y).await.unwrap().unwrap().state,
        State::Global
    );
    assert!(storage.get(&batch.x).await.unwrap().is_some());
    batch.remove(storage).await;
}

/// Each write of a batch is in the history.
pub async fn each_write_of_a_batch_is_in_the_history(storage: &dyn Storage, prefix: &str) {
    let batch = Batch::new(storage, prefix, "conf_batch_recorded").await;
    batch.valid(storage).await;
    let (history_before, recorded) = (batch.history_before, history_len(storage).await);
    assert!(
        recorded == history_before + 2 || history_before == 0,
        "each write of a batch is in the history ({history_before} → {recorded})"
    );
    batch.remove(storage).await;
}
