use gate::gate;

#[gate("beta")]
async fn from_context() -> Option<&'static str> {
    Some("on")
}

#[gate("beta", arg = user, otherwise = String::new())]
async fn with_arg(user: &str) -> String {
    tokio::task::yield_now().await;
    user.to_owned()
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(gate::scope("alice", from_context()).await, None);
    assert_eq!(assert_send(with_arg("alice")).await, "");
}
