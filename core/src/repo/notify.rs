//! The publisher's public operations that notify: each runs the change, then
//! (with [`RepositoryOptions::notifier`](super::RepositoryOptions::notifier))
//! posts what it did. A failed post is the notifier's warning, never the
//! operation's error (see [`crate::notify`]).

use std::path::PathBuf;
use std::time::Instant;

use super::{Progress, PublishReport, Replace, Repository};
use crate::error::Result;
use crate::index::Package;
use crate::version::Version;

impl Repository {
    /// Publishes the `.deb` files into `component` of `suite`, creating the suite
    /// if needed. Identical packages already there are left alone; a different
    /// package with the same name, version and architecture is a
    /// [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) unless `replace` says
    /// otherwise. With a notifier, posts what was published.
    pub async fn publish(
        &self,
        suite: &str,
        component: &str,
        debs: &[PathBuf],
        replace: Replace,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<PublishReport> {
        let started = Instant::now();
        let report = self
            .publish_unnotified(suite, component, debs, replace, progress)
            .await?;
        #[cfg(feature = "notify")]
        if let Some(notifier) = &self.options.notifier
            && let Some(message) = crate::notify::Message::published(
                suite,
                &report,
                &crate::client::hostname(),
                started.elapsed(),
            )
        {
            notifier.notify(&message).await;
        }
        let _ = started;
        Ok(report)
    }

    /// Removes package `name` from `suite`: the one `version`, or every version.
    /// Returns the entries removed; nothing matching is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound). With a notifier,
    /// posts what was removed.
    pub async fn remove(
        &self,
        suite: &str,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Package>> {
        let started = Instant::now();
        let removed = self.remove_unnotified(suite, name, version).await?;
        #[cfg(feature = "notify")]
        if let Some(notifier) = &self.options.notifier {
            let message = crate::notify::Message::removed(
                suite,
                name,
                version,
                &removed,
                &crate::client::hostname(),
                started.elapsed(),
            );
            notifier.notify(&message).await;
        }
        let _ = started;
        Ok(removed)
    }

    /// Copies package `name` at `version` (every architecture of it) from suite
    /// `from` to suite `to`, sharing the pool files: nothing is uploaded but the
    /// indexes. Already there identically: nothing changes. Returns the entries
    /// added to `to` (empty when they were all there already). With a
    /// notifier, posts the promotion.
    pub async fn promote(
        &self,
        name: &str,
        version: &Version,
        from: &str,
        to: &str,
    ) -> Result<Vec<Package>> {
        let started = Instant::now();
        let added = self.promote_unnotified(name, version, from, to).await?;
        #[cfg(feature = "notify")]
        if let Some(notifier) = &self.options.notifier {
            let message = crate::notify::Message::promoted(
                name,
                version,
                from,
                to,
                &added,
                &crate::client::hostname(),
                started.elapsed(),
            );
            notifier.notify(&message).await;
        }
        let _ = started;
        Ok(added)
    }

    /// Keeps the newest `keep` versions of every package and architecture in
    /// `suite`; returns the entries removed. With a notifier, posts what was
    /// removed (nothing when nothing was).
    pub async fn prune(&self, suite: &str, keep: usize) -> Result<Vec<Package>> {
        let started = Instant::now();
        let removed = self.prune_unnotified(suite, keep).await?;
        #[cfg(feature = "notify")]
        if let Some(notifier) = &self.options.notifier
            && let Some(message) = crate::notify::Message::pruned(
                suite,
                keep,
                &removed,
                &crate::client::hostname(),
                started.elapsed(),
            )
        {
            notifier.notify(&message).await;
        }
        let _ = started;
        Ok(removed)
    }
}
