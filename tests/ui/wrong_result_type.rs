use huey_core::prelude::*;

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

async fn read(huey: &Huey) -> Result<(), Box<dyn std::error::Error>> {
    let mut result = add::enqueue(huey, 1, 2).await?;
    let text: Option<String> = result.get().await?;
    let _ = text;
    Ok(())
}

fn main() {}
