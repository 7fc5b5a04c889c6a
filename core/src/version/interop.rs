//! Conversions to and from `debversion::Version` (feature `debversion`).

use super::Version;
use crate::error::{Error, ErrorKind};

impl From<&Version> for debversion::Version {
    /// The same parts; the epoch is `Some` when the string spells one out.
    fn from(v: &Version) -> debversion::Version {
        debversion::Version {
            epoch: v.has_epoch().then_some(v.epoch()),
            upstream_version: v.upstream().to_owned(),
            debian_revision: v.revision().map(str::to_owned),
        }
    }
}

impl From<Version> for debversion::Version {
    fn from(v: Version) -> debversion::Version {
        debversion::Version::from(&v)
    }
}

impl TryFrom<&debversion::Version> for Version {
    type Error = Error;

    /// Parses the other crate's string form with dpkg's rules.
    fn try_from(v: &debversion::Version) -> Result<Version, Error> {
        Version::parse(&v.to_string()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidVersion,
                format!("debversion::Version: {}", e.message()),
            )
        })
    }
}

impl TryFrom<debversion::Version> for Version {
    type Error = Error;

    fn try_from(v: debversion::Version) -> Result<Version, Error> {
        Version::try_from(&v)
    }
}
