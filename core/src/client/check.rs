//! [`Source::check`]: the update check of DESIGN.md, cheap enough for every
//! server every minute.
//!
//! The whole check runs under the state directory's check lock (see
//! [`super::state`]).
//!
//! 1. A conditional GET of `dists/<suite>/InRelease` with the ETag accepted last
//!    (or `If-Modified-Since` its Last-Modified, for stores without ETags). A
//!    `304` answers from the state directory ([`super::state`]): one request,
//!    nothing parsed but the small record of the package asked (the stored
//!    Valid-Until is still checked: a store answering `304` forever cannot
//!    freeze the machine past it). A `304` to a request that carried no
//!    condition is a [`ErrorKind::Storage`] error. A `200` whose body has the
//!    SHA256 of the accepted signed file is answered from the state too
//!    (stores without validators, or with a validator that no longer matches).
//! 2. Anything else is verified fully: size cap, signature by a trusted key,
//!    `Date` present, not later than now + [`crate::sign::MAX_CLOCK_SKEW`]
//!    (a snapshot dated in the future would make every later one a
//!    "rollback") and not older than the rollback floor (the newest `Date`
//!    accepted, kept on its own in the state directory; an equal `Date` is accepted whatever the content, as apt does, because a
//!    publisher may commit twice within one second: replaying a snapshot signed
//!    in the same second as the accepted one is the window left), `Valid-Until`
//!    not passed (freeze), `Suite` or `Codename` the suite asked, the component
//!    and the architecture listed (when the Release lists them at all).
//! 3. The one Packages index: the smallest compression listed that debpull
//!    reads (the next smallest when that one is missing, as mirrors may omit
//!    forms the Release lists), by hash (strongest hash) when
//!    `Acquire-By-Hash`, else or when the by-hash copy is missing at its plain
//!    path; read with the listed size as the cap, its hash checked,
//!    decompressed within a bound. Only the stanzas of the package asked are
//!    parsed. A change costs at most three requests (two more per missing form).
//! 4. A suite without `InRelease` is read through `Release` (conditional GET
//!    too) and `Release.gpg` (apt-ftparchive + `gpg -abs`).
//!
//! The state is written only after everything was verified: a refused snapshot
//! leaves it as it was.

use std::time::SystemTime;

use pgp::composed::CleartextSignedMessage;

use super::state::{
    Accepted, CHECK_LOCK_WAIT, SignedFile, StateDir, repository_key, sha256_hex,
    usable_last_modified,
};
use super::{Source, SourceTrust, Status, installed_version};
use crate::compress::{Bounds, Compression};
use crate::control;
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Package, Release, ReleaseFile};
use crate::phasing::{Deferred, MACHINE_ID_PATH, MachineId};
use crate::repo::snapshot::{check_suite, read_listed_or_missing};
use crate::sign::MAX_CLOCK_SKEW;
use crate::storage::{GetOptions, GetResult, ObjectMeta, check_key};
use crate::version::Version;

/// The largest InRelease or Release accepted (Debian's own are ~150 kB).
pub const MAX_RELEASE_SIZE: u64 = 16 << 20;
/// The largest Release.gpg accepted.
const MAX_SIGNATURE_SIZE: u64 = 1 << 20;
/// The largest Packages index accepted once decompressed (1 GiB).
const MAX_INDEX: u64 = 1 << 30;

/// The compressions debpull reads, in the order preferred on equal sizes.
const READABLE: [Compression; 4] = [
    Compression::Xz,
    Compression::Zstd,
    Compression::Gzip,
    Compression::None,
];

/// What a fetch of the signed file found.
enum Fetched {
    /// Not modified since the accepted snapshot.
    Unchanged,
    /// A new signed file, its signature verified.
    Changed(Change),
}

/// A new signed file.
struct Change {
    /// Which one.
    file: SignedFile,
    /// Its bytes as fetched.
    raw: Vec<u8>,
    /// The detached signature (Release.gpg), if that is how it was signed.
    signature: Option<Vec<u8>>,
    /// The signed text.
    text: String,
    /// Its metadata (ETag, Last-Modified).
    meta: ObjectMeta,
    /// The fingerprint of the trusted key that signed (`None`: not checked).
    signer: Option<String>,
}

impl Source {
    /// Checks `package`: what is installed, and the suite's candidate (the
    /// highest version for this architecture or `all`, or exactly `pin`;
    /// a staged rollout this machine is not in yet defers the highest, see
    /// [`crate::phasing`] and [`Status::deferred`]). See the
    /// [`client`](crate::client) module documentation for what is verified.
    ///
    /// Errors: a refused repository is [`ErrorKind::Verification`] (signature,
    /// rollback, freeze, suite, hashes, a candidate whose Filename, Size or
    /// SHA256 is unusable) or [`ErrorKind::LimitExceeded`] (a file larger than
    /// allowed); a `pin` absent from the suite, or a component or architecture
    /// the Release does not list, is [`ErrorKind::NotFound`]; a
    /// damaged state directory is a [`ErrorKind::Parse`] or [`ErrorKind::Io`]
    /// error naming the file, which is moved aside; state another user owns or
    /// others may write is [`ErrorKind::Verification`] (a file moved aside,
    /// the root left alone). None changes the state.
    pub async fn check(&self, package: &str, pin: Option<&Version>) -> Result<Status> {
        check_package_name(package)?;
        let mut warnings = Vec::new();
        if matches!(self.options.trust, SourceTrust::InsecureUnsigned) {
            let warning = format!(
                "{}: signatures are NOT checked (SourceTrust::InsecureUnsigned): whoever can write to the repository or the network path can install anything here",
                self.describe()
            );
            eprintln!("debpull: warning: {warning}");
            warnings.push(warning);
        }
        let state = self.state()?;
        let lock = state.lock(CHECK_LOCK_WAIT).await?;
        // The floor first: it holds whatever becomes of `state`.
        let floor = state.floor();
        let loaded = state.load()?;
        let floor = floor?;
        let floor = floor.max(loaded.as_ref().map(|a| a.date));
        // A snapshot accepted under other trust (unsigned, or a key no longer
        // trusted) is verified afresh (its Date still a floor).
        let accepted = loaded.filter(|a| self.trusts(a.signed_by.as_deref()));
        let installed = installed_version(&self.options.admin_dir, package)?;
        let (machine, machine_warning) = self.machine();
        let selection = Selection {
            pin,
            installed: installed.as_ref(),
            machine: machine.as_ref(),
        };
        let now = SystemTime::now();
        let (candidate, changed) = match self.fetch_signed(accepted.as_ref(), now).await? {
            Fetched::Unchanged => {
                let candidate = self
                    .answer_from_state(&state, accepted, package, &selection, now)
                    .await?;
                (candidate, false)
            }
            Fetched::Changed(change) => {
                let candidate = self
                    .accept(&state, &lock, floor, change, package, &selection, now)
                    .await?;
                (candidate, true)
            }
        };
        drop(lock);
        let Chosen {
            candidate,
            deferred,
        } = candidate;
        if deferred.is_some()
            && let Some(warning) = machine_warning
        {
            eprintln!("debpull: warning: {warning}");
            warnings.push(warning);
        }
        Ok(Status {
            package: package.to_owned(),
            installed,
            candidate,
            deferred,
            repository_changed: changed,
            warnings,
        })
    }

    /// The candidate when the signed file was not modified: from the package's
    /// record, else from the stored index (then recorded).
    async fn answer_from_state(
        &self,
        state: &StateDir,
        accepted: Option<Accepted>,
        package: &str,
        selection: &Selection<'_>,
        now: SystemTime,
    ) -> Result<Chosen> {
        let Some(accepted) = accepted else {
            return Err(Error::new(
                ErrorKind::Storage,
                format!("{}: 'not modified' without a condition", self.describe()),
            ));
        };
        check_valid_until(accepted.valid_until, now).map_err(|e| {
            e.context(format_args!(
                "{} (the accepted snapshot, not modified since)",
                self.describe()
            ))
        })?;
        let stanzas = match state.record(package, &accepted.index_sha256)? {
            Some(stanzas) => stanzas,
            None => {
                let index = state.read_index(&accepted.index_sha256)?;
                let stanzas = stanzas_of(&index, package, &self.architecture)
                    .map_err(|e| e.context(state.path().display()))?;
                state.write_record(package, &accepted.index_sha256, &stanzas)?;
                stanzas
            }
        };
        choose(&stanzas, selection).map_err(|e| {
            e.context(format_args!(
                "{}/packages/{package}",
                state.path().display()
            ))
        })
    }

    /// Verifies a changed signed file and its index, and commits the state.
    /// A pinned version absent from a good snapshot is [`ErrorKind::NotFound`]
    /// after the commit; any other failure leaves the state alone.
    #[allow(clippy::too_many_arguments)]
    async fn accept(
        &self,
        state: &StateDir,
        lock: &super::state::CheckLock,
        floor: Option<SystemTime>,
        change: Change,
        package: &str,
        selection: &Selection<'_>,
        now: SystemTime,
    ) -> Result<Chosen> {
        let Change {
            file,
            raw,
            signature,
            text,
            meta,
            signer,
        } = change;
        let key = self.suite_key(file.name());
        let at = |e: Error| e.context(format_args!("{}/{key}", self.storage));
        let release = Release::parse(&text).map_err(at)?;
        self.check_release(&release, floor, state.path(), now)
            .map_err(at)?;
        let (listed, index) = self.fetch_index(&release).await?;
        let index_at = |e: Error| {
            e.context(format_args!(
                "{}/{}",
                self.storage,
                self.suite_key(&listed.path)
            ))
        };
        let stanzas = stanzas_of(&index, package, &self.architecture).map_err(index_at)?;
        let candidate = choose(&stanzas, selection).map_err(index_at);
        if let Err(e) = &candidate
            && e.kind() != ErrorKind::NotFound
        {
            return candidate;
        }
        let new = Accepted {
            signed_file: file,
            etag: Some(meta.etag.clone()).filter(|e| !e.0.is_empty()),
            last_modified: usable_last_modified(meta.last_modified, now),
            date: release.date.unwrap_or(now),
            valid_until: release.valid_until,
            index: listed.path.clone(),
            index_sha256: sha256_hex(index.as_bytes()),
            signed_sha256: sha256_hex(&raw),
            signed_by: signer,
        };
        let mut signed: Vec<(&str, &[u8])> = vec![(file.name(), &raw)];
        if let Some(signature) = &signature {
            signed.push(("Release.gpg", signature));
        }
        state.commit(lock, &new, &signed, &index, (package, &stanzas))?;
        candidate
    }

    /// Forgets the rollback floor of this source: removes the floor and the
    /// accepted state from [`Source::check_state_dir`] (under the check lock),
    /// so that the next check accepts what the repository serves, older or
    /// not (its signature, Valid-Until, suite and hashes still verified, the
    /// index fetched afresh).
    ///
    /// Only for a repository that was legitimately restored to an older
    /// snapshot (a bucket restored from a backup or from object versions, a
    /// publisher whose clock lagged), when every check fails with "a replayed
    /// older snapshot (rollback) is refused": it switches rollback protection
    /// off until that next check. Prints a warning on stderr naming the
    /// directory and the Date forgotten. Publishing anew (a newer Date) is
    /// the other way out, with no reset.
    pub async fn reset_rollback_floor(&self) -> Result<()> {
        let state = self.state()?;
        let lock = state.lock(CHECK_LOCK_WAIT).await?;
        let forgotten = state.reset_floor(&lock)?;
        drop(lock);
        eprintln!(
            "debpull: warning: {}: the rollback floor was reset ({}, removed from {}): the next check accepts whatever snapshot the repository serves, older ones included",
            self.describe(),
            forgotten.map_or("no Date was recorded".to_owned(), |d| format!(
                "Date {} forgotten",
                crate::index::release::format_date(d)
            )),
            state.path().display()
        );
        Ok(())
    }

    /// This machine's id for staged rollouts: the one in the options (checked
    /// by [`Source::new`]), else `/etc/machine-id`'s; a warning when there is none.
    fn machine(&self) -> (Option<MachineId>, Option<String>) {
        if let Some(id) = &self.options.machine_id {
            return match MachineId::parse(id) {
                Ok(id) => (Some(id), None),
                Err(e) => (None, Some(e.message().to_owned())),
            };
        }
        match MachineId::read(std::path::Path::new(MACHINE_ID_PATH)) {
            Ok(id) => (Some(id), None),
            Err(warning) => (None, Some(warning)),
        }
    }

    /// The check state directory of this source.
    fn state(&self) -> Result<StateDir> {
        StateDir::open(
            &self.options.state_dir,
            &repository_key(&self.storage.to_string()),
            &self.options.suite,
            &self.options.component,
            &self.architecture,
        )
    }

    /// `dists/<suite>/<path>`.
    fn suite_key(&self, path: &str) -> String {
        format!("dists/{}/{path}", self.options.suite)
    }

    /// `<store> suite <suite>`, for messages.
    fn describe(&self) -> String {
        format!("{} suite {}", self.storage, self.options.suite)
    }

    /// The conditional GET of InRelease, or of Release (+ Release.gpg) for a
    /// suite without InRelease; the signed text verified.
    async fn fetch_signed(&self, accepted: Option<&Accepted>, now: SystemTime) -> Result<Fetched> {
        let same = |file: SignedFile| accepted.filter(|a| a.signed_file == file);
        let conditions = |file: SignedFile| {
            let mut options = GetOptions {
                max_size: Some(MAX_RELEASE_SIZE),
                ..GetOptions::default()
            };
            if let Some(a) = same(file) {
                options.if_none_match = a.etag.clone().filter(|e| !e.0.is_empty());
                if options.if_none_match.is_none() {
                    options.if_modified_since = a.last_modified;
                }
            }
            options
        };
        // A 304 is an answer only to a request that carried a condition.
        let not_modified = |key: &str, options: &GetOptions| {
            if options.if_none_match.is_some() || options.if_modified_since.is_some() {
                Ok(Fetched::Unchanged)
            } else {
                Err(Error::new(
                    ErrorKind::Storage,
                    format!(
                        "{}/{key}: 'not modified' to a request without a condition",
                        self.storage
                    ),
                ))
            }
        };
        // The very file accepted last (a store without validators, or whose
        // validator changed): nothing to verify again.
        let unchanged = |file: SignedFile, data: &[u8]| {
            same(file).is_some_and(|a| a.signed_sha256 == sha256_hex(data))
        };
        let key = self.suite_key("InRelease");
        let at = |key: &str| {
            let store = self.storage.to_string();
            let key = key.to_owned();
            move |e: Error| e.context(format_args!("{store}/{key}"))
        };
        let options = conditions(SignedFile::InRelease);
        let no_inrelease = match self.storage.get(&key, options.clone()).await {
            Ok(GetResult::NotModified) => return not_modified(&key, &options),
            Ok(GetResult::Found { data, .. }) if unchanged(SignedFile::InRelease, &data) => {
                return Ok(Fetched::Unchanged);
            }
            Ok(GetResult::Found { data, meta }) => {
                let text = control::from_utf8(&data).map_err(at(&key))?;
                let (text, signer) = self.verify_cleartext(text, now).map_err(at(&key))?;
                return Ok(Fetched::Changed(Change {
                    file: SignedFile::InRelease,
                    text,
                    raw: data,
                    signature: None,
                    meta,
                    signer,
                }));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => e,
            Err(e) => return Err(e),
        };
        // No InRelease: Release and its detached signature (apt does the same).
        let key = self.suite_key("Release");
        let options = conditions(SignedFile::Release);
        let (data, meta) = match self.storage.get(&key, options.clone()).await {
            Ok(GetResult::NotModified) => return not_modified(&key, &options),
            Ok(GetResult::Found { data, .. }) if unchanged(SignedFile::Release, &data) => {
                return Ok(Fetched::Unchanged);
            }
            Ok(GetResult::Found { data, meta }) => (data, meta),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(missing_because(
                    format!(
                        "{}: neither dists/{suite}/InRelease nor dists/{suite}/Release exists",
                        self.storage,
                        suite = self.options.suite
                    ),
                    vec![no_inrelease, e],
                ));
            }
            Err(e) => return Err(e),
        };
        let (text, signature, signer) = match &self.options.trust {
            SourceTrust::Keys(keys) => {
                let sig_key = self.suite_key("Release.gpg");
                let options = GetOptions {
                    max_size: Some(MAX_SIGNATURE_SIZE),
                    ..GetOptions::default()
                };
                let signature = match self.storage.get(&sig_key, options).await {
                    Ok(GetResult::Found { data, .. }) => data,
                    Ok(GetResult::NotModified) => {
                        return Err(Error::new(
                            ErrorKind::Storage,
                            format!("{}/{sig_key}: unexpected 'not modified'", self.storage),
                        ));
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        return Err(missing_because(
                            format!(
                                "{}/dists/{}: no InRelease and no Release.gpg: the suite is not signed",
                                self.storage, self.options.suite
                            ),
                            vec![no_inrelease, e],
                        )
                        .with_kind(ErrorKind::Verification));
                    }
                    Err(e) => return Err(e),
                };
                let verified = keys
                    .verify_detached(&data, &signature, now)
                    .map_err(at(&sig_key))?;
                (verified.text, Some(signature), Some(verified.signer))
            }
            SourceTrust::InsecureUnsigned => {
                let text = control::from_utf8(&data).map_err(at(&key))?.to_owned();
                (text, None, None)
            }
        };
        Ok(Fetched::Changed(Change {
            file: SignedFile::Release,
            raw: data,
            signature,
            text,
            meta,
            signer,
        }))
    }

    /// Whether a snapshot signed by `signer` (`None`: not checked) is trusted now.
    fn trusts(&self, signer: Option<&str>) -> bool {
        match (&self.options.trust, signer) {
            (SourceTrust::InsecureUnsigned, _) => true,
            (SourceTrust::Keys(keys), Some(signer)) => {
                keys.fingerprints().iter().any(|f| f == signer)
            }
            (SourceTrust::Keys(_), None) => false,
        }
    }

    /// The signed text of a clearsigned InRelease, verified as the trust says,
    /// and the fingerprint of the trusted key that signed.
    fn verify_cleartext(&self, text: &str, now: SystemTime) -> Result<(String, Option<String>)> {
        match &self.options.trust {
            SourceTrust::Keys(keys) => {
                let verified = keys.verify_cleartext(text, now)?;
                Ok((verified.text, Some(verified.signer)))
            }
            SourceTrust::InsecureUnsigned => {
                if !text
                    .trim_start()
                    .starts_with("-----BEGIN PGP SIGNED MESSAGE-----")
                {
                    return Ok((text.to_owned(), None));
                }
                let (message, _) = CleartextSignedMessage::from_string(text).map_err(|e| {
                    Error::new(
                        ErrorKind::Parse,
                        format!("not a clearsigned OpenPGP message: {e}"),
                    )
                })?;
                let mut signed = message.signed_text().replace("\r\n", "\n");
                if !signed.is_empty() {
                    signed.push('\n');
                }
                Ok((signed, None))
            }
        }
    }

    /// Rollback (against `floor`, the newest Date accepted, kept in
    /// `state_dir`), future Date, freeze, suite, component and architecture checks.
    fn check_release(
        &self,
        release: &Release,
        floor: Option<SystemTime>,
        state_dir: &std::path::Path,
        now: SystemTime,
    ) -> Result<()> {
        check_suite(release, &self.options.suite)?;
        let Some(date) = release.date else {
            return Err(Error::new(
                ErrorKind::Verification,
                "field Date is missing: a rollback could not be detected",
            ));
        };
        if date > now + MAX_CLOCK_SKEW {
            return Err(Error::new(
                ErrorKind::Verification,
                format!(
                    "field Date {} is more than {} s ahead of this machine's clock ({}): a snapshot from the future is refused (it would make every later one a rollback)",
                    crate::index::release::format_date(date),
                    MAX_CLOCK_SKEW.as_secs(),
                    crate::index::release::format_date(now)
                ),
            ));
        }
        if let Some(previous) = floor
            && date < previous
        {
            return Err(Error::new(
                ErrorKind::Verification,
                format!(
                    "field Date {} is older than the last accepted {}: a replayed older snapshot (rollback) is refused; \
                     the floor is {} (with {}): if the repository was legitimately restored to an older snapshot, \
                     publish anew (a newer Date), or call Source::reset_rollback_floor (or remove both files) and check again",
                    crate::index::release::format_date(date),
                    crate::index::release::format_date(previous),
                    state_dir.join("floor").display(),
                    state_dir.join("state").display()
                ),
            ));
        }
        check_valid_until(release.valid_until, now)?;
        let component = &self.options.component;
        if !release.components.is_empty() && !release.components.contains(component) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "field Components does not list {component:?} ({})",
                    release.components.join(" ")
                ),
            ));
        }
        let arch = &self.architecture;
        if !release.architectures.is_empty() && !release.architectures.contains(arch) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "field Architectures does not list {arch:?} ({})",
                    release.architectures.join(" ")
                ),
            ));
        }
        Ok(())
    }

    /// The one Packages index: the smallest readable form listed, verified,
    /// decompressed. Returns the form read and the text.
    async fn fetch_index<'r>(&self, release: &'r Release) -> Result<(&'r ReleaseFile, String)> {
        let base = format!(
            "{}/binary-{}/Packages",
            self.options.component, self.architecture
        );
        let release_key = self.suite_key("InRelease");
        let mut forms: Vec<(&ReleaseFile, Compression)> = READABLE
            .iter()
            .filter_map(|&c| {
                release
                    .file(&format!("{base}{}", c.extension()))
                    .map(|f| (f, c))
            })
            .collect();
        // Smallest first; a stable sort keeps READABLE's order on equal sizes.
        forms.sort_by_key(|(f, _)| f.size);
        if forms.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{}/{release_key}: the Release lists no {base} that debpull reads (uncompressed, gzip, xz, zstd)",
                    self.storage
                ),
            ));
        }
        let mut found = None;
        let mut missing = Vec::new();
        for (file, compression) in &forms {
            match read_listed_or_missing(&*self.storage, &self.options.suite, release, file).await?
            {
                Ok(bytes) => {
                    found = Some((*file, *compression, bytes));
                    break;
                }
                Err(e) => missing.push(e),
            }
        }
        let Some((file, compression, bytes)) = found else {
            let names: Vec<&str> = forms.iter().map(|(f, _)| f.path.as_str()).collect();
            return Err(missing_because(
                format!(
                    "{}/dists/{}: {} listed in the Release but missing (by hash and at their paths)",
                    self.storage,
                    self.options.suite,
                    names.join(", ")
                ),
                missing,
            ));
        };
        let key = self.suite_key(&file.path);
        let at = |e: Error| e.context(format_args!("{}/{key}", self.storage));
        let limit = release
            .file(&base)
            .map_or(MAX_INDEX, |f| f.size.min(MAX_INDEX));
        let text = match compression {
            Compression::None => bytes,
            c => c
                .decompress(&bytes[..], Bounds::output(limit))
                .map_err(at)?,
        };
        let text = String::from_utf8(text).map_err(|e| {
            at(Error::new(
                ErrorKind::Parse,
                format!("invalid UTF-8 after byte {}", e.utf8_error().valid_up_to()),
            ))
        })?;
        Ok((file, text))
    }
}

/// A [`ErrorKind::NotFound`] error saying `what`, followed by what the store
/// said of each key tried (`causes`: e.g. a 403 taken as missing, so that a
/// denied access does not read as a missing suite); the last is its source.
fn missing_because(what: String, causes: Vec<Error>) -> Error {
    let said: Vec<&str> = causes.iter().map(Error::message).collect();
    let message = if said.is_empty() {
        what
    } else {
        format!("{what} (the store said: {})", said.join("; "))
    };
    let error = Error::new(ErrorKind::NotFound, message);
    match causes.into_iter().last() {
        Some(last) => error.with_source(last),
        None => error,
    }
}

/// The stanzas of `package` for `arch` or `all` in a Packages index, as
/// written there (each followed by a blank line). Other stanzas are only split
/// into fields, not checked.
fn stanzas_of(index: &str, package: &str, arch: &str) -> Result<String> {
    let mut out = String::new();
    for paragraph in control::paragraphs(index) {
        let paragraph = paragraph?;
        if paragraph.get("Package") != Some(package) {
            continue;
        }
        let a = paragraph.get("Architecture").unwrap_or_default();
        if a == arch || a == "all" {
            out.push_str(&paragraph.to_string());
            out.push('\n');
        }
    }
    Ok(out)
}

/// What candidate selection takes into account besides the stanzas.
pub(super) struct Selection<'a> {
    /// Exactly this version (overrides phasing).
    pub pin: Option<&'a Version>,
    /// The version installed.
    pub installed: Option<&'a Version>,
    /// This machine's id for staged rollouts.
    pub machine: Option<&'a MachineId>,
}

/// The candidate chosen, and the phased version skipped for it.
pub(super) struct Chosen {
    pub candidate: Option<Package>,
    pub deferred: Option<Deferred>,
}

/// The candidate among `stanzas`: `pin`, else the highest version, unless a
/// staged rollout keeps it from this machine (see [`crate::phasing`]): then the
/// newest version this machine is included in, not lower than the installed
/// one (which is kept: `None` when the suite no longer lists it); with nothing
/// installed and no such version, the phased one. Its Filename, Size and
/// SHA256 are checked ([`ErrorKind::Verification`] naming the field).
fn choose(stanzas: &str, selection: &Selection<'_>) -> Result<Chosen> {
    let mut all: Vec<(Version, control::Paragraph<'_>)> = Vec::new();
    for paragraph in control::paragraphs(stanzas) {
        let paragraph = paragraph?;
        let Some(field) = paragraph.field("Version") else {
            return Err(Error::new(
                ErrorKind::Parse,
                format!("line {}: missing field Version", paragraph.line()),
            ));
        };
        let version = Version::parse(field.value())
            .map_err(|e| e.context(format_args!("line {}: field Version", field.line())))?;
        all.push((version, paragraph));
    }
    if let Some(pin) = selection.pin {
        return match all.into_iter().find(|(v, _)| v == pin) {
            Some((version, paragraph)) => Ok(Chosen {
                candidate: Some(checked(version, &paragraph)?),
                deferred: None,
            }),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("version {pin} is not in the suite for this architecture"),
            )),
        };
    }
    // Highest first; a stable sort keeps the first of equal versions first.
    all.sort_by(|(a, _), (b, _)| b.cmp(a));
    let Some((highest, _)) = all.first() else {
        return Ok(Chosen {
            candidate: None,
            deferred: None,
        });
    };
    let phase = |paragraph: &control::Paragraph<'_>, version: &Version| {
        crate::phasing::decide(
            paragraph.get("Package").unwrap_or_default(),
            paragraph.get("Source"),
            version.as_str(),
            paragraph.get(crate::phasing::FIELD),
            selection.machine,
        )
    };
    let take = |i: usize, deferred: Option<Deferred>| {
        let (version, paragraph) = &all[i];
        Ok(Chosen {
            candidate: Some(checked(version.clone(), paragraph)?),
            deferred,
        })
    };
    let installed_at_least = selection.installed.is_some_and(|i| i >= highest);
    let (percentage, included) = match phase(&all[0].1, highest) {
        Some(decision) if !installed_at_least => decision,
        _ => return take(0, None),
    };
    if included {
        return take(0, None);
    }
    let deferred = Some(Deferred {
        version: highest.clone(),
        percentage,
    });
    let next = all
        .iter()
        .position(|(v, p)| v < highest && phase(p, v).is_none_or(|(_, included)| included));
    match (selection.installed, next) {
        (None, Some(i)) => take(i, deferred),
        // A first install takes the phased version: nothing is deferred.
        (None, None) => take(0, None),
        (Some(installed), Some(i)) if all[i].0 >= *installed => take(i, deferred),
        (Some(installed), _) => match all.iter().position(|(v, _)| v == installed) {
            Some(i) => take(i, deferred),
            None => Ok(Chosen {
                candidate: None,
                deferred,
            }),
        },
    }
}

/// The package of a candidate stanza, its Filename, Size and SHA256 checked.
fn checked(version: Version, paragraph: &control::Paragraph<'_>) -> Result<Package> {
    let line = paragraph.line();
    let bad = |field: &str, why: String| {
        Error::new(
            ErrorKind::Verification,
            format!("line {line}: candidate {version}: field {field}: {why}"),
        )
    };
    let filename = paragraph
        .get("Filename")
        .ok_or_else(|| bad("Filename", "missing".into()))?;
    check_key(filename).map_err(|_| {
        bad(
            "Filename",
            format!("{filename:?} is not a clean relative path inside the repository"),
        )
    })?;
    let size = paragraph
        .get("Size")
        .ok_or_else(|| bad("Size", "missing".into()))?;
    if size.parse::<u64>().is_err() {
        return Err(bad("Size", format!("{size:?} is not a size in bytes")));
    }
    let sha256 = paragraph
        .get("SHA256")
        .ok_or_else(|| bad("SHA256", "missing".into()))?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("SHA256", format!("{sha256:?} is not a SHA256")));
    }
    Package::from_paragraph(paragraph)
}

/// Refuses a snapshot whose `Valid-Until` has passed.
fn check_valid_until(valid_until: Option<SystemTime>, now: SystemTime) -> Result<()> {
    match valid_until {
        Some(until) if until < now => Err(Error::new(
            ErrorKind::Verification,
            format!(
                "field Valid-Until {} has passed: the repository is frozen or replayed",
                crate::index::release::format_date(until)
            ),
        )),
        _ => Ok(()),
    }
}

/// A package name as Debian Policy allows (it becomes a file name in the state).
fn check_package_name(name: &str) -> Result<()> {
    if crate::index::package::is_package_name(name) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{name:?} is not a valid package name"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANZAS: &str = "Package: app\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/a/app_1.0.deb\nSize: 10\nSHA256: 0000000000000000000000000000000000000000000000000000000000000000\n\n\
        Package: app\nVersion: 2.0\nArchitecture: all\nFilename: pool/a/app_2.0.deb\nSize: 10\nSHA256: 1111111111111111111111111111111111111111111111111111111111111111\n\n";

    fn select(pin: Option<&Version>) -> Selection<'_> {
        Selection {
            pin,
            installed: None,
            machine: None,
        }
    }

    #[test]
    fn the_candidate_is_the_highest_or_the_pinned() {
        let best = choose(STANZAS, &select(None)).unwrap().candidate.unwrap();
        assert_eq!(best.version().as_str(), "2.0");
        let pin = Version::parse("1.0").unwrap();
        let pinned = choose(STANZAS, &select(Some(&pin)))
            .unwrap()
            .candidate
            .unwrap();
        assert_eq!(pinned.version().as_str(), "1.0");
        let absent = Version::parse("3").unwrap();
        let err = choose(STANZAS, &select(Some(&absent)))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(choose("", &select(None)).unwrap().candidate.is_none());
    }

    #[test]
    fn unusable_candidates_name_the_field() {
        for (from, to, field) in [
            ("pool/a/app_2.0.deb", "../../etc/passwd", "Filename"),
            ("pool/a/app_2.0.deb", "/etc/passwd", "Filename"),
            ("Size: 10\nSHA256: 1", "SHA256: 1", "Size"),
            ("SHA256: 1111", "SHA1: 1111", "SHA256"),
        ] {
            let text = STANZAS.replace(from, to);
            let err = choose(&text, &select(None)).map(|_| ()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn stanzas_are_those_of_the_package_and_architecture() {
        let index = format!(
            "{STANZAS}Package: app\nVersion: 9\nArchitecture: arm64\n\nPackage: other\nVersion: 9\nArchitecture: all\n\n"
        );
        let got = stanzas_of(&index, "app", "amd64").unwrap();
        assert_eq!(got, STANZAS);
    }
}
