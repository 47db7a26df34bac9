//! Issue 9, item 3, property test: every switch the API accepts
//! round-trips unchanged through every storage's format (memory, the file
//! store read by a fresh reader, Redis read by a second manager), and
//! every switch it refuses is refused by every write path. Random switches
//! come from a seeded PRNG (no dependency; a failure names its seed).

mod redis_support;

use gate::storage::FileStorage;
use gate::SwitchKey;
use gate::{Condition, Error, Manager, Operator, State, Storage, Switch, Value};
use redis_support::{shared_url, Prefix};

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

/// What the round trip draws beyond numbers.
impl Rng {
    /// A character, mostly harmless, sometimes one the rules refuse in
    /// names (control, zero-width, bidirectional, whitespace).
    fn char(&mut self) -> char {
        match self.below(20) {
            0 => self.pick(&[
                '\u{0}', '\n', '\t', '\u{7f}', '\u{202E}', '\u{2066}', '\u{200B}', '\u{FEFF}', ' ',
            ]),
            1 => self.pick(&['"', '\\', '/', '\'', '{', '}', '[', ']', '%', '@', '#', '*']),
            2 => self.pick(&[
                'é', 'ß', 'ж', 'ש', 'ع', '中', '文', '😀', '👍', '\u{301}', 'ﬁ', 'İ',
            ]),
            _ => self.pick(&[
                'a', 'b', 'c', 'x', 'y', 'z', 'A', 'Q', '0', '5', '9', '_', '-',
            ]),
        }
    }
    fn text(&mut self, max: u64) -> String {
        let len = self.below(max + 1);
        (0..len).map(|_| self.char()).collect()
    }
    fn float(&mut self) -> f64 {
        match self.below(6) {
            0 => f64::from_bits(self.next()), // NaN, infinities, subnormals, …
            1 => self.pick(&[
                0.0,
                -0.0,
                0.1,
                1e300,
                -1e-300,
                f64::MAX,
                f64::MIN_POSITIVE,
                2.5,
            ]),
            _ => (self.next() as i64 as f64) / (1u64 << self.below(60)) as f64,
        }
    }
    fn int(&mut self) -> i64 {
        match self.below(3) {
            0 => self.next() as i64,
            1 => self.pick(&[0, -1, 1, i64::MIN, i64::MAX, 100, 65]),
            _ => self.below(200) as i64 - 100,
        }
    }
    fn value(&mut self) -> Value<'static> {
        match self.below(4) {
            0 => Value::Bool(self.chance(2)),
            1 => Value::Int(self.int()),
            2 => Value::Float(self.float()),
            _ => Value::from(self.text(12)),
        }
    }
    /// A value of the same type family as `like` (numbers mix).
    fn value_like(&mut self, like: &Value<'_>) -> Value<'static> {
        match like {
            Value::Bool(_) => Value::Bool(self.chance(2)),
            Value::Str(_) => Value::from(self.text(12)),
            _ if self.chance(2) => Value::Int(self.int()),
            _ => Value::Float(self.float()),
        }
    }

    /// An operator through the public constructors; `None` if refused.
    fn operator(&mut self) -> Option<Operator> {
        let v = self.value();
        match self.below(13) {
            0 => Operator::equals(v).ok(),
            1 => {
                let upper = self.value_like(&v);
                Operator::between(v, upper).ok()
            }
            2 => Operator::less_than(v).ok(),
            3 => Operator::less_than_or_equal_to(v).ok(),
            4 => Operator::more_than(v).ok(),
            5 => Operator::more_than_or_equal_to(v).ok(),
            6 => Some(Operator::truthy()),
            7 => Operator::percent(self.below(120) as u32).ok(),
            8 => Operator::percent_range(self.below(110) as u32, self.below(110) as u32).ok(),
            9 => Operator::strip_ignorecase_equals(self.text(10)).ok(),
            10 => {
                let pattern = self.pick(&[
                    "^a",
                    r"^user-\d+$",
                    "(?i)ÉTÉ",
                    r"[\p{Greek}]+",
                    "a|b|",
                    "(unclosed",
                    r"\bx",
                    "(?:a{100}){100}",
                    "^$",
                    "😀+",
                ]);
                Operator::matches(pattern).ok()
            }
            _ => {
                let n = self.below(5);
                let values: Vec<Value<'static>> = (0..n).map(|_| self.value_like(&v)).collect();
                Operator::one_of(values).ok()
            }
        }
    }

    fn switch(&mut self, index: usize) -> Switch {
        let mut name = format!("s{index}");
        if self.chance(3) {
            name.push(':');
        }
        name.push_str(&self.text(6));
        if self.chance(10) {
            name = format!("{name}:{}", self.text(4));
        }
        let mut switch = Switch::new(name)
            .state(self.pick(&[State::Disabled, State::Selective, State::Global]))
            .compounded(self.chance(2))
            .concent(self.chance(2));
        for _ in 0..self.below(5) {
            let Some(op) = self.operator() else { continue };
            let condition = if self.chance(3) {
                Condition::identity(op)
            } else {
                let (any_kind, any_attribute) = (self.text(5), self.text(5));
                let kind = self.pick(&["User".to_owned(), "Request".to_owned(), any_kind]);
                let attribute = self.pick(&["age".to_owned(), "country".to_owned(), any_attribute]);
                match Condition::new(kind, attribute, op) {
                    Ok(c) => c,
                    Err(_) => continue,
                }
            };
            switch = switch.condition(if self.chance(3) {
                condition.negative()
            } else {
                condition
            });
        }
        for _ in 0..self.below(4) {
            switch = switch.allow(self.text(8));
        }
        match self.below(4) {
            0 => {
                switch =
                    switch.variants((0..self.below(4)).map(|_| self.text(5)).collect::<Vec<_>>())
            }
            1 => {
                let weighted: Vec<(String, u32)> = (0..self.below(4))
                    .map(|_| (self.text(5), self.below(5) as u32))
                    .collect();
                switch = switch.weighted_variants(weighted);
            }
            _ => {}
        }
        if self.chance(2) {
            switch = switch.label(self.text(10));
        }
        if self.chance(3) {
            switch = switch.description(self.text(30));
        }
        if self.chance(4) {
            switch = switch.salt(self.text(6));
        }
        switch
    }
}

const SWITCHES: usize = 400;
const SEED: u64 = 0x5EED_0009_0003;

fn generate() -> (Vec<Switch>, Vec<(Switch, Error)>) {
    let mut rng = Rng(SEED);
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for i in 0..SWITCHES {
        let switch = rng.switch(i);
        match switch.validate() {
            Ok(()) => accepted.push(switch),
            Err(e) => refused.push((switch, e)),
        }
    }
    (accepted, refused)
}

fn as_stored(switch: &Switch) -> Switch {
    let mut stored = switch.clone();
    stored.version = 1;
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_switch_round_trips_through_every_storage() {
    let (accepted, refused) = generate();
    eprintln!("{} accepted, {} refused", accepted.len(), refused.len());
    assert!(
        accepted.len() > SWITCHES / 4 && refused.len() > SWITCHES / 10,
        "a useful mix"
    );
    assert!(
        accepted.iter().any(|s| s
            .conditions
            .iter()
            .any(|c| matches!(c.operator, Operator::Matches(_))))
            && accepted
                .iter()
                .any(|s| !s.variants.is_empty() && !s.users.is_empty()),
        "the mix covers patterns, variants and allow-lists"
    );

    // JSON, the format of every storage.
    for switch in &accepted {
        let json = switch.to_json();
        assert_eq!(&Switch::from_json(&json).unwrap(), switch, "{json}");
    }

    // Memory.
    let memory = Manager::in_memory();
    // The file store, read back by a fresh reader.
    let dir = std::env::temp_dir().join(format!("gate-roundtrip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switches.json");
    let file = Manager::builder()
        .storage(FileStorage::open(&path).unwrap())
        .build();
    // Redis, read back by a second manager.
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "roundtrip").await;
    let redis = Manager::builder()
        .redis(&url)
        .prefix(&prefix.name)
        .build()
        .await
        .unwrap();

    // The file store syncs every write to disk: one import writes them all.
    let imported = file.import(accepted.clone()).await.unwrap();
    assert_eq!(imported.len(), accepted.len());
    for switch in &accepted {
        assert_eq!(
            file.switch(&switch.name).unwrap(),
            as_stored(switch),
            "file"
        );
        for (store, manager) in [("memory", &memory), ("redis", &redis)] {
            let stored = manager
                .register(switch.clone())
                .await
                .unwrap_or_else(|e| panic!("{store} refused {switch:?}: {e}"));
            assert_eq!(stored, as_stored(switch), "{store}");
        }
    }
    // The storages themselves, used directly, refuse them too.
    let redis_storage = Manager::builder()
        .redis(&url)
        .prefix(&prefix.name)
        .build_storage()
        .unwrap();
    let file_storage = FileStorage::open(&path).unwrap();
    let memory_storage = gate::MemoryStorage::new();
    for (switch, error) in &refused {
        for (store, manager) in [("memory", &memory), ("file", &file), ("redis", &redis)] {
            let err = manager.register(switch.clone()).await.unwrap_err();
            assert_eq!(&err, error, "{store}: {switch:?}");
            assert!(err.field().is_some(), "{err}");
        }
        let storages: [(&str, &dyn Storage); 3] = [
            ("memory", &memory_storage),
            ("file", &file_storage),
            ("redis", &redis_storage),
        ];
        for (store, storage) in storages {
            let err = storage
                .insert(&SwitchKey::parse(&switch.name), "test", switch.clone())
                .await
                .unwrap_err();
            assert_eq!(&err, error, "{store} storage: {switch:?}");
        }
    }

    let reader = Manager::builder()
        .storage(FileStorage::open(&path).unwrap())
        .build();
    let second = Manager::builder()
        .redis(&url)
        .prefix(&prefix.name)
        .build()
        .await
        .unwrap();
    for (store, manager) in [("memory", &memory), ("file", &reader), ("redis", &second)] {
        assert_eq!(manager.switches().len(), accepted.len(), "{store}");
        for switch in &accepted {
            let read = manager
                .switch(&switch.name)
                .unwrap_or_else(|| panic!("{store} lost {:?}", switch.name));
            assert_eq!(read, as_stored(switch), "{store}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
