//! `glimvid-audit DIR`: the call audit's verdict over a whole test suite
//! (`GLIMVID_AUDIT_DIR` of the runs). Fails when any call was refused, when
//! nothing was recorded (the audit did not run), and prints, per function,
//! what its role grants that no call used.

use std::process::ExitCode;

use anyhow::{Context, bail};

fn main() -> ExitCode {
    match audit() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("glimvid-audit: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn audit() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .context("usage: glimvid-audit DIR (the GLIMVID_AUDIT_DIR of the test runs)")?;
    let summary = glimvid_runner::audit::summarise(std::path::Path::new(&dir))?;
    println!(
        "call audit: {} distinct calls by {} functions",
        summary.calls,
        summary.used.len()
    );
    println!("granted by the template but never used, per function:");
    for (function, unused) in &summary.unused {
        if unused.is_empty() {
            println!("  {function}: (none)");
        } else {
            println!("  {function}:");
            for grant in unused {
                println!("    {grant}");
            }
        }
    }
    for (function, actions) in &summary.used {
        println!(
            "used by {function}: {}",
            actions.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    if summary.calls == 0 {
        bail!("the audit recorded no calls: was GLIMVID_AUDIT_DIR set for the tests?");
    }
    if !summary.refused.is_empty() {
        for (function, action, resource) in &summary.refused {
            eprintln!("NOT GRANTED: {function} called {action} on {resource}");
        }
        bail!(
            "{} calls were not granted by their function's role in infra/template.yaml",
            summary.refused.len()
        );
    }
    println!("every call was granted by its function's role");
    Ok(())
}
