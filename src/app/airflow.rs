//! The Airflow view's requests carried out: log in to the stack's api-server, ask or
//! change, answer the UI with an `AirflowAnswer`. Each request is a background task; the
//! view sends at most one refresh at a time and none while hidden.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::airflow::{Client, Overview};
use crate::engine::Engine;
use crate::ops;
use crate::stack::Stack;
use crate::tui::airflow::{AirflowAnswer, AirflowRequest};

/// Import errors name container paths; the view shows the user's own files.
fn with_user_paths(stack: &Stack, mut o: Overview) -> Overview {
    for e in &mut o.import_errors {
        e.filename = ops::airflow::display_path(stack, e);
    }
    o
}

async fn client(engine: &Engine, stack: &Stack) -> Result<Client, String> {
    ops::airflow::connect(engine, stack)
        .await
        .map_err(|e| e.to_string())
}

/// Each task's log under a heading line, in the order the run lists them.
async fn run_logs(
    c: &Client,
    dag_id: &str,
    run_id: &str,
    tasks: &[(String, u32, i64)],
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (task_id, try_number, map_index) in tasks {
        out.push(format!("── {task_id} (try {try_number}) · run {run_id} ──"));
        if *try_number == 0 {
            out.push("(not run yet)".to_string());
            continue;
        }
        let ti = crate::airflow::TaskInstance {
            task_id: task_id.clone(),
            state: None,
            duration: None,
            try_number: *try_number,
            map_index: *map_index,
        };
        out.extend(
            c.task_log(dag_id, run_id, &ti)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

pub async fn perform(
    engine: Engine,
    stack: Arc<Stack>,
    request: AirflowRequest,
    tx: mpsc::Sender<AirflowAnswer>,
) {
    let answer = match request {
        AirflowRequest::Refresh => {
            let (url, result) = match client(&engine, &stack).await {
                Ok(c) => (
                    c.base_url(),
                    c.overview()
                        .await
                        .map(|o| with_user_paths(&stack, o))
                        .map_err(|e| e.to_string()),
                ),
                Err(e) => (String::new(), Err(e)),
            };
            AirflowAnswer::Overview { url, result }
        }
        AirflowRequest::RunLogs {
            dag_id,
            run_id,
            tasks,
        } => {
            let result = match client(&engine, &stack).await {
                Ok(c) => run_logs(&c, &dag_id, &run_id, &tasks).await,
                Err(e) => Err(e),
            };
            AirflowAnswer::RunLogs {
                source: format!("airflow:{dag_id}"),
                result,
            }
        }
        AirflowRequest::Tasks { dag_id, run_id } => {
            let result = match client(&engine, &stack).await {
                Ok(c) => c
                    .task_instances(&dag_id, &run_id)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            AirflowAnswer::Tasks {
                dag_id,
                run_id,
                result,
            }
        }
        AirflowRequest::SetPaused { dag_id, paused } => {
            let what = if paused {
                format!("paused '{dag_id}'")
            } else {
                format!("unpaused '{dag_id}'")
            };
            let result = match client(&engine, &stack).await {
                Ok(c) => c
                    .set_paused(&dag_id, paused)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            AirflowAnswer::Done { what, result }
        }
        AirflowRequest::Trigger { dag_id, conf } => {
            // Checked to be a JSON object when typed; a parse failure here sends none.
            let conf = conf.and_then(|c| serde_json::from_str(&c).ok());
            let result = match client(&engine, &stack).await {
                Ok(c) => c
                    .trigger(&dag_id, conf)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            AirflowAnswer::Done {
                what: format!("triggered '{dag_id}'"),
                result,
            }
        }
        AirflowRequest::ClearFailed { dag_id, run_id } => {
            let result = match client(&engine, &stack).await {
                Ok(c) => c
                    .clear_failed(&dag_id, &run_id)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            AirflowAnswer::Done {
                what: format!("cleared the failed tasks of '{dag_id}' run '{run_id}'"),
                result,
            }
        }
    };
    let _ = tx.send(answer).await;
}
