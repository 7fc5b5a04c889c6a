//! `Debpull::Source` (native part): a suite of a repository a machine pulls
//! from, and its check. Keyword arguments, defaults and the status object
//! are in `lib/debpull/source.rb`.

use std::path::PathBuf;

use debpull::Version;
use debpull::client::{Source, SourceOptions, SourceTrust, Status};
use debpull::sign::TrustedKeys;
use debpull::storage::OpenOptions;
use magnus::{Class, Error, Module, Object, RHash, RModule, RString, Ruby, function, method};

use crate::args::{invalid, path};
use crate::error::IntoRuby;
use crate::gvl::{blocking, without_gvl};
use crate::package::frozen;

/// A source; immutable, usable from several threads at once.
#[magnus::wrap(class = "Debpull::Source", free_immediately, size)]
pub(crate) struct RbSource(pub(crate) Source);

impl RbSource {
    /// `Debpull::Source._open(uri, suite, component, trusted_keys,
    /// state_dir, architecture, admin_dir, region, endpoint,
    /// insecure_unsigned, machine_id)`: checked, nothing read yet.
    #[allow(clippy::too_many_arguments)]
    fn open(
        ruby: &Ruby,
        uri: String,
        suite: String,
        component: String,
        trusted_keys: Option<RString>,
        state_dir: PathBuf,
        architecture: Option<String>,
        admin_dir: Option<PathBuf>,
        region: Option<String>,
        endpoint: Option<String>,
        insecure_unsigned: bool,
        machine_id: Option<String>,
    ) -> Result<RbSource, Error> {
        let keys = match (trusted_keys, insecure_unsigned) {
            (Some(_), true) => {
                return Err(invalid(
                    ruby,
                    "trusted_keys and insecure_unsigned: true exclude each other",
                ));
            }
            (None, true) => None,
            // SAFETY: copied at once, no Ruby call while the slice lives.
            (Some(keys), false) => Some(unsafe { keys.as_slice() }.to_vec()),
            (None, false) => {
                return Err(invalid(
                    ruby,
                    "trusted_keys is required (the repository's public signing key), \
                     or insecure_unsigned: true for a repository on a trusted local disk",
                ));
            }
        };
        let state_dir = path(ruby, state_dir, "state_dir")?;
        let admin_dir = admin_dir
            .map(|dir| path(ruby, dir, "admin_dir"))
            .transpose()?;
        // Parsing the keys and `dpkg --print-architecture` block: on a
        // blocking thread, detached by an interrupt.
        blocking(ruby, move |_| {
            let trust = match keys {
                Some(keys) => SourceTrust::Keys(TrustedKeys::from_bytes(&keys)?),
                None => SourceTrust::InsecureUnsigned,
            };
            for (what, value) in [("suite", Some(&suite)), ("component", Some(&component))]
                .into_iter()
                .chain([("architecture", architecture.as_ref())])
            {
                if let Some(value) = value {
                    debpull::client::check_plain_name(what, value)?;
                }
            }
            let mut options = SourceOptions::new(suite, trust, state_dir);
            options.component = component;
            options.architecture = architecture;
            if let Some(admin_dir) = admin_dir {
                options.admin_dir = admin_dir;
            }
            options.machine_id = machine_id;
            let storage = debpull::storage::open_with(&uri, &OpenOptions { region, endpoint })?;
            Source::new(storage, options).map(RbSource)
        })
    }

    /// `_check(package, pin)`: a Hash of what was found (see source.rb).
    fn check(
        ruby: &Ruby,
        rb_self: &RbSource,
        package: String,
        pin: Option<String>,
    ) -> Result<RHash, Error> {
        if package.is_empty() {
            return Err(invalid(ruby, "package is empty"));
        }
        let pin = pin
            .map(|p| Version::parse(&p))
            .transpose()
            .into_ruby(ruby)?;
        let source = rb_self.0.clone();
        let status = without_gvl(
            ruby,
            async move { source.check(&package, pin.as_ref()).await },
        )?;
        status_hash(ruby, &status)
    }

    /// `_reset_rollback_floor`: forget the last accepted Date.
    fn reset_rollback_floor(ruby: &Ruby, rb_self: &RbSource) -> Result<(), Error> {
        let source = rb_self.0.clone();
        without_gvl(ruby, async move { source.reset_rollback_floor().await })
    }

    fn uri(&self) -> String {
        self.0.storage().to_string()
    }

    fn suite(&self) -> String {
        self.0.options().suite.clone()
    }

    fn component(&self) -> String {
        self.0.options().component.clone()
    }

    fn architecture(&self) -> String {
        self.0.architecture().to_owned()
    }

    fn state_dir(&self) -> String {
        self.0.options().state_dir.to_string_lossy().into_owned()
    }

    fn admin_dir(&self) -> String {
        self.0.options().admin_dir.to_string_lossy().into_owned()
    }
}

/// What a check found, as a Hash for `Debpull::Source::Status`.
fn status_hash(ruby: &Ruby, status: &Status) -> Result<RHash, Error> {
    let hash = ruby.hash_new();
    hash.aset(ruby.to_symbol("package"), status.package.as_str())?;
    hash.aset(
        ruby.to_symbol("installed"),
        status.installed.as_ref().map(|v| v.as_str().to_owned()),
    )?;
    hash.aset(
        ruby.to_symbol("candidate"),
        status.candidate.clone().map(|p| frozen(ruby, p)),
    )?;
    hash.aset(
        ruby.to_symbol("update_available"),
        status.update_available(),
    )?;
    hash.aset(
        ruby.to_symbol("repository_changed"),
        status.repository_changed,
    )?;
    hash.aset(
        ruby.to_symbol("warnings"),
        ruby.ary_from_iter(status.warnings.iter().map(String::as_str)),
    )?;
    // Staged rollout: the version kept from this machine for now, and its percentage.
    hash.aset(
        ruby.to_symbol("deferred"),
        status
            .deferred
            .as_ref()
            .map(|d| (d.version.as_str().to_owned(), d.percentage)),
    )?;
    Ok(hash)
}

/// Defines `Debpull::Source`'s native methods in `module`.
pub(crate) fn define(ruby: &Ruby, module: &RModule) -> Result<(), Error> {
    let class = module.define_class("Source", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_open", function!(RbSource::open, 11))?;
    class.define_method("_check", method!(RbSource::check, 2))?;
    class.define_method(
        "_reset_rollback_floor",
        method!(RbSource::reset_rollback_floor, 0),
    )?;
    class.define_method("uri", method!(RbSource::uri, 0))?;
    class.define_method("suite", method!(RbSource::suite, 0))?;
    class.define_method("component", method!(RbSource::component, 0))?;
    class.define_method("architecture", method!(RbSource::architecture, 0))?;
    class.define_method("state_dir", method!(RbSource::state_dir, 0))?;
    class.define_method("admin_dir", method!(RbSource::admin_dir, 0))?;
    Ok(())
}
