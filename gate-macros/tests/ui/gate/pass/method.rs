use gate::{gate, Manager};

struct Service {
    switches: Manager,
    count: u32,
}

impl Service {
    #[gate("beta", manager = self.switches)]
    fn by_ref(&self) -> Option<u32> {
        Some(self.count)
    }

    #[gate("beta", manager = self.switches, otherwise = ())]
    fn by_mut(&mut self) {
        self.count += 1;
    }

    #[gate("beta", manager = self.switches.clone(), otherwise = self.count)]
    fn by_value(self) -> u32 {
        self.count
    }

    #[gate("beta", arg = user, manager = self.switches)]
    async fn async_method(&self, user: u64) -> Option<u64> {
        Some(user)
    }
}

trait Greeter {
    fn greet(&self) -> Option<String>;
}

impl Greeter for Service {
    #[gate("greeting", manager = self.switches)]
    fn greet(&self) -> Option<String> {
        Some("hi".into())
    }
}

fn main() {
    let mut s = Service { switches: Manager::in_memory(), count: 0 };
    assert_eq!(s.by_ref(), None);
    s.by_mut();
    assert_eq!(s.greet(), None);
    let _ = s.async_method(1);
    assert_eq!(s.by_value(), 0);
}
