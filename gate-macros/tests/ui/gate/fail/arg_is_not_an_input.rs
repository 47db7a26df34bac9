use gate::gate;

struct Cart {
    items: usize,
}

#[gate("checkout", arg = cart)]
fn checkout(cart: &Cart) -> Option<usize> {
    Some(cart.items)
}

fn main() {
    let _ = checkout(&Cart { items: 1 });
}
