//! Per artifact: its size, and its cold init as Lambda reports it (exec to
//! the first Runtime API `/next`), median of N boots with its template
//! environment and role. Then what one warm `GET /videos/{id}` costs in AWS
//! calls. Run with `./scripts/bench`, which builds the artifacts for this
//! host's architecture so the times are native.

use std::time::Duration;

use glimvid_tests::artifacts;
use glimvid_tests::runtime_api::elf_machine;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let boots: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let mut binaries: Vec<String> = glimvid_tests::harness()
        .functions
        .values()
        .map(|f| f.spec.binary.clone())
        .collect();
    binaries.sort();
    println!(
        "{:<18} {:>9} {:>12} {:>10} {:>10}   ({} boots each, {:?})",
        "artifact",
        "size MB",
        "init median",
        "init min",
        "init max",
        boots,
        elf_machine(&artifacts::bootstrap(&binaries[0]))?
    );
    for binary in &binaries {
        let size = std::fs::metadata(artifacts::bootstrap(binary))?.len();
        let mut inits = Vec::new();
        for _ in 0..boots {
            let sandbox = artifacts::boot(binary).await?;
            inits.push(sandbox.init.unwrap_or_default());
            let _ = std::fs::remove_file(&sandbox.log);
            sandbox.stop().await;
        }
        let (min, max) = (
            *inits.iter().min().unwrap_or(&Duration::ZERO),
            *inits.iter().max().unwrap_or(&Duration::ZERO),
        );
        println!(
            "{binary:<18} {:>9.2} {:>9.2} ms {:>7.2} ms {:>7.2} ms",
            size as f64 / 1e6,
            median(inits).as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
