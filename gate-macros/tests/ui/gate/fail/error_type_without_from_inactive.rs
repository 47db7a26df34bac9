use gate::gate;

#[derive(Debug)]
struct AppError;

#[gate("beta")]
fn f() -> Result<u8, AppError> {
    Ok(1)
}

fn main() {
    let _ = f();
}
