//! What Airflow 3's REST API v2 answers, parsed from its JSON without I/O. Fields we do
//! not show are ignored, and fields newer or older releases lack default, so one
//! release's extra key never breaks the report.

use serde::Deserialize;

/// One component of `/api/v2/monitor/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// `metadatabase`, `scheduler`, `triggerer`, `dag_processor`.
    pub name: String,
    /// `healthy`, `unhealthy`, or `None` when Airflow reports nothing (never started).
    pub status: Option<String>,
    pub heartbeat: Option<String>,
}

impl Component {
    pub fn is_healthy(&self) -> bool {
        self.status.as_deref() == Some("healthy")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub components: Vec<Component>,
}

/// The order people read components in; others follow by name.
const COMPONENTS: [&str; 4] = ["metadatabase", "scheduler", "triggerer", "dag_processor"];

pub fn parse_health(body: &[u8]) -> Result<Health, serde_json::Error> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)?;
    let mut names: Vec<&String> = map.keys().collect();
    let rank = |n: &str| {
        COMPONENTS
            .iter()
            .position(|c| *c == n)
            .unwrap_or(COMPONENTS.len())
    };
    names.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
    let components = names
        .into_iter()
        .map(|name| {
            let v = &map[name];
            let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_string);
            let heartbeat = v.as_object().and_then(|o| {
                o.iter()
                    .find(|(k, _)| k.starts_with("latest_") && k.ends_with("heartbeat"))
                    .and_then(|(_, h)| h.as_str())
                    .map(str::to_string)
            });
            Component {
                name: name.clone(),
                status: text("status"),
                heartbeat,
            }
        })
        .collect();
    Ok(Health { components })
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dag {
    pub dag_id: String,
    #[serde(default)]
    pub is_paused: bool,
    #[serde(default)]
    pub has_import_errors: bool,
    #[serde(default)]
    pub fileloc: String,
    /// When the next run is due (Airflow 3); `next_dagrun_logical_date` is the fallback.
    #[serde(default)]
    pub next_dagrun_run_after: Option<String>,
    #[serde(default)]
    pub next_dagrun_logical_date: Option<String>,
    #[serde(default)]
    pub timetable_summary: Option<String>,
    /// When the dag-processor last parsed the DAG's file (RFC 3339).
    #[serde(default)]
    pub last_parsed_time: Option<String>,
}

impl Dag {
    pub fn next_run(&self) -> Option<&str> {
        self.next_dagrun_run_after
            .as_deref()
            .or(self.next_dagrun_logical_date.as_deref())
    }
}

#[derive(Deserialize)]
struct Dags {
    dags: Vec<Dag>,
}

pub fn parse_dags(body: &[u8]) -> Result<Vec<Dag>, serde_json::Error> {
    Ok(serde_json::from_slice::<Dags>(body)?.dags)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DagRun {
    pub dag_run_id: String,
    pub dag_id: String,
    /// `queued`, `running`, `success`, `failed`.
    pub state: String,
    #[serde(default)]
    pub run_after: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub run_type: Option<String>,
}

impl DagRun {
    /// The time a person knows the run by: when it started, else when it was due.
    pub fn when(&self) -> Option<&str> {
        self.start_date.as_deref().or(self.run_after.as_deref())
    }
}

#[derive(Deserialize)]
struct DagRuns {
    dag_runs: Vec<DagRun>,
}

pub fn parse_dag_runs(body: &[u8]) -> Result<Vec<DagRun>, serde_json::Error> {
    Ok(serde_json::from_slice::<DagRuns>(body)?.dag_runs)
}

pub fn parse_dag_run(body: &[u8]) -> Result<DagRun, serde_json::Error> {
    serde_json::from_slice(body)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImportError {
    /// Relative to its DAG bundle in Airflow 3 (`bad.py`), absolute in older releases.
    pub filename: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub stack_trace: String,
}

impl ImportError {
    /// The line the error is at: the last `File "<this file>", line N` of the
    /// traceback (the innermost frame in the DAG file), else a `line N` on its own
    /// (a `SyntaxError` names the file in a frame of its own).
    pub fn line(&self) -> Option<u32> {
        let in_frame = self
            .frames()
            .filter(|(path, _)| self.is_this_file(path))
            .filter_map(|(_, line)| line)
            .last();
        in_frame.or_else(|| self.frames().filter_map(|(_, line)| line).last())
    }

    /// The file's path inside the container: the frame of the traceback that names it
    /// (Airflow 3 reports the path relative to the bundle), else the name as given.
    pub fn container_path(&self) -> &str {
        self.frames()
            .map(|(path, _)| path)
            .find(|p| p.starts_with('/') && self.is_this_file(p))
            .unwrap_or(&self.filename)
    }

    fn is_this_file(&self, path: &str) -> bool {
        path == self.filename
            || path
                .strip_suffix(self.filename.as_str())
                .is_some_and(|head| head.ends_with('/'))
    }

    /// `File "<path>", line N` frames of the traceback, in order.
    fn frames(&self) -> impl Iterator<Item = (&str, Option<u32>)> {
        const OPEN: &str = "File \"";
        self.stack_trace.match_indices(OPEN).filter_map(|(i, _)| {
            let rest = &self.stack_trace[i + OPEN.len()..];
            let end = rest.find('"')?;
            let path = &rest[..end];
            let line = rest[end..]
                .strip_prefix("\", line ")
                .and_then(leading_number);
            Some((path, line))
        })
    }
}

fn leading_number(s: &str) -> Option<u32> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[derive(Deserialize)]
struct ImportErrors {
    import_errors: Vec<ImportError>,
}

pub fn parse_import_errors(body: &[u8]) -> Result<Vec<ImportError>, serde_json::Error> {
    Ok(serde_json::from_slice::<ImportErrors>(body)?.import_errors)
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskInstance {
    pub task_id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub try_number: u32,
    #[serde(default = "unmapped")]
    pub map_index: i64,
}

fn unmapped() -> i64 {
    -1
}

#[derive(Deserialize)]
struct TaskInstances {
    task_instances: Vec<TaskInstance>,
}

pub fn parse_task_instances(body: &[u8]) -> Result<Vec<TaskInstance>, serde_json::Error> {
    Ok(serde_json::from_slice::<TaskInstances>(body)?.task_instances)
}

/// The text of a task's log: Airflow 3 answers `{"content": [...]}` where each entry is
/// a structured event (`{"event": "...", "timestamp": ..., "level": ...}`) or a string.
pub fn parse_task_log(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    let content = v.get("content").cloned().unwrap_or(serde_json::Value::Null);
    let lines = match content {
        serde_json::Value::String(s) => s.lines().map(str::to_string).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Object(o) => {
                    let text = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or("");
                    let mut line = String::new();
                    for part in [text("timestamp"), text("level")] {
                        if !part.is_empty() {
                            line.push_str(part);
                            line.push(' ');
                        }
                    }
                    line.push_str(text("event"));
                    line
                }
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(lines)
}

/// Everything the report and the view show, fetched together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overview {
    pub health: Health,
    pub import_errors: Vec<ImportError>,
    /// Each DAG with its latest run, by DAG id.
    pub dags: Vec<(Dag, Option<DagRun>)>,
}

impl Overview {
    /// Joins DAGs with the latest of `runs` (any order) for each.
    pub fn join(
        health: Health,
        import_errors: Vec<ImportError>,
        dags: Vec<Dag>,
        runs: Vec<DagRun>,
    ) -> Self {
        let mut dags: Vec<(Dag, Option<DagRun>)> = dags
            .into_iter()
            .map(|d| {
                let last = runs
                    .iter()
                    .filter(|r| r.dag_id == d.dag_id)
                    .max_by(|a, b| a.run_after.cmp(&b.run_after))
                    .cloned();
                (d, last)
            })
            .collect();
        dags.sort_by(|a, b| a.0.dag_id.cmp(&b.0.dag_id));
        Overview {
            health,
            import_errors,
            dags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from apache-airflow 3.3.2 (the stand-in image), trimmed; the second
    // import error has the absolute file name of earlier releases.
    const HEALTH: &str = r#"{"metadatabase":{"status":"healthy"},"scheduler":{"status":"healthy","latest_scheduler_heartbeat":"2026-12-01T23:20:01.123456+00:00"},"triggerer":{"status":null,"latest_triggerer_heartbeat":null},"dag_processor":{"status":"healthy","latest_dag_processor_heartbeat":"2026-12-01T23:20:00.5+00:00"}}"#;
    const DAGS: &str = r#"{"dags":[{"dag_id":"hello","dag_display_name":"hello","is_paused":true,"is_stale":false,"last_parsed_time":"2026-12-01T23:19:50Z","fileloc":"/opt/airflow/dags/hello.py","relative_fileloc":"hello.py","timetable_summary":"@daily","tags":[],"has_import_errors":false,"next_dagrun_logical_date":"2026-12-01T00:00:00Z","next_dagrun_run_after":"2026-12-02T00:00:00Z","owners":["airflow"]},{"dag_id":"adhoc","is_paused":false,"fileloc":"/opt/airflow/dags/adhoc.py","has_import_errors":false,"next_dagrun_logical_date":null,"next_dagrun_run_after":null}],"total_entries":2}"#;
    const RUNS: &str = r#"{"dag_runs":[{"dag_run_id":"manual__2026-12-01T23:00:00+00:00","dag_id":"hello","logical_date":null,"queued_at":"2026-12-01T23:00:00Z","start_date":"2026-12-01T23:00:01Z","end_date":"2026-12-01T23:00:09Z","duration":8.0,"run_after":"2026-12-01T23:00:00Z","run_type":"manual","state":"success","conf":{}},{"dag_run_id":"manual__2026-12-01T23:10:00+00:00","dag_id":"hello","start_date":"2026-12-01T23:10:01Z","end_date":"2026-12-01T23:10:05Z","run_after":"2026-12-01T23:10:00Z","run_type":"manual","state":"failed"}],"total_entries":2}"#;
    const IMPORT_ERRORS: &str = r#"{"import_errors":[{"import_error_id":1,"timestamp":"2026-12-01T23:19:40Z","filename":"bad.py","bundle_name":"dags-folder","stack_trace":"Traceback (most recent call last):\n  File \"<frozen importlib._bootstrap_external>\", line 936, in exec_module\n  File \"<frozen importlib._bootstrap_external>\", line 1074, in get_code\n  File \"<frozen importlib._bootstrap_external>\", line 1004, in source_to_code\n  File \"<frozen importlib._bootstrap>\", line 241, in _call_with_frames_removed\n  File \"/opt/airflow/dags/bad.py\", line 3\n    def broken(:\n               ^\nSyntaxError: invalid syntax\n"},{"import_error_id":2,"timestamp":"2026-12-01T23:19:41Z","filename":"/opt/airflow/dags/boom.py","bundle_name":"dags-folder","stack_trace":"Traceback (most recent call last):\n  File \"/opt/airflow/dags/boom.py\", line 7, in <module>\n    helper()\n  File \"/opt/airflow/dags/boom.py\", line 4, in helper\n    raise ValueError('no')\nValueError: no\n"}],"total_entries":2}"#;
    const TASKS: &str = r#"{"task_instances":[{"id":"0193","task_id":"extract","dag_id":"hello","dag_run_id":"r1","map_index":-1,"start_date":"2026-12-01T23:00:01Z","end_date":"2026-12-01T23:00:03Z","duration":2.5,"state":"success","try_number":1,"max_tries":0},{"task_id":"load","dag_id":"hello","dag_run_id":"r1","map_index":-1,"duration":null,"state":null,"try_number":0}],"total_entries":2}"#;

    #[test]
    fn health_lists_components_in_reading_order_with_heartbeats() {
        let h = parse_health(HEALTH.as_bytes()).unwrap();
        let names: Vec<&str> = h.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["metadatabase", "scheduler", "triggerer", "dag_processor"]
        );
        assert!(h.components[0].is_healthy() && h.components[0].heartbeat.is_none());
        assert_eq!(
            h.components[1].heartbeat.as_deref(),
            Some("2026-12-01T23:20:01.123456+00:00")
        );
        assert!(!h.components[2].is_healthy());
        assert_eq!(h.components[2].status, None);
    }

    #[test]
    fn dags_runs_and_the_latest_run_of_each() {
        let dags = parse_dags(DAGS.as_bytes()).unwrap();
        assert_eq!(dags[0].next_run(), Some("2026-12-02T00:00:00Z"));
        assert_eq!(dags[1].next_run(), None);
        let runs = parse_dag_runs(RUNS.as_bytes()).unwrap();
        let o = Overview::join(Health::default(), vec![], dags, runs);
        assert_eq!(o.dags[0].0.dag_id, "adhoc");
        assert!(o.dags[0].1.is_none());
        let last = o.dags[1].1.as_ref().unwrap();
        assert_eq!(
            (last.state.as_str(), last.when()),
            ("failed", Some("2026-12-01T23:10:01Z"))
        );
    }

    #[test]
    fn import_errors_carry_the_line_of_the_dag_file() {
        let errors = parse_import_errors(IMPORT_ERRORS.as_bytes()).unwrap();
        // Airflow 3 names the file relative to its bundle; the traceback has the path.
        assert_eq!(errors[0].filename, "bad.py");
        assert_eq!(errors[0].line(), Some(3));
        assert_eq!(errors[0].container_path(), "/opt/airflow/dags/bad.py");
        assert_eq!(errors[1].container_path(), "/opt/airflow/dags/boom.py");
        // The innermost frame in the file, not the import line.
        assert_eq!(errors[1].line(), Some(4));
        let none = ImportError {
            filename: "x.py".into(),
            timestamp: None,
            stack_trace: "ModuleNotFoundError: No module named 'pandas'".into(),
        };
        assert_eq!(none.line(), None);
    }

    #[test]
    fn task_instances_and_logs() {
        let tasks = parse_task_instances(TASKS.as_bytes()).unwrap();
        assert_eq!(tasks[0].duration, Some(2.5));
        assert_eq!((tasks[1].state.as_deref(), tasks[1].map_index), (None, -1));
        let log = parse_task_log(
            br#"{"content":[{"timestamp":"2026-12-01T23:00:01Z","level":"info","event":"hello"},"plain"],"continuation_token":null}"#,
        )
        .unwrap();
        assert_eq!(log, ["2026-12-01T23:00:01Z info hello", "plain"]);
    }

    #[test]
    fn a_body_that_is_not_the_shape_is_an_error() {
        assert!(parse_dags(b"{\"detail\":\"Not authenticated\"}").is_err());
        assert!(parse_health(b"<html>").is_err());
    }
}
