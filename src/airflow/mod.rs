//! Airflow 3 seen from devstack: which services are Airflow components (`roles`), what
//! its REST API v2 answers (`api`, pure parsing), how to ask it (`client`, HTTP/1.1 over
//! hyper — Airflow is not Docker, so this is not in `engine`), and the plain-text report
//! of `devstack airflow` (`report`, pure).

pub mod api;
pub mod client;
pub mod report;
pub mod roles;

pub use api::{Dag, DagRun, Health, ImportError, Overview, TaskInstance};
pub use client::{Client, Error};
pub use roles::{Login, Role};
