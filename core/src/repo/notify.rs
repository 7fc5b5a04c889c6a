//! The publisher's public operations that notify: each runs the change, then
//! (with [`RepositoryOptions::notifier`](super::RepositoryOptions::notifier))
//! posts what it did. A failed post is the notifier's warning, never the
//! operation's error (see [`crate::notify`]).

use std::path::PathBuf;
#[cfg(feature = "notify")]
use std::time::Instant;

use super::{Progress, PromoteOptions, PromoteReport, PublishOptions, PublishReport, Repository};
use crate::error::Result;
use crate::index::Package;
use crate::version::Version;

#[cfg(feature = "notify")]
use crate::notify::Message;

impl Repository {
    /// [`Repository::publish`] with options: `options.percentage` publishes
    /// the packages for that share of the fleet (a staged rollout, see the
    /// module documentation), in the same commit. A percentage above 100 is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput). With a
    /// notifier, posts what was published.
    pub async fn publish_with(
        &self,
        suite: &str,
        component: &str,
        debs: &[PathBuf],
        options: &PublishOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<PublishReport> {
        #[cfg(feature = "notify")]
        let started = Instant::now();
        let report = self
            .publish_with_unnotified(suite, component, debs, options, progress)
            .await?;
        #[cfg(feature = "notify")]
        self.notify(started, |host, duration| {
            Message::published(suite, &report, options.percentage, host, duration)
        })
        .await;
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
        #[cfg(feature = "notify")]
        let started = Instant::now();
        let removed = self.remove_unnotified(suite, name, version).await?;
        #[cfg(feature = "notify")]
        self.notify(started, |host, duration| {
            Some(Message::removed(
                suite, name, version, &removed, host, duration,
            ))
        })
        .await;
        Ok(removed)
    }

    /// [`Repository::promote`] with options (a staged rollout percentage, an
    /// explicit rollback), and everything it did: entries added, entries of
    /// higher versions demoted (only with `options.rollback`: without it, a
    /// version lower than the newest in `to` is
    /// [`ErrorKind::Conflict`](crate::ErrorKind::Conflict)), entries whose
    /// percentage changed. A percentage above 100 is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput). With a
    /// notifier, posts the promotion (or the rollback).
    pub async fn promote_with(
        &self,
        name: &str,
        version: &Version,
        from: &str,
        to: &str,
        options: &PromoteOptions,
    ) -> Result<PromoteReport> {
        #[cfg(feature = "notify")]
        let started = Instant::now();
        let report = self
            .promote_with_unnotified(name, version, from, to, options)
            .await?;
        #[cfg(feature = "notify")]
        self.notify(started, |host, duration| {
            Some(Message::promoted(
                name,
                version,
                from,
                to,
                &report,
                options.percentage,
                host,
                duration,
            ))
        })
        .await;
        Ok(report)
    }

    /// Changes the staged rollout of package `name` at `version` in `suite`
    /// (every component and architecture): `percentage` of the fleet takes it,
    /// 100 completing the rollout (the field is removed). Returns the entries
    /// changed (empty: they were at that percentage already). The version
    /// absent is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), a
    /// percentage above 100 [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    /// With a notifier, posts the new rollout.
    pub async fn phase(
        &self,
        suite: &str,
        name: &str,
        version: &Version,
        percentage: u8,
    ) -> Result<Vec<Package>> {
        #[cfg(feature = "notify")]
        let started = Instant::now();
        let changed = self
            .phase_unnotified(suite, name, version, percentage)
            .await?;
        #[cfg(feature = "notify")]
        self.notify(started, |host, duration| {
            Some(Message::phased(
                suite, name, version, percentage, &changed, host, duration,
            ))
        })
        .await;
        Ok(changed)
    }

    /// Keeps the newest `keep` versions of every package and architecture in
    /// `suite`; returns the entries removed. With a notifier, posts what was
    /// removed (nothing when nothing was).
    pub async fn prune(&self, suite: &str, keep: usize) -> Result<Vec<Package>> {
        #[cfg(feature = "notify")]
        let started = Instant::now();
        let removed = self.prune_unnotified(suite, keep).await?;
        #[cfg(feature = "notify")]
        self.notify(started, |host, duration| {
            Message::pruned(suite, keep, &removed, host, duration)
        })
        .await;
        Ok(removed)
    }

    /// Posts the message `make` builds (from this host's name and the time
    /// since `started`), if there is a notifier and a message.
    #[cfg(feature = "notify")]
    async fn notify(
        &self,
        started: Instant,
        make: impl FnOnce(&str, std::time::Duration) -> Option<Message>,
    ) {
        let Some(notifier) = &self.options.notifier else {
            return;
        };
        if let Some(message) = make(&crate::client::hostname(), started.elapsed()) {
            notifier.notify(&message).await;
        }
    }
}
