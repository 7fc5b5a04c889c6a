//! Checks of arguments from Ruby, beyond their types: the errors they raise
//! are `Debpull::InvalidInput`, naming the argument.

use std::path::PathBuf;
use std::time::Duration;

use debpull::{Error as CoreError, ErrorKind};
use magnus::{Error, Ruby};

/// The longest duration accepted (a timeout, a grace period, Valid-Until):
/// 10 years, in seconds; more is a mistake.
pub(crate) const MAX_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// A core error of kind `InvalidInput` as a Ruby exception.
pub(crate) fn invalid(ruby: &Ruby, message: impl Into<String>) -> Error {
    crate::error::to_ruby(ruby, CoreError::new(ErrorKind::InvalidInput, message))
}

/// A path (from a String or Pathname), refusing an empty one (named `what`).
pub(crate) fn path(ruby: &Ruby, path: PathBuf, what: &str) -> Result<PathBuf, Error> {
    if path.as_os_str().is_empty() {
        return Err(invalid(ruby, format!("{what} is empty")));
    }
    Ok(path)
}

/// `seconds` as a duration named `what`, from 0 (from 1 ns when `positive`)
/// to [`MAX_SECONDS`].
pub(crate) fn seconds(
    ruby: &Ruby,
    seconds: f64,
    what: &str,
    positive: bool,
) -> Result<Duration, Error> {
    let duration = Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| *d <= Duration::from_secs(MAX_SECONDS));
    match duration {
        None => Err(invalid(
            ruby,
            format!("{what}: {seconds} seconds is not between 0 and 10 years ({MAX_SECONDS} s)"),
        )),
        Some(d) if positive && d.is_zero() => Err(invalid(
            ruby,
            format!("{what} is 0 seconds: nothing could finish in time"),
        )),
        Some(d) => Ok(d),
    }
}
