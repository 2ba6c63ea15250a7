//! Compose `secrets`: the top-level definitions and each service's references, as the
//! mounts that put them at `/run/secrets/NAME` in the container.
//!
//! A file secret is bind-mounted read-only, as Compose does for a local project; its
//! content is never read by devstack, so nothing can print it. Secrets taken from an
//! `environment` variable (which Compose copies into the container) and `external` ones
//! (Swarm's) are not implemented: a service using one gets a warning with its position.

use std::collections::BTreeMap;

use super::error::Error;
use super::model::{Diagnostic, Mount, MountSource};
use super::node::KeyPath;
use super::raw::{RawSecret, RawServiceSecret};
use super::resolve::Context;

pub(crate) const DEFINITION_ALLOWED: &str =
    "a mapping with 'file' (a path) or 'environment' (a variable name), and an optional 'name'";
pub(crate) const REFERENCE_ALLOWED: &str =
    "a secret's name, or a mapping with 'source', 'target', 'uid', 'gid', 'mode'";

/// A top-level secret, checked.
pub(crate) enum Secret {
    /// The file, and where it is named (checked to exist once a service uses it, as
    /// Compose leaves an unused one alone).
    File(std::path::PathBuf, KeyPath),
    /// Declared, but not something devstack can provide yet (why, for the warning).
    Unsupported(&'static str),
}

/// The top-level `secrets:`.
pub(crate) fn definitions(
    cx: &Context,
    raw: BTreeMap<String, Option<RawSecret>>,
    path: &KeyPath,
) -> Result<BTreeMap<String, Secret>, Error> {
    let mut out = BTreeMap::new();
    for (name, def) in raw {
        let at = path.key(&name);
        let def = def.unwrap_or_default();
        let secret = match (&def.file, &def.environment, def.external.map(|f| f.0)) {
            (Some(file), None, None | Some(false)) => {
                let p = cx.host_path(&file.0, &at.key("file"))?;
                Secret::File(p, at.key("file"))
            }
            (None, Some(_), None | Some(false)) => Secret::Unsupported(
                "a secret from an 'environment' variable is not implemented by devstack yet; not mounted",
            ),
            (None, None, Some(true)) => Secret::Unsupported(
                "an 'external' secret is Swarm's and not available to a local project; not mounted",
            ),
            _ => {
                return Err(cx.invalid(
                    &at,
                    "a secret takes exactly one of 'file' and 'environment'",
                    DEFINITION_ALLOWED,
                ));
            }
        };
        out.insert(name, secret);
    }
    Ok(out)
}

/// A service's `secrets:` as read-only mounts under `/run/secrets`.
pub(crate) fn mounts(
    cx: &Context,
    defined: &BTreeMap<String, Secret>,
    raw: Vec<RawServiceSecret>,
    path: &KeyPath,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<Mount>, Error> {
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let at = path.index(i);
        let (source, target, owner) = match r {
            RawServiceSecret::Short(t) => (t.0, None, false),
            RawServiceSecret::Long(l) => (
                l.source.0,
                l.target.map(|t| t.0),
                l.uid.is_some() || l.gid.is_some() || l.mode.is_some(),
            ),
        };
        let Some(secret) = defined.get(&source) else {
            let names: Vec<String> = defined.keys().map(|k| format!("'{k}'")).collect();
            return Err(cx.invalid(
                &at,
                format!("secret '{source}' is not defined in the top-level 'secrets:'"),
                &if names.is_empty() {
                    "a secret defined at the top level (there are none)".to_string()
                } else {
                    format!("one of {}", names.join(", "))
                },
            ));
        };
        let file = match secret {
            Secret::File(f, _) if f.is_file() => f.clone(),
            Secret::File(f, named_at) => {
                return Err(cx.invalid(
                    named_at,
                    format!(
                        "secret file '{}' does not exist (or is not a file); create it, or point 'file' at it",
                        f.display()
                    ),
                    DEFINITION_ALLOWED,
                ));
            }
            Secret::Unsupported(why) => {
                warnings.push(Diagnostic {
                    position: Some(cx.at(&at)),
                    key: at.to_string(),
                    message: format!("secret '{source}': {why}"),
                });
                continue;
            }
        };
        if owner {
            // Compose ignores them too for a bind-mounted file, with a warning.
            warnings.push(Diagnostic {
                position: Some(cx.at(&at)),
                key: at.to_string(),
                message: "'uid', 'gid' and 'mode' do not apply to a file secret, which is bind-mounted with the file's own owner and mode; ignored".into(),
            });
        }
        let target = match target {
            Some(t) if t.starts_with('/') => t,
            Some(t) if !t.is_empty() => format!("/run/secrets/{t}"),
            _ => format!("/run/secrets/{source}"),
        };
        out.push(Mount {
            source: MountSource::Bind(file),
            target,
            read_only: true,
        });
    }
    Ok(out)
}
