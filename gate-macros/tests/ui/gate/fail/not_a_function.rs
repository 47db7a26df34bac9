use gate::gate;

#[gate("beta")]
struct Beta;

fn main() {}
