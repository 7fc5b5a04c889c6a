//! Repositories (`debpull_repository_*`): open a signed apt repository in a
//! storage (`file://`, `s3://`) and publish, promote, remove, prune, list,
//! verify and garbage-collect. Its options: `repository_options.rs`.

use std::ffi::{CString, c_char, c_void};
use std::path::PathBuf;

use debpull::repo::{Progress, Replace, Repository};
use debpull::sign::TrustedKeys;
use debpull::{Error, ErrorKind, Version};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};
use crate::package::DebpullPackageList;
use crate::repository_options::DebpullRepositoryOptions;

/// A signed apt repository in a storage, and the key that signs it. Safe to
/// use from several threads at once (each call is a complete operation;
/// concurrent changes to one suite retry against each other). Made by
/// `debpull_repository_open`, freed with `debpull_repository_free`.
pub struct DebpullRepository {
    pub(crate) repository: Repository,
}

/// Opens the repository at `uri` (`file:///absolute/path`,
/// `s3://bucket/prefix?region=...`) with `options` (a signing key is
/// required) and writes it to `*out`, owned by the caller
/// (`debpull_repository_free`). Borrows `uri` and `options` (which may be
/// freed or reused afterwards). Nothing is read or written yet. S3
/// credentials come from the environment (`AWS_ACCESS_KEY_ID`, profiles,
/// instance metadata). A region or endpoint set for a URI that is not `s3://`,
/// an invalid default architecture or no signing key is
/// `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_open(
    uri: *const c_char,
    options: *const DebpullRepositoryOptions,
    out: *mut *mut DebpullRepository,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a NUL-terminated string; NULL or live options.
        let uri = unsafe { args::non_empty_str(uri, "uri") }?;
        // SAFETY: as above.
        let options = unsafe { args::borrow(options, "options") }?;
        args::out(out, "out")?;
        let (key, repo_options, open_options) = options.parts()?;
        let storage = debpull::storage::open_with(uri, open_options)?;
        let repository = Repository::new(storage, key.clone(), repo_options.clone())?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(DebpullRepository { repository })) };
        Ok(())
    })
}

/// What a progress event reports.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebpullProgressKind {
    /// A `.deb` was read and hashed: `name` is its path, `bytes` its size.
    Hashed = 0,
    /// An object was written to storage: `name` is its key, `bytes` its size.
    Uploaded = 1,
    /// The suite's new InRelease was written, the change is visible: `name` is
    /// the suite, `attempts` how many attempts it took.
    Committed = 2,
}

/// A progress event, borrowed by the callback for the duration of the call
/// (on the calling thread; copy `name` to keep it).
#[repr(C)]
pub struct DebpullProgress {
    /// What happened.
    pub kind: DebpullProgressKind,
    /// The path, storage key or suite (see the kind), NUL-terminated UTF-8.
    pub name: *const c_char,
    /// The size in bytes (0 for `DEBPULL_PROGRESS_KIND_COMMITTED`).
    pub bytes: u64,
    /// Attempts of a commit (0 for the other kinds).
    pub attempts: u32,
}

/// Receives progress events: `progress` is borrowed for the call only,
/// `user_data` is what the caller passed along. Runs on the thread that
/// called the operation, before it returns; it must not call blocking
/// debpull functions.
pub type DebpullProgressCallback =
    Option<unsafe extern "C" fn(progress: *const DebpullProgress, user_data: *mut c_void)>;

/// Calls `callback` with `progress`, if there is a callback.
fn report_progress(callback: DebpullProgressCallback, user_data: *mut c_void, progress: Progress) {
    let Some(callback) = callback else {
        return;
    };
    let (kind, name, bytes, attempts) = match progress {
        Progress::Hashed { path, bytes } => (
            DebpullProgressKind::Hashed,
            path.to_string_lossy().into_owned(),
            bytes,
            0,
        ),
        Progress::Uploaded { key, bytes } => (DebpullProgressKind::Uploaded, key, bytes, 0),
        Progress::Committed { suite, attempts } => {
            (DebpullProgressKind::Committed, suite, 0, attempts)
        }
    };
    // Paths, keys and suites came from C strings or checked names: no NUL.
    let name = CString::new(name).unwrap_or_default();
    let event = DebpullProgress {
        kind,
        name: name.as_ptr(),
        bytes,
        attempts,
    };
    // SAFETY: the caller's callback, with the event live for the call.
    unsafe { callback(&event, user_data) };
}

/// What `debpull_repository_publish` did. Immutable: safe to share between
/// threads. Owned by the caller, `debpull_publish_report_free`.
pub struct DebpullPublishReport {
    added: DebpullPackageList,
    unchanged: DebpullPackageList,
    replaced: DebpullPackageList,
    /// Packages there already whose rollout percentage changed.
    pub(crate) rephased: DebpullPackageList,
    attempts: u32,
}

/// Publishes the `count` `.deb` files at `debs` (paths) into `component` of
/// `suite` (created if needed) and writes what it did to `*out`, owned by the
/// caller (`debpull_publish_report_free`). A package already there
/// identically is left alone; one with the same name, version and
/// architecture but other content is `DEBPULL_STATUS_CONFLICT` (nothing is
/// published) unless `replace` is true. `progress` (may be NULL) is called
/// with `user_data` for each file hashed, object uploaded and the commit, on
/// this thread. Borrows every string. A missing file is `DEBPULL_STATUS_IO`,
/// one that is not a `.deb` `DEBPULL_STATUS_PARSE`, both naming it.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // The C signature: inputs, callback, output, error.
pub extern "C" fn debpull_repository_publish(
    repository: *const DebpullRepository,
    suite: *const c_char,
    component: *const c_char,
    debs: *const *const c_char,
    count: usize,
    replace: bool,
    progress: DebpullProgressCallback,
    user_data: *mut c_void,
    out: *mut *mut DebpullPublishReport,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        publish_raw(
            repository, suite, component, debs, count, replace, None, progress, user_data, out,
        )
    })
}

/// `debpull_repository_publish`, and with a rollout `percentage`
/// `debpull_repository_publish_phased`, inside the panic boundary.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish_raw(
    repository: *const DebpullRepository,
    suite: *const c_char,
    component: *const c_char,
    debs: *const *const c_char,
    count: usize,
    replace: bool,
    percentage: Option<u8>,
    progress: DebpullProgressCallback,
    user_data: *mut c_void,
    out: *mut *mut DebpullPublishReport,
) -> debpull::Result<()> {
    // SAFETY: NULL or a live repository; NULL or NUL-terminated strings;
    // `debs` NULL or `count` string pointers.
    let (repository, suite, component, debs) = unsafe {
        (
            args::borrow(repository, "repository")?,
            args::non_empty_str(suite, "suite")?,
            args::non_empty_str(component, "component")?,
            args::str_array(debs, count, "debs")?,
        )
    };
    args::out(out, "out")?;
    if debs.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, "debs: no file given"));
    }
    if let Some(i) = debs.iter().position(|d| d.is_empty()) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("debs[{i}] is empty"),
        ));
    }
    let debs: Vec<PathBuf> = debs.into_iter().map(PathBuf::from).collect();
    let replace = if replace {
        Replace::Always
    } else {
        Replace::Never
    };
    let repo = &repository.repository;
    let report = crate::run::block_on_with_events(
        |sender| async move {
            let send = move |event: Progress| {
                let _ = sender.send(event);
            };
            let options = debpull::repo::PublishOptions {
                replace,
                percentage,
            };
            repo.publish_with(suite, component, &debs, &options, &send)
                .await
        },
        |event| report_progress(progress, user_data, event),
    )?;
    let report = DebpullPublishReport {
        added: DebpullPackageList::new(report.added)?,
        unchanged: DebpullPackageList::new(report.unchanged)?,
        replaced: DebpullPackageList::new(report.replaced)?,
        rephased: DebpullPackageList::new(report.rephased)?,
        attempts: report.attempts,
    };
    // SAFETY: checked not NULL above.
    unsafe { args::write(out, args::into_handle(report)) };
    Ok(())
}

/// A package list borrowed from a report (publish or promote): NULL for NULL.
pub(crate) fn report_list<R>(
    report: *const R,
    get: impl FnOnce(&R) -> &DebpullPackageList,
) -> *const DebpullPackageList {
    args::read(report, std::ptr::null(), |r| get(r) as *const _)
}

/// The packages new in the suite, borrowed from `report` (valid until it is
/// freed; never free it). NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_publish_report_added(
    report: *const DebpullPublishReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.added)
}

/// The packages that were there already, identical, borrowed from `report`.
/// NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_publish_report_unchanged(
    report: *const DebpullPublishReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.unchanged)
}

/// The packages that replaced others with the same name, version and
/// architecture, borrowed from `report`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_publish_report_replaced(
    report: *const DebpullPublishReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.replaced)
}

/// The attempts the commit took (more than 1 after lost races against other
/// publishers; 0 when there was nothing to commit, and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_publish_report_attempts(report: *const DebpullPublishReport) -> u32 {
    args::read(report, 0, |r| r.attempts)
}

/// Frees `report` and its lists. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_publish_report_free(report: *mut DebpullPublishReport) {
    // SAFETY: NULL or a report from debpull, not used again.
    guard((), || unsafe { args::free(report) })
}

/// Runs `operation` on the repository and writes the packages it returns as a
/// new list to `out`.
pub(crate) fn list_operation(
    repository: *const DebpullRepository,
    out: *mut *mut DebpullPackageList,
    operation: impl AsyncFnOnce(&Repository) -> debpull::Result<Vec<debpull::Package>>,
) -> debpull::Result<()> {
    // SAFETY: NULL or a live repository from debpull.
    let repository = unsafe { args::borrow(repository, "repository") }?;
    args::out(out, "out")?;
    let packages = crate::run::block_on(operation(&repository.repository))?;
    let list = DebpullPackageList::new(packages)?;
    // SAFETY: checked not NULL above.
    unsafe { args::write(out, args::into_handle(list)) };
    Ok(())
}

/// Copies package `name` at `version` (every architecture of it) from suite
/// `from` to suite `to`, sharing the pool files, and writes the entries added
/// to `to` to `*out` (empty when they were all there already), owned by the
/// caller (`debpull_package_list_free`). Borrows every string. A missing
/// suite or package is `DEBPULL_STATUS_NOT_FOUND`. A `version` lower than
/// the newest of `name` in `to` is refused (`DEBPULL_STATUS_CONFLICT`): roll
/// back with `debpull_repository_rollback`. For the rollout percentage and
/// everything the promote did, `debpull_repository_promote_phased`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_promote(
    repository: *const DebpullRepository,
    name: *const c_char,
    version: *const c_char,
    from: *const c_char,
    to: *const c_char,
    out: *mut *mut DebpullPackageList,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or NUL-terminated strings.
        let (name, version, from, to) = unsafe {
            (
                args::non_empty_str(name, "name")?,
                args::non_empty_str(version, "version")?,
                args::non_empty_str(from, "from")?,
                args::non_empty_str(to, "to")?,
            )
        };
        list_operation(repository, out, async |repo| {
            repo.promote(name, &Version::parse(version)?, from, to)
                .await
        })
    })
}

/// Removes package `name` from `suite`: the one `version`, or every version
/// when `version` is NULL. Writes the entries removed to `*out`, owned by the
/// caller (`debpull_package_list_free`). Borrows every string. Nothing
/// matching is `DEBPULL_STATUS_NOT_FOUND`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_remove(
    repository: *const DebpullRepository,
    suite: *const c_char,
    name: *const c_char,
    version: *const c_char,
    out: *mut *mut DebpullPackageList,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or NUL-terminated strings (`version` may be NULL).
        let (suite, name, version) = unsafe {
            (
                args::non_empty_str(suite, "suite")?,
                args::non_empty_str(name, "name")?,
                args::opt_str(version, "version")?,
            )
        };
        list_operation(repository, out, async |repo| {
            let version = version.map(Version::parse).transpose()?;
            repo.remove(suite, name, version.as_ref()).await
        })
    })
}

/// Keeps the newest `keep` versions (at least 1) of every package and
/// architecture in `suite` and writes the entries removed to `*out`, owned by
/// the caller (`debpull_package_list_free`). Borrows `suite`. A missing suite
/// is `DEBPULL_STATUS_NOT_FOUND`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_prune(
    repository: *const DebpullRepository,
    suite: *const c_char,
    keep: usize,
    out: *mut *mut DebpullPackageList,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a NUL-terminated string.
        let suite = unsafe { args::non_empty_str(suite, "suite") }?;
        list_operation(repository, out, async |repo| repo.prune(suite, keep).await)
    })
}

/// Writes the packages of `suite` (each once, sorted by name, version and
/// architecture) to `*out`, owned by the caller (`debpull_package_list_free`).
/// Borrows `suite`. A missing suite is `DEBPULL_STATUS_NOT_FOUND`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_list(
    repository: *const DebpullRepository,
    suite: *const c_char,
    out: *mut *mut DebpullPackageList,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a NUL-terminated string.
        let suite = unsafe { args::non_empty_str(suite, "suite") }?;
        list_operation(repository, out, async |repo| repo.list(suite).await)
    })
}

/// What `debpull_repository_verify` checked.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DebpullVerifyReport {
    /// Files the Release lists, each checked at its plain path and by hash.
    pub index_files: usize,
    /// Distinct packages in the suite's indexes.
    pub packages: usize,
    /// Distinct pool files checked against their Packages entries.
    pub pool_files: usize,
    /// Bytes read and hashed.
    pub bytes: u64,
}

/// Checks `suite` as a client would (the InRelease signature, every index's
/// size and checksums, every pool file) and writes what it checked to `*out`.
/// The signature is checked against the OpenPGP public keys in the `len`
/// bytes at `keys` (armored or binary), or against the repository's own key
/// when `keys` is NULL and `len` 0. Borrows `suite` and `keys`. A bad
/// signature or damaged file is `DEBPULL_STATUS_VERIFICATION` naming it; a
/// missing suite `DEBPULL_STATUS_NOT_FOUND`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_verify(
    repository: *const DebpullRepository,
    suite: *const c_char,
    keys: *const u8,
    len: usize,
    out: *mut DebpullVerifyReport,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live repository; NULL or a NUL-terminated string;
        // `keys` NULL or `len` readable bytes.
        let (repository, suite, key_bytes) = unsafe {
            (
                args::borrow(repository, "repository")?,
                args::non_empty_str(suite, "suite")?,
                args::bytes(keys, len, "keys")?,
            )
        };
        args::out(out, "out")?;
        let given;
        let trusted = if keys.is_null() {
            repository.repository.own_keys()
        } else {
            given = TrustedKeys::from_bytes(key_bytes)?;
            &given
        };
        let report = crate::run::block_on(repository.repository.verify(suite, trusted))?;
        let report = DebpullVerifyReport {
            index_files: report.index_files,
            packages: report.packages,
            pool_files: report.pool_files,
            bytes: report.bytes,
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, report) };
        Ok(())
    })
}

/// What `debpull_repository_gc` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DebpullGcReport {
    /// Suites whose references were collected.
    pub suites: usize,
    /// Objects deleted.
    pub deleted: usize,
    /// Unreferenced objects kept until their grace period ends.
    pub pending: usize,
    /// Pool and by-hash objects still referenced.
    pub referenced: usize,
}

/// Deletes pool files no suite lists and by-hash indexes no Release lists,
/// once they have been unreferenced for at least `grace_seconds` (counted
/// from the first gc that saw them so; at most 10 years), and writes what it
/// did to `*out`. Borrows `repository`. Blocks.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_gc(
    repository: *const DebpullRepository,
    grace_seconds: u64,
    out: *mut DebpullGcReport,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live repository from debpull.
        let repository = unsafe { args::borrow(repository, "repository") }?;
        args::out(out, "out")?;
        let grace = args::seconds(grace_seconds, "grace_seconds")?;
        let report = crate::run::block_on(repository.repository.gc(grace))?;
        let report = DebpullGcReport {
            suites: report.suites.len(),
            deleted: report.deleted.len(),
            pending: report.pending,
            referenced: report.referenced,
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, report) };
        Ok(())
    })
}

/// Frees `repository`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_free(repository: *mut DebpullRepository) {
    // SAFETY: NULL or a repository from debpull_repository_open, not used again.
    guard((), || unsafe { args::free(repository) })
}
