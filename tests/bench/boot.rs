//! Per artifact, its size; per function, its cold init as Lambda reports it
//! (exec to the first Runtime API `/next`), median of N boots with its
//! template environment and role. Run with `./scripts/bench`, which builds
//! the artifacts for this host's architecture so the times are native.

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
    let mut functions: Vec<(String, String)> = glimvid_tests::harness()
        .functions
        .values()
        .map(|f| (f.spec.binary.clone(), f.spec.handler.clone()))
        .collect();
    functions.sort();
    let machine = elf_machine(&artifacts::bootstrap(&functions[0].0))?;
    println!(
        "{:<9} {:>8}  {:<16} {:>11} {:>9} {:>9}   ({boots} boots each, {machine:?})",
        "artifact", "size MB", "function", "init median", "min", "max",
    );
    let mut last = String::new();
    for (binary, handler) in &functions {
        let size = if *binary == last {
            String::new()
        } else {
            let bytes = std::fs::metadata(artifacts::bootstrap(binary))?.len();
            format!("{:.2}", bytes as f64 / 1e6)
        };
        last.clone_from(binary);
        let mut inits = Vec::new();
        for _ in 0..boots {
            let sandbox = artifacts::boot(handler).await?;
            inits.push(sandbox.init.unwrap_or_default());
            let _ = std::fs::remove_file(&sandbox.log);
            sandbox.stop().await;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (min, max) = (
            inits.iter().copied().min().unwrap_or_default(),
            inits.iter().copied().max().unwrap_or_default(),
        );
        println!(
            "{binary:<9} {size:>8}  {handler:<16} {:>8.2} ms {:>6.2} ms {:>6.2} ms",
            ms(median(inits)),
            ms(min),
            ms(max),
        );
    }

    // What one warm GET /videos/{id} costs in AWS calls (the call audit
    // counts each function's calls in process).
    let (me, _) = glimvid_tests::Api::new().signed_up().await;
    let created = me
        .post(
            "/videos",
            serde_json::json!({"title": "Lamp", "description": "A brass desk lamp.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/videos/{id}");
    me.get(&path).await;
    let auditor = &glimvid_tests::harness().auditor;
    let before = auditor.calls("VideosGetFunction").len();
    let reply = me.get(&path).await;
    let calls = auditor.calls("VideosGetFunction")[before..].to_vec();
    println!(
        "warm GET /videos/{{id}} ({}): {} AWS calls: {}",
        reply.status,
        calls.len(),
        calls.join(", ")
    );
    Ok(())
}
