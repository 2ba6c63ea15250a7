//! `devstack doctor`: prints the findings of `ops::doctor` (plain or `--json`) and, when
//! a daemon answers, built images' layers and containers' users. Exit code 1 on an error.

use std::io::Write;

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::doctor::{Finding, has_error};
use crate::engine::Engine;
use crate::ops::Error;
use crate::ops::doctor::{self, Report};

pub async fn doctor(global: &GlobalArgs, args: &DoctorArgs) -> Result<u8, Error> {
    let stack = super::load_stack(global)?;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let mut report = Report {
        findings: doctor::analyse(&stack, home.as_deref())?,
        ..Report::default()
    };
    if !args.no_daemon {
        // The file checks stand on their own (CI often has no daemon); the image part is
        // an addition, so a missing daemon is said, not fatal.
        match Engine::connect().await {
            Ok(engine) => {
                let (images, containers) = doctor::inspect(&engine, &stack).await?;
                report.images = images;
                report.containers = containers;
            }
            Err(e) => report.daemon_skipped = Some(e.to_string()),
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::other)?;
        writeln!(out)?;
    } else {
        print_text(&mut out, &report)?;
    }
    out.flush()?;
    Ok(u8::from(has_error(&report.findings)))
}

fn print_text(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for f in &report.findings {
        print_finding(out, f)?;
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.level == crate::doctor::Level::Error)
        .count();
    if report.findings.is_empty() {
        writeln!(out, "no findings")?;
    } else {
        writeln!(
            out,
            "{} finding(s), {errors} error(s)",
            report.findings.len()
        )?;
    }
    for image in &report.images {
        writeln!(
            out,
            "\nimage '{}': {} in {} layers; biggest:",
            image.reference,
            human(image.size),
            image.layers.len()
        )?;
        for layer in doctor::biggest_layers(image) {
            writeln!(
                out,
                "  {:>9}  {}",
                human(layer.size),
                short(&layer.created_by)
            )?;
        }
    }
    if !report.containers.is_empty() {
        writeln!(out, "\ncontainers:")?;
        for c in &report.containers {
            let user = if c.user.is_empty() {
                "root (image default)"
            } else {
                &c.user
            };
            let flag = if c.root { "  <- runs as root" } else { "" };
            writeln!(out, "  {:<20} {user}{flag}", c.service.as_str())?;
        }
    }
    if let Some(why) = &report.daemon_skipped {
        writeln!(out, "\n(image and container checks skipped: {why})")?;
    }
    Ok(())
}

fn print_finding(out: &mut impl Write, f: &Finding) -> std::io::Result<()> {
    let service = f
        .service
        .as_deref()
        .map(|s| format!(" [{s}]"))
        .unwrap_or_default();
    writeln!(
        out,
        "{}: {}: {}{service} ({})\n  fix: {}",
        f.location(),
        f.level.as_str(),
        f.message,
        f.check.id(),
        f.fix
    )
}

/// `123.4 MB`-style sizes (decimal units, as `docker images` prints them).
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A history entry's instruction on one line: BuildKit's `/bin/sh -c #(nop) ` prefix cut,
/// long commands shortened.
fn short(created_by: &str) -> String {
    let s = created_by
        .trim_start_matches("/bin/sh -c #(nop) ")
        .trim_start_matches("/bin/sh -c ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.chars().count() > 100 {
        let cut: String = s.chars().take(99).collect();
        format!("{cut}…")
    } else {
        s
    }
}
