//! `Debpull::Repository`: a signed apt repository in a storage (`file://`,
//! `s3://`) and the key that signs it. Native methods take positional
//! arguments; `lib/debpull/repository.rb` is the keyword API over them.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use debpull::Version;
use debpull::repo::{
    Progress, PromoteOptions, PublishOptions, PublishReport, Replace, Repository, RepositoryOptions,
};
use debpull::sign::{SigningKey, TrustedKeys};
use debpull::storage::OpenOptions;
use magnus::block::Proc;
use magnus::{Class, Error, Module, RArray, RModule, RString, Ruby, method};
use tokio::sync::mpsc;

use crate::args::{invalid, seconds};
use crate::error::IntoRuby;
use crate::gvl::{blocking, drop_in_runtime, without_gvl};
use crate::package::to_array;

/// A repository; set once by `initialize` (alloc + initialize, so that
/// subclasses work), then only read: safe to share between threads.
#[derive(Default)]
#[magnus::wrap(class = "Debpull::Repository", free_immediately, size)]
struct RbRepository(OnceLock<Arc<Repository>>);

/// What one wait for publish's progress brings.
enum Step {
    /// Every event waiting (at least one), handled in one return to Ruby.
    Events(Vec<Progress>),
    Done(PublishReport),
}

/// The bytes of `text`, whatever its encoding.
fn bytes_of(text: RString) -> Vec<u8> {
    // SAFETY: copied at once, no Ruby call while the slice lives.
    unsafe { text.as_slice() }.to_vec()
}

/// A text option: non-empty, one line.
fn one_line(ruby: &Ruby, name: &str, value: String) -> Result<String, Error> {
    if value.trim().is_empty() || value.contains(['\n', '\r']) {
        return Err(invalid(
            ruby,
            format!("{name}: {value:?} is not one non-empty line"),
        ));
    }
    Ok(value)
}

impl RbRepository {
    /// `_initialize(uri, signing_key, passphrase, origin, label, region,
    /// endpoint, valid_for, notifier)`: unlocking the key (which may be slow) runs
    /// without the GVL. Nothing is read or written in the storage yet.
    #[allow(clippy::too_many_arguments)] // Positional: the keyword API is in Ruby.
    fn initialize(
        ruby: &Ruby,
        rb_self: &Self,
        uri: String,
        signing_key: RString,
        passphrase: Option<String>,
        origin: String,
        label: String,
        region: Option<String>,
        endpoint: Option<String>,
        valid_for: Option<u64>,
        notifier: Option<magnus::typed_data::Obj<crate::notify::RbNotifier>>,
    ) -> Result<(), Error> {
        if rb_self.0.get().is_some() {
            return Err(invalid(ruby, "repository: already initialized"));
        }
        let options = RepositoryOptions {
            origin: one_line(ruby, "origin", origin)?,
            label: one_line(ruby, "label", label)?,
            valid_for: match valid_for {
                Some(0) => return Err(invalid(ruby, "valid_for: 0 seconds")),
                Some(s) => Some(seconds(ruby, s as f64, "valid_for", false)?),
                None => None,
            },
            notifier: notifier.map(|n| n.0.clone()),
            ..RepositoryOptions::default()
        };
        let open = OpenOptions {
            region: region.map(|r| one_line(ruby, "region", r)).transpose()?,
            endpoint: endpoint
                .map(|e| one_line(ruby, "endpoint", e))
                .transpose()?,
        };
        let passphrase = passphrase.filter(|p| !p.is_empty());
        // Any encoding (a key read with File.binread is ASCII-8BIT): the bytes.
        let signing_key = String::from_utf8(bytes_of(signing_key)).map_err(|_| {
            invalid(
                ruby,
                "signing_key: not an ASCII-armored OpenPGP secret key (not UTF-8 text)",
            )
        })?;
        // Unlocking the key can be slow: on a blocking thread, detached by an interrupt.
        let repository = blocking(ruby, move |_| {
            let key = SigningKey::from_armored(&signing_key, passphrase.as_deref())?;
            let storage = debpull::storage::open_with(&uri, &open)?;
            Repository::new(storage, key, options)
        })?;
        rb_self
            .0
            .set(Arc::new(repository))
            .map_err(|_| invalid(ruby, "repository: already initialized"))
    }

    /// The repository, or `Debpull::InvalidInput` before `initialize`.
    fn repo(&self, ruby: &Ruby) -> Result<&Repository, Error> {
        self.0
            .get()
            .map(|r| &**r)
            .ok_or_else(|| invalid(ruby, "repository: not initialized"))
    }

    /// `_publish(suite, debs, component, replace, on_event, percentage)`:
    /// publishes with the GVL released, taking it back to call `on_event` (a
    /// Proc or nil) with `kind, name, bytes, attempts` for each progress
    /// event, in order. An exception from `on_event` drops the publish (what
    /// it uploaded stays for gc) and propagates. `percentage` (nil: everyone)
    /// is a staged rollout. Returns `[added, unchanged, replaced, attempts,
    /// rephased]`.
    #[allow(clippy::too_many_arguments)] // Positional: the keyword API is in Ruby.
    fn publish(
        ruby: &Ruby,
        rb_self: &Self,
        suite: String,
        debs: Vec<PathBuf>,
        component: String,
        replace: bool,
        on_event: Option<Proc>,
        percentage: Option<i64>,
    ) -> Result<(RArray, RArray, RArray, u32, RArray), Error> {
        let repo = rb_self.repo(ruby)?;
        let percentage = percentage
            .map(debpull::phasing::percentage)
            .transpose()
            .into_ruby(ruby)?;
        if debs.is_empty() {
            return Err(invalid(ruby, "debs: no file given"));
        }
        let replace = if replace {
            Replace::Always
        } else {
            Replace::Never
        };
        let (sender, mut events) = mpsc::unbounded_channel();
        let send = move |event: Progress| {
            // The receiver lives until the publish is done or dropped.
            let _ = sender.send(event);
        };
        // Polled across several calls without the GVL: between them, the
        // block runs with the GVL held, and the publish waits.
        let options = PublishOptions {
            replace,
            percentage,
        };
        let mut publish = Box::pin(repo.publish_with(&suite, &component, &debs, &options, &send));
        let handle = |ruby: &Ruby, event: Progress| -> Result<(), Error> {
            let Some(block) = on_event else {
                return Ok(());
            };
            let (kind, name, bytes, attempts) = match event {
                Progress::Hashed { path, bytes } => {
                    ("hashed", path.to_string_lossy().into_owned(), bytes, 0)
                }
                Progress::Uploaded { key, bytes } => ("uploaded", key, bytes, 0),
                Progress::Committed { suite, attempts } => ("committed", suite, 0, attempts),
            };
            let _: magnus::Value = block.call((ruby.to_symbol(kind), name, bytes, attempts))?;
            Ok(())
        };
        let mut run = || -> Result<PublishReport, Error> {
            loop {
                let step = without_gvl(ruby, async {
                    tokio::select! {
                        biased;
                        Some(event) = events.recv() => {
                            let mut batch = vec![event];
                            while let Ok(event) = events.try_recv() {
                                batch.push(event);
                            }
                            Ok(Step::Events(batch))
                        }
                        report = &mut publish => report.map(Step::Done),
                    }
                })?;
                match step {
                    Step::Events(batch) => {
                        for event in batch {
                            handle(ruby, event)?;
                        }
                    }
                    Step::Done(report) => {
                        while let Ok(event) = events.try_recv() {
                            handle(ruby, event)?;
                        }
                        return Ok(report);
                    }
                }
            }
        };
        let result = run();
        // Interrupted or stopped by the block: the publish is dropped where
        // its timers and connections expect a runtime.
        drop_in_runtime(publish);
        let report = result?;
        Ok((
            to_array(ruby, report.added)?,
            to_array(ruby, report.unchanged)?,
            to_array(ruby, report.replaced)?,
            report.attempts,
            to_array(ruby, report.rephased)?,
        ))
    }

    /// `_promote(name, version, from, to, percentage)`: `[added, demoted,
    /// rephased, attempts]` (`percentage` nil: a version new in `to` for
    /// everyone, one already there unchanged).
    fn promote(
        ruby: &Ruby,
        rb_self: &Self,
        name: String,
        version: String,
        from: String,
        to: String,
        percentage: Option<i64>,
    ) -> Result<(RArray, RArray, RArray, u32), Error> {
        let repo = rb_self.repo(ruby)?;
        let report = without_gvl(ruby, async {
            let options = PromoteOptions {
                percentage: percentage.map(debpull::phasing::percentage).transpose()?,
                ..PromoteOptions::default()
            };
            repo.promote_with(&name, &Version::parse(&version)?, &from, &to, &options)
                .await
        })?;
        Ok((
            to_array(ruby, report.added)?,
            to_array(ruby, report.demoted)?,
            to_array(ruby, report.rephased)?,
            report.attempts,
        ))
    }

    /// `_rollback(suite, name, version)`: `[added, demoted, rephased,
    /// attempts]` of the rollback of `name` in `suite` to `version`.
    fn rollback(
        ruby: &Ruby,
        rb_self: &Self,
        suite: String,
        name: String,
        version: String,
    ) -> Result<(RArray, RArray, RArray, u32), Error> {
        let repo = rb_self.repo(ruby)?;
        let report = without_gvl(ruby, async {
            repo.rollback(&suite, &name, &Version::parse(&version)?)
                .await
        })?;
        Ok((
            to_array(ruby, report.added)?,
            to_array(ruby, report.demoted)?,
            to_array(ruby, report.rephased)?,
            report.attempts,
        ))
    }

    /// `_phase(suite, name, version, percentage)`: the entries changed.
    fn phase(
        ruby: &Ruby,
        rb_self: &Self,
        suite: String,
        name: String,
        version: String,
        percentage: i64,
    ) -> Result<RArray, Error> {
        let repo = rb_self.repo(ruby)?;
        let changed = without_gvl(ruby, async {
            let percentage = debpull::phasing::percentage(percentage)?;
            repo.phase(&suite, &name, &Version::parse(&version)?, percentage)
                .await
        })?;
        to_array(ruby, changed)
    }

    /// `_remove(suite, name, version)`: the entries removed (`version` nil: all).
    fn remove(
        ruby: &Ruby,
        rb_self: &Self,
        suite: String,
        name: String,
        version: Option<String>,
    ) -> Result<RArray, Error> {
        let repo = rb_self.repo(ruby)?;
        let removed = without_gvl(ruby, async {
            let version = version.as_deref().map(Version::parse).transpose()?;
            repo.remove(&suite, &name, version.as_ref()).await
        })?;
        to_array(ruby, removed)
    }

    /// `_prune(suite, keep)`: the entries removed.
    fn prune(ruby: &Ruby, rb_self: &Self, suite: String, keep: usize) -> Result<RArray, Error> {
        let repo = rb_self.repo(ruby)?;
        let removed = without_gvl(ruby, repo.prune(&suite, keep))?;
        to_array(ruby, removed)
    }

    /// `_packages(suite)`: the suite's packages, sorted.
    fn packages(ruby: &Ruby, rb_self: &Self, suite: String) -> Result<RArray, Error> {
        let repo = rb_self.repo(ruby)?;
        let packages = without_gvl(ruby, repo.list(&suite))?;
        to_array(ruby, packages)
    }

    /// `_verify(suite, trusted_keys)`: `[suite, index_files, packages,
    /// pool_files, bytes]`; `trusted_keys` nil: the repository's own key.
    fn verify(
        ruby: &Ruby,
        rb_self: &Self,
        suite: String,
        trusted_keys: Option<RString>,
    ) -> Result<(String, usize, usize, usize, u64), Error> {
        let repo = rb_self.repo(ruby)?;
        // Armored or binary keys, in any encoding: the bytes.
        let trusted_keys = trusted_keys.map(bytes_of);
        let report = without_gvl(ruby, async {
            let given;
            let trusted = match &trusted_keys {
                Some(keys) => {
                    given = TrustedKeys::from_bytes(keys)?;
                    &given
                }
                None => repo.own_keys(),
            };
            repo.verify(&suite, trusted).await
        })?;
        Ok((
            report.suite,
            report.index_files,
            report.packages,
            report.pool_files,
            report.bytes,
        ))
    }

    /// `_gc(grace_seconds)`: `[suites, deleted, pending, referenced]`.
    fn gc(
        ruby: &Ruby,
        rb_self: &Self,
        grace: u64,
    ) -> Result<(Vec<String>, Vec<String>, usize, usize), Error> {
        let repo = rb_self.repo(ruby)?;
        let grace = seconds(ruby, grace as f64, "grace", false)?;
        let report = without_gvl(ruby, repo.gc(grace))?;
        Ok((
            report.suites,
            report.deleted,
            report.pending,
            report.referenced,
        ))
    }
}

/// Defines `Debpull::Repository`'s native methods in `module`.
pub(crate) fn define(ruby: &Ruby, module: &RModule) -> Result<(), Error> {
    let class = module.define_class("Repository", ruby.class_object())?;
    class.define_alloc_func::<RbRepository>();
    class.define_private_method("_initialize", method!(RbRepository::initialize, 9))?;
    class.define_private_method("_publish", method!(RbRepository::publish, 6))?;
    class.define_private_method("_promote", method!(RbRepository::promote, 5))?;
    class.define_private_method("_phase", method!(RbRepository::phase, 4))?;
    class.define_private_method("_rollback", method!(RbRepository::rollback, 3))?;
    class.define_private_method("_remove", method!(RbRepository::remove, 3))?;
    class.define_private_method("_prune", method!(RbRepository::prune, 2))?;
    class.define_private_method("_packages", method!(RbRepository::packages, 1))?;
    class.define_private_method("_verify", method!(RbRepository::verify, 2))?;
    class.define_private_method("_gc", method!(RbRepository::gc, 1))?;
    Ok(())
}
