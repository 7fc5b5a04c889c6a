//! Debian versions, parsed and compared exactly as dpkg does.
