//! The plain-text report of `devstack airflow`: import errors first (a DAG that does not
//! parse never shows up anywhere else), then component health, then the DAGs. Pure:
//! file names are mapped by the caller (container path → the user's file).

use std::fmt::Write;

use super::api::{ImportError, Overview};

/// The file as the user knows it (`path` maps it) plus `:line` when the traceback
/// names one.
pub fn error_location(e: &ImportError, path: &dyn Fn(&ImportError) -> String) -> String {
    match e.line() {
        Some(line) => format!("{}:{line}", path(e)),
        None => path(e),
    }
}

/// A timestamp as people read it at a glance: `2026-12-01 23:10:01`, no fraction, no
/// zone (Airflow answers in UTC and says so with `Z` or `+00:00`).
pub fn short_time(t: &str) -> String {
    let t = t.replace('T', " ");
    let cut = t.find(['.', '+', 'Z']).unwrap_or(t.len());
    t[..cut].to_string()
}

pub fn render(overview: &Overview, url: &str, path: &dyn Fn(&ImportError) -> String) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Airflow at {url}");
    if !overview.import_errors.is_empty() {
        let _ = writeln!(
            out,
            "\nDAG IMPORT ERRORS ({}): these files define no DAG until fixed",
            overview.import_errors.len()
        );
        for e in &overview.import_errors {
            let _ = writeln!(out, "  {}", error_location(e, path));
            for line in e.stack_trace.trim_end().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }

    let _ = writeln!(out, "\ncomponents:");
    for c in &overview.health.components {
        let status = c.status.as_deref().unwrap_or("not running");
        let _ = write!(out, "  {:<14} {status}", c.name);
        if let Some(h) = &c.heartbeat {
            let _ = write!(out, " (last heartbeat {} UTC)", short_time(h));
        }
        out.push('\n');
    }

    if overview.dags.is_empty() {
        let _ = writeln!(out, "\nno DAGs yet (put DAG files in the dags folder)");
        return out;
    }
    let width = overview
        .dags
        .iter()
        .map(|(d, _)| d.dag_id.chars().count())
        .max()
        .unwrap_or(0)
        .max("DAG".len());
    let _ = writeln!(out, "\nDAGs ({}):", overview.dags.len());
    let _ = writeln!(
        out,
        "  {:<width$}  {:<8} {:<30} NEXT RUN",
        "DAG", "PAUSED", "LAST RUN"
    );
    for (dag, last) in &overview.dags {
        let last = match last {
            Some(r) => match r.when() {
                Some(t) => format!("{} {}", r.state, short_time(t)),
                None => r.state.clone(),
            },
            None => "-".to_string(),
        };
        let next = dag.next_run().map(short_time).unwrap_or_else(|| "-".into());
        let paused = if dag.is_paused { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "  {:<width$}  {paused:<8} {last:<30} {next}",
            dag.dag_id
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::airflow::api::{Component, Dag, DagRun, Health};

    pub(crate) fn overview() -> Overview {
        let dag = |id: &str, paused: bool, next: Option<&str>| Dag {
            dag_id: id.into(),
            is_paused: paused,
            has_import_errors: false,
            fileloc: format!("/opt/airflow/dags/{id}.py"),
            next_dagrun_run_after: next.map(str::to_string),
            next_dagrun_logical_date: None,
            timetable_summary: None,
            last_parsed_time: None,
        };
        let run = DagRun {
            dag_run_id: "manual__1".into(),
            dag_id: "load_csv".into(),
            state: "success".into(),
            run_after: Some("2026-12-01T23:00:00Z".into()),
            start_date: Some("2026-12-01T23:00:01.5+00:00".into()),
            end_date: None,
            run_type: Some("manual".into()),
        };
        Overview {
            health: Health {
                components: vec![
                    Component {
                        name: "metadatabase".into(),
                        status: Some("healthy".into()),
                        heartbeat: None,
                    },
                    Component {
                        name: "scheduler".into(),
                        status: Some("healthy".into()),
                        heartbeat: Some("2026-12-01T23:20:01.123+00:00".into()),
                    },
                    Component {
                        name: "triggerer".into(),
                        status: None,
                        heartbeat: None,
                    },
                ],
            },
            import_errors: vec![ImportError {
                filename: "bad.py".into(),
                timestamp: None,
                stack_trace: "  File \"/opt/airflow/dags/bad.py\", line 3\n    def broken(:\nSyntaxError: invalid syntax\n".into(),
            }],
            dags: vec![
                (dag("hello", true, Some("2026-12-02T00:00:00Z")), None),
                (dag("load_csv", false, None), Some(run)),
            ],
        }
    }

    #[test]
    fn import_errors_come_first_with_the_users_file_and_line() {
        let text = render(&overview(), "http://127.0.0.1:8080", &|e: &ImportError| {
            e.container_path().replace("/opt/airflow/", "")
        });
        let expected = "\
Airflow at http://127.0.0.1:8080

DAG IMPORT ERRORS (1): these files define no DAG until fixed
  dags/bad.py:3
      File \"/opt/airflow/dags/bad.py\", line 3
        def broken(:
    SyntaxError: invalid syntax

components:
  metadatabase   healthy
  scheduler      healthy (last heartbeat 2026-12-01 23:20:01 UTC)
  triggerer      not running

DAGs (2):
  DAG       PAUSED   LAST RUN                       NEXT RUN
  hello     yes      -                              2026-12-02 00:00:00
  load_csv  no       success 2026-12-01 23:00:01    -
";
        assert_eq!(text, expected);
    }
}
