//! `Storage` for `Arc<S>` and `Box<S>`: every method forwarded to `S`,
//! the provided ones too, so that an override in `S` is kept. With it two
//! managers can share one storage (`Manager::builder().storage(arc.clone())`),
//! and a `Box<dyn Storage>` is a storage.

use std::sync::{Arc, Weak};

use super::{
    AppliedShortcut, BatchWrite, BoxFuture, ChangeFeed, ImmediateStorage, Record, ShortcutRequest,
    Storage, Watcher, WriteOutcome,
};
use crate::error::Error;
use crate::history::HistoryEntry;
use crate::key::SwitchKey;
use crate::switch::Switch;

/// `impl Storage for $pointer<S>`, forwarding every method.
macro_rules! forward {
    ($pointer:ident) => {
        /// Forwards every method, provided ones included, to the storage
        /// pointed to.
        impl<S: Storage + ?Sized> Storage for $pointer<S> {
            fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
                (**self).load()
            }

            fn get<'a>(
                &'a self,
                key: &'a SwitchKey,
            ) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
                (**self).get(key)
            }

            fn insert<'a>(
                &'a self,
                key: &'a SwitchKey,
                actor: &'a str,
                switch: Switch,
            ) -> BoxFuture<'a, Result<Switch, Error>> {
                (**self).insert(key, actor, switch)
            }

            fn update<'a>(
                &'a self,
                key: &'a SwitchKey,
                actor: &'a str,
                switch: Switch,
            ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
                (**self).update(key, actor, switch)
            }

            fn update_from<'a>(
                &'a self,
                key: &'a SwitchKey,
                actor: &'a str,
                previous: Switch,
                switch: Switch,
            ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
                (**self).update_from(key, actor, previous, switch)
            }

            fn remove_tree<'a>(
                &'a self,
                key: &'a SwitchKey,
                actor: &'a str,
            ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
                (**self).remove_tree(key, actor)
            }

            fn apply_shortcut<'a>(
                &'a self,
                request: ShortcutRequest<'a>,
            ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
                (**self).apply_shortcut(request)
            }

            fn history<'a>(
                &'a self,
                key: Option<&'a SwitchKey>,
                limit: usize,
            ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
                (**self).history(key, limit)
            }

            fn write_batch<'a>(
                &'a self,
                actor: &'a str,
                writes: Vec<(SwitchKey, BatchWrite)>,
            ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
                (**self).write_batch(actor, writes)
            }

            fn write_outcome<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<WriteOutcome, Error>> {
                (**self).write_outcome(id)
            }

            fn repair<'a>(
                &'a self,
                key: &'a SwitchKey,
                actor: &'a str,
                switch: Switch,
            ) -> BoxFuture<'a, Result<Switch, Error>> {
                (**self).repair(key, actor, switch)
            }

            fn mark_restored(&self) -> BoxFuture<'_, Result<(), Error>> {
                (**self).mark_restored()
            }

            fn immediate(&self) -> Option<&dyn ImmediateStorage> {
                (**self).immediate()
            }

            fn watch(&self, watcher: Weak<dyn Watcher>) -> Option<ChangeFeed> {
                (**self).watch(watcher)
            }
        }
    };
}

forward!(Arc);
forward!(Box);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemoryStorage, Shortcut};
    use crate::switch::State;
    use crate::SwitchKey;

    /// A storage that overrides every provided method with an answer of
    /// its own, and otherwise is a memory storage.
    #[derive(Debug, Default)]
    struct Marked(MemoryStorage);

    fn marked<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
        Box::pin(std::future::ready(value))
    }

    fn mark() -> Error {
        Error::storage_msg("overridden")
    }

    impl Storage for Marked {
        fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
            self.0.load()
        }
        fn get<'a>(&'a self, key: &'a SwitchKey) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
            self.0.get(key)
        }
        fn insert<'a>(
            &'a self,
            key: &'a SwitchKey,
            actor: &'a str,
            switch: Switch,
        ) -> BoxFuture<'a, Result<Switch, Error>> {
            self.0.insert(key, actor, switch)
        }
        fn update<'a>(
            &'a self,
            key: &'a SwitchKey,
            actor: &'a str,
            switch: Switch,
        ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
            self.0.update(key, actor, switch)
        }
        fn remove_tree<'a>(
            &'a self,
            key: &'a SwitchKey,
            actor: &'a str,
        ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
            self.0.remove_tree(key, actor)
        }
        fn update_from<'a>(
            &'a self,
            _: &'a SwitchKey,
            _: &'a str,
            _: Switch,
            _: Switch,
        ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
            marked(Err(mark()))
        }
        fn apply_shortcut<'a>(
            &'a self,
            _: ShortcutRequest<'a>,
        ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
            marked(Err(mark()))
        }
        fn history<'a>(
            &'a self,
            _: Option<&'a SwitchKey>,
            _: usize,
        ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
            marked(Err(mark()))
        }
        fn write_batch<'a>(
            &'a self,
            _: &'a str,
            _: Vec<(SwitchKey, BatchWrite)>,
        ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
            marked(Err(mark()))
        }
        fn write_outcome<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<WriteOutcome, Error>> {
            marked(Ok(WriteOutcome::Applied))
        }
        fn repair<'a>(
            &'a self,
            _: &'a SwitchKey,
            _: &'a str,
            _: Switch,
        ) -> BoxFuture<'a, Result<Switch, Error>> {
            marked(Err(mark()))
        }
        fn mark_restored(&self) -> BoxFuture<'_, Result<(), Error>> {
            marked(Err(mark()))
        }
        fn immediate(&self) -> Option<&dyn ImmediateStorage> {
            self.0.immediate()
        }
        fn watch(&self, _: Weak<dyn Watcher>) -> Option<ChangeFeed> {
            Some(Box::pin(futures_util::stream::empty()))
        }
    }

    fn overridden<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
        matches!(&result, Err(e) if e.to_string().contains("overridden"))
    }

    /// Every provided method reaches the override through the pointer.
    async fn keeps_overrides(storage: &dyn Storage) {
        let beta = storage
            .insert(&SwitchKey::parse("beta"), "t", Switch::new("beta"))
            .await
            .unwrap();
        let global = Shortcut::State(State::Global);
        let next = beta.clone().state(State::Global);
        assert!(overridden(
            storage
                .update_from(&SwitchKey::parse("beta"), "t", beta.clone(), next)
                .await
        ));
        assert!(overridden(
            storage
                .apply_shortcut(ShortcutRequest::new(
                    &SwitchKey::parse("beta"),
                    "t",
                    &global
                ))
                .await
        ));
        assert!(overridden(storage.history(None, 10).await));
        assert!(overridden(storage.write_batch("t", Vec::new()).await));
        assert_eq!(
            storage.write_outcome("op").await.unwrap(),
            WriteOutcome::Applied
        );
        assert!(overridden(
            storage.repair(&SwitchKey::parse("beta"), "t", beta).await
        ));
        assert!(overridden(storage.mark_restored().await));
        let now = storage.immediate().expect("the inner memory storage's");
        assert_eq!(now.load_now().unwrap().len(), 1);
        assert!(storage.watch(no_watcher()).is_some(), "the change feed");
    }

    /// A watcher that is gone already.
    fn no_watcher() -> Weak<dyn Watcher> {
        Weak::<NoWatcher>::new()
    }

    struct NoWatcher;

    impl Watcher for NoWatcher {
        fn switch(&self, _: &SwitchKey) -> Option<Arc<Switch>> {
            None
        }
        fn held(&self) -> usize {
            0
        }
        fn missing(&self, _: &dyn Fn(&SwitchKey) -> bool) -> usize {
            0
        }
        fn mark(&self) -> crate::storage::ReadMark {
            crate::storage::ReadMark(0)
        }
        fn marker(&self) -> Option<String> {
            None
        }
        fn update_status(&self, _: &mut dyn FnMut(&mut crate::storage::SyncStatus)) {}
    }

    #[tokio::test]
    async fn arc_and_box_forward_every_method_overrides_included() {
        keeps_overrides(&Arc::new(Marked::default())).await;
        keeps_overrides(&Box::new(Marked::default())).await;
        let boxed: Box<dyn Storage> = Box::new(Marked::default());
        keeps_overrides(&boxed).await;
        let boxed: Box<dyn Storage> = Box::new(Marked::default());
        keeps_overrides(&Arc::new(boxed)).await;
    }
}
