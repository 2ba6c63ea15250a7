//! One masking rule for every text devstack shows: CLI messages and progress, the main
//! error printer, TUI notices and panes. Owns the [`Masker`] (the stack's secret values
//! plus URL passwords) and the process's current one; it decides nothing about which
//! values are secret (the loader does, see `stack::SecretValues`).
//!
//! Text that leaves devstack passes through here at the boundary (the printer in
//! `main.rs`, `commands`' stderr lines, `App::handle` for the TUI), so an error the
//! daemon words with a value from the file — `exec: "/nonexistent-hunter2"` — is masked
//! like `config` masks it. Container log lines are the container's own output, shown as
//! `docker logs` shows them, and are not rewritten.

use std::sync::RwLock;

use crate::model::{ContainerInfo, EngineEvent, Progress};
use crate::stack::{SecretValues, Stack, mask_url_passwords};

/// Masks a stack's secret values and any URL password in text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: SecretValues,
}

impl Masker {
    pub fn for_stack(stack: &Stack) -> Self {
        Self {
            secrets: stack.settings.secret_values.clone(),
        }
    }

    pub fn text(&self, text: &str) -> String {
        self.secrets.mask(text)
    }

    /// The event with every text it carries masked (numbers and names of ours as they are).
    pub fn event(&self, event: EngineEvent) -> EngineEvent {
        let m = |s: String| self.text(&s);
        match event {
            EngineEvent::Progress { service, progress } => EngineEvent::Progress {
                service,
                progress: self.progress(progress),
            },
            EngineEvent::Container(info) => EngineEvent::Container(self.container(info)),
            EngineEvent::HealthLog {
                service,
                container,
                failing_streak,
                probe,
            } => EngineEvent::HealthLog {
                service,
                container,
                failing_streak,
                probe: probe.map(|p| crate::model::ProbeResult {
                    exit_code: p.exit_code,
                    output: m(p.output),
                }),
            },
            EngineEvent::UpFinished { error } => EngineEvent::UpFinished {
                error: error.map(m),
            },
            EngineEvent::DaemonLost { reason } => EngineEvent::DaemonLost { reason: m(reason) },
            EngineEvent::Notice { level, message } => EngineEvent::Notice {
                level,
                message: m(message),
            },
            e @ (EngineEvent::ContainerRemoved { .. }
            | EngineEvent::Stats { .. }
            | EngineEvent::DaemonBack) => e,
        }
    }

    pub fn progress(&self, progress: Progress) -> Progress {
        let m = |s: String| self.text(&s);
        match progress {
            Progress::Building { step } => Progress::Building { step: m(step) },
            Progress::Waiting {
                on,
                condition,
                detail,
            } => Progress::Waiting {
                on,
                condition,
                detail: detail.map(m),
            },
            Progress::WaitingHealthy {
                probes,
                retries,
                last_output,
            } => Progress::WaitingHealthy {
                probes,
                retries,
                last_output: last_output.map(m),
            },
            Progress::Failed { reason } => Progress::Failed { reason: m(reason) },
            Progress::Slow { reason } => Progress::Slow { reason: m(reason) },
            p @ (Progress::Pulling { .. }
            | Progress::Removing
            | Progress::Creating
            | Progress::Starting
            | Progress::Done
            | Progress::Ready(_)) => p,
        }
    }

    fn container(&self, mut info: ContainerInfo) -> ContainerInfo {
        info.image = self.text(&info.image);
        info
    }
}

/// The masker of the stack this process loaded (set by the CLI once the stack is loaded);
/// before that, only URL passwords are masked.
static CURRENT: RwLock<Option<Masker>> = RwLock::new(None);

/// Makes `masker` the one [`text`] uses.
pub fn install(masker: Masker) {
    // A poisoned lock only means a panic elsewhere; the value is still a whole Masker.
    let mut current = CURRENT.write().unwrap_or_else(|e| e.into_inner());
    *current = Some(masker);
}

/// `text` masked by the installed masker (URL passwords only when none is installed).
pub fn text(text: &str) -> String {
    let current = CURRENT.read().unwrap_or_else(|e| e.into_inner());
    match current.as_ref() {
        Some(m) => m.text(text),
        None => mask_url_passwords(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NoticeLevel, ServiceName};

    fn masker(values: &[&str]) -> Masker {
        let mut secrets = SecretValues::default();
        for v in values {
            secrets.insert(v);
        }
        Masker { secrets }
    }

    #[test]
    fn notices_progress_and_health_output_are_masked() {
        let m = masker(&["hunter22"]);
        let e = m.event(EngineEvent::Notice {
            level: NoticeLevel::Error,
            message: "exec: \"/nonexistent-hunter22\": no such file".into(),
        });
        assert_eq!(
            e,
            EngineEvent::Notice {
                level: NoticeLevel::Error,
                message: "exec: \"/nonexistent-********\": no such file".into(),
            }
        );
        let e = m.event(EngineEvent::Progress {
            service: ServiceName::new("web"),
            progress: Progress::Failed {
                reason: "user hunter22 not found".into(),
            },
        });
        assert!(!format!("{e:?}").contains("hunter22"), "{e:?}");
        let e = m.event(EngineEvent::HealthLog {
            service: ServiceName::new("web"),
            container: crate::model::ContainerId("c".into()),
            failing_streak: 1,
            probe: Some(crate::model::ProbeResult {
                exit_code: 126,
                output: "OCI runtime exec failed: /check-hunter22".into(),
            }),
        });
        assert!(!format!("{e:?}").contains("hunter22"), "{e:?}");
        let e = m.event(EngineEvent::UpFinished {
            error: Some("user hunter22 not found".into()),
        });
        assert!(!format!("{e:?}").contains("hunter22"), "{e:?}");
    }

    #[test]
    fn url_passwords_are_masked_whoever_wrote_them() {
        let m = Masker::default();
        assert_eq!(
            m.text("cannot reach postgres://app:pw-from-code@db:5432/app"),
            "cannot reach postgres://app:********@db:5432/app"
        );
        assert_eq!(
            m.text("redis://:s3cret@cache:6379/0 and http://host:8080/x@y"),
            "redis://:********@cache:6379/0 and http://host:8080/x@y"
        );
    }
}
