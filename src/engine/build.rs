//! Building a service's image from its `build:` through the daemon's classic builder
//! (`POST /build`), streaming each step as progress.
//!
//! Owns the build request (context tar, tag, args, target, labels) and turning the
//! builder's output into progress events and, on failure, an error that shows the
//! failing step and its last output lines. It must not decide *when* to build (that is
//! `plan::diff` or the watcher) nor touch containers: a failed build leaves whatever
//! runs untouched.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use bollard::query_parameters::{
    BuildImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{BuildFailure, Engine, Error};
use crate::model::{EngineEvent, Progress, ProjectName, ServiceName, labels};
use crate::stack::Stack;

/// Output lines of the failing step shown in a build error.
const FAILURE_LINES: usize = 20;
/// Lines of one step kept while it runs; a noisy step (a `pip install`) keeps its tail.
const KEPT_LINES: usize = 200;

/// Size of the pieces the context is sent in, and how many may wait for the connection:
/// what a build holds of its context at once.
const CHUNK_BYTES: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// The blocking side of a streamed build context: collects the tar's bytes and hands
/// them to the request body in [`CHUNK_BYTES`] pieces, waiting while the connection is
/// behind. `BrokenPipe` once the request is gone (the daemon failed or stopped reading).
struct ChunkWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
}

impl ChunkWriter {
    fn new(tx: mpsc::Sender<std::io::Result<Bytes>>) -> Self {
        Self {
            buf: Vec::with_capacity(CHUNK_BYTES),
            tx,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the daemon stopped reading the build context",
            )
        })
    }

    /// Sends what is left; the body ends when the writer (and its sender) is dropped.
    fn finish(mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One build at a time per process. The classic builder's cache is not safe for
/// concurrent identical steps: two builds sharing a prefix (the same `FROM` and `COPY`)
/// each create their own layer, and a later build may pick either from the cache — so
/// an unchanged service would get a new image id and `up --build` would recreate it.
/// Built one after another, the second reuses the first's layers.
static BUILDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Engine {
    /// Builds the service's image, tags it with the service's `image` (`<project>-<service>`
    /// when the file gives none) and returns the new image id. Each `Step N/M` becomes a
    /// `Progress::Building` event. The previous image and containers are left alone.
    pub async fn build_image(
        &self,
        stack: &Stack,
        service: &ServiceName,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<String, Error> {
        let svc = stack.services.get(service).ok_or_else(|| Error::NotFound {
            op: "build image",
            service: Some(service.clone()),
            message: "service is not in the stack".into(),
        })?;
        let failure = |step: Option<String>, message: String, output: Vec<String>| {
            Error::Build(Box::new(BuildFailure {
                service: service.clone(),
                image: svc.image.clone(),
                step,
                message,
                output,
            }))
        };
        let Some(build) = &svc.build else {
            return Err(failure(
                None,
                "the service has no 'build:' section; add one or use a ready-made 'image:'".into(),
                vec![],
            ));
        };

        let _one_at_a_time = match BUILDS.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                emit(events, service, "waiting for another build".into()).await;
                BUILDS.lock().await
            }
        };
        emit(events, service, "sending context".into()).await;
        crate::build::check_context(&build.context, &build.dockerfile)
            .map_err(|e| failure(None, e.to_string(), vec![]))?;
        // The context is tarred on a blocking thread (it walks the user's tree) straight
        // into the request body, a few chunks at a time: memory stays at the chunks in
        // flight whatever the context's size.
        let (context, dockerfile) = (build.context.clone(), build.dockerfile.clone());
        let (chunks_tx, chunks_rx) = mpsc::channel::<std::io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
        let tarring = tokio::task::spawn_blocking(move || {
            let writer = ChunkWriter::new(chunks_tx.clone());
            let result =
                crate::build::write_context_tar(&context, &dockerfile, writer).and_then(|w| {
                    w.finish().map_err(|source| crate::build::Error::Read {
                        path: context.clone(),
                        source,
                    })
                });
            if let Err(e) = &result {
                // Ends the request body with an error, so the daemon does not build
                // from half a context.
                let _ = chunks_tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
            result
        });
        let body = futures_util::stream::unfold(chunks_rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });

        let image_labels = HashMap::from([
            (labels::PROJECT, stack.project.as_str()),
            (labels::SERVICE, service.as_str()),
        ]);
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&build.dockerfile)
            .t(&svc.image)
            .buildargs(&build.args.iter().collect::<HashMap<_, _>>())
            .labels(&image_labels)
            .rm(true)
            // Intermediate containers of a failed step go too: nothing is left behind.
            .forcerm(true);
        if let Some(target) = &build.target {
            options = options.target(target);
        }

        let mut stream =
            self.docker
                .build_image(options.build(), None, Some(bollard::body_try_stream(body)));
        let mut log = BuildLog::default();
        let mut outcome = Ok(());
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        for step in log.push(&text) {
                            emit(events, service, step).await;
                        }
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        drop(stream);
        // A context that could not be read is the reason, over whatever the daemon made
        // of the broken body; a tar cut short because the daemon stopped reading is not.
        match tarring.await {
            Ok(Err(crate::build::Error::Read { source, .. }))
                if source.kind() == std::io::ErrorKind::BrokenPipe && outcome.is_err() => {}
            Ok(Err(e)) => return Err(failure(None, e.to_string(), vec![])),
            Ok(Ok(())) => {}
            Err(e) => {
                return Err(Error::Task {
                    op: "build image",
                    message: e.to_string(),
                });
            }
        }
        if let Err(e) = outcome {
            log.finish();
            let message = match e {
                // The builder's own words: a failed RUN, an unknown instruction, a
                // missing `COPY` source.
                bollard::errors::Error::DockerStreamError { error } => error,
                bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                other => return Err(Error::daemon("build image", Some(service), other)),
            };
            return Err(failure(log.step.clone(), message, log.tail(FAILURE_LINES)));
        }
        match self.image_id(&svc.image).await? {
            Some((_, id)) => Ok(id),
            None => Err(failure(
                log.step.clone(),
                "the builder finished but the image is not there".into(),
                log.tail(FAILURE_LINES),
            )),
        }
    }

    /// The id of a local image, `None` when absent.
    pub async fn image_id_of(&self, reference: &str) -> Result<Option<String>, Error> {
        Ok(self.image_id(reference).await?.map(|(_, id)| id))
    }

    /// Removes every image labelled as built for `project` (current and replaced ones),
    /// returning their ids. Images of other projects and untagged build cache without
    /// our label stay.
    pub async fn remove_project_images(&self, project: &ProjectName) -> Result<Vec<String>, Error> {
        let filters = super::project_filters(project, &[]);
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|e| Error::daemon("list images", None, e))?;
        let mut removed = Vec::new();
        for image in images {
            // The filter already did this; checked again because removal is forever.
            if image.labels.get(labels::PROJECT).map(String::as_str) != Some(project.as_str()) {
                continue;
            }
            let options = RemoveImageOptionsBuilder::default().force(true).build();
            match self
                .docker
                .remove_image(&image.id, Some(options), None)
                .await
            {
                Ok(_) => removed.push(image.id),
                Err(e) if super::error::is_404(&e) => {}
                Err(e) => return Err(Error::daemon("remove image", None, e)),
            }
        }
        Ok(removed)
    }
}

async fn emit(events: &mpsc::Sender<EngineEvent>, service: &ServiceName, step: String) {
    // A receiver that went away is not a reason to stop a build.
    let _ = events
        .send(EngineEvent::Progress {
            service: service.clone(),
            progress: Progress::Building { step },
        })
        .await;
}

/// The builder's text output, split into lines (chunks need not end at a newline),
/// remembering the current step and the tail of what it printed.
#[derive(Debug, Default)]
struct BuildLog {
    partial: String,
    step: Option<String>,
    lines: VecDeque<String>,
}

impl BuildLog {
    /// Adds a chunk; returns the steps that started in it.
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut steps = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            if let Some(step) = self.line(line.trim_end_matches(['\n', '\r'])) {
                steps.push(step);
            }
        }
        steps
    }

    fn finish(&mut self) {
        let rest = std::mem::take(&mut self.partial);
        if !rest.is_empty() {
            self.line(&rest);
        }
    }

    fn line(&mut self, raw: &str) -> Option<String> {
        // The builder colours a step's stderr; escapes would garble (or drive) the
        // terminal that shows the error.
        let line = crate::model::strip_escapes(raw);
        let line = line.as_str();
        if line.trim().is_empty() {
            return None;
        }
        if line.starts_with("Step ") && line.contains(" : ") {
            self.step = Some(line.to_string());
            self.lines.clear();
            return Some(line.to_string());
        }
        // ` ---> Running in 1a2b`, ` ---> 3c4d`: the builder's bookkeeping, not output.
        if line.starts_with(" ---> ") || line.starts_with("Removing intermediate container") {
            return None;
        }
        if self.lines.len() == KEPT_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
        None
    }

    fn tail(&self, n: usize) -> Vec<String> {
        self.lines
            .iter()
            .skip(self.lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_output_are_split_across_chunks() {
        let mut log = BuildLog::default();
        assert_eq!(
            log.push("Step 1/3 : FROM base\n"),
            vec!["Step 1/3 : FROM base"]
        );
        assert!(log.push(" ---> 3ee8d41afd00\nStep 2/3 : RU").is_empty());
        assert_eq!(log.push("N make\n"), vec!["Step 2/3 : RUN make"]);
        log.push(" ---> Running in 1a2b3c\n");
        log.push("compiling\nerror: nope\n");
        log.push("partial without newline");
        log.finish();
        assert_eq!(log.step.as_deref(), Some("Step 2/3 : RUN make"));
        assert_eq!(
            log.tail(20),
            vec!["compiling", "error: nope", "partial without newline"]
        );
        assert_eq!(log.tail(1), vec!["partial without newline"]);
    }

    #[test]
    fn colours_and_control_characters_are_stripped() {
        let mut log = BuildLog::default();
        log.push("Step 1/1 : RUN x\n\u{1b}[91mon stderr\n\u{1b}[0mon stdout\u{7}\n");
        assert_eq!(log.tail(5), vec!["on stderr", "on stdout"]);
        assert_eq!(
            crate::model::strip_escapes("a\u{1b}[1;31mb\u{1b}[0m\tc"),
            "ab\tc"
        );
    }

    #[test]
    fn a_noisy_step_keeps_its_tail() {
        let mut log = BuildLog::default();
        log.push("Step 1/1 : RUN noisy\n");
        for i in 0..1000 {
            log.push(&format!("line {i}\n"));
        }
        assert_eq!(log.lines.len(), KEPT_LINES);
        assert_eq!(log.tail(2), vec!["line 998", "line 999"]);
    }

    #[test]
    fn failure_names_step_output_and_what_to_do() {
        let f = BuildFailure {
            service: ServiceName::new("pipeline"),
            image: "demo-pipeline".into(),
            step: Some("Step 3/5 : RUN exit 3".into()),
            message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3".into(),
            output: vec!["boom".into()],
        };
        let text = f.to_string();
        assert!(text.contains("'demo-pipeline'"), "{text}");
        assert!(text.contains("at 'Step 3/5 : RUN exit 3'"), "{text}");
        assert!(text.contains("non-zero code: 3"), "{text}");
        assert!(text.contains("  | boom"), "{text}");
        assert!(text.contains("'devstack build pipeline'"), "{text}");
    }
}
