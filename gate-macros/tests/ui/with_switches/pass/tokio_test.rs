#[gate::with_switches(cool_feature = true)]
#[tokio::test]
async fn above() {
    tokio::task::yield_now().await;
    assert!(gate::default().active("cool_feature", ()));
}

#[tokio::test(flavor = "multi_thread")]
#[gate::with_switches(cool_feature = true, "movies:star_wars" = false, manager = gate::default())]
async fn below() {
    assert!(gate::default().active("cool_feature", ()));
}

#[test]
#[gate::with_switches(r#type = true, manager = true_manager())]
fn sync() {}

fn true_manager() -> &'static gate::Manager {
    gate::default()
}

fn main() {}
