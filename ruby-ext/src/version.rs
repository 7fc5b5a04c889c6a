//! `Debpull::Version` (a Debian version as dpkg parses and orders it) and
//! `Debpull.compare_versions`.

use std::hash::{DefaultHasher, Hash, Hasher};

use debpull::Version;
use magnus::typed_data::Obj;
use magnus::value::ReprValue;
use magnus::{Error, Module, Object, RModule, Ruby, TryConvert, Value, function, method};

use crate::error::IntoRuby;

/// A Debian version; immutable, so shareable between Ractors and threads.
#[magnus::wrap(class = "Debpull::Version", free_immediately, size, frozen_shareable)]
pub(crate) struct RbVersion(pub(crate) Version);

/// `version` as a `Debpull::Version`, frozen from the start (immutable).
pub(crate) fn frozen(ruby: &Ruby, version: Version) -> Obj<RbVersion> {
    let object = ruby.obj_wrap(RbVersion(version));
    object.freeze();
    object
}

impl RbVersion {
    /// `Debpull::Version.new(text)`: `Debpull::InvalidVersion` when dpkg would refuse it.
    fn new(ruby: &Ruby, text: String) -> Result<Obj<RbVersion>, Error> {
        let version = Version::parse(&text).into_ruby(ruby)?;
        Ok(frozen(ruby, version))
    }

    fn epoch(&self) -> u32 {
        self.0.epoch()
    }

    fn upstream(&self) -> String {
        self.0.upstream().to_owned()
    }

    fn revision(&self) -> Option<String> {
        self.0.revision().map(str::to_owned)
    }

    fn to_s(&self) -> String {
        self.0.as_str().to_owned()
    }

    fn inspect(&self) -> String {
        format!("#<Debpull::Version {}>", self.0)
    }

    /// `<=>`: dpkg's order; `nil` for anything but a `Debpull::Version`.
    fn cmp(&self, other: Value) -> Option<i32> {
        let other = <&RbVersion>::try_convert(other).ok()?;
        Some(self.0.cmp(&other.0) as i32)
    }

    /// `eql?`: equal in dpkg's order (`1.0`, `1.00`, `0:1.0-0`), like `hash`.
    fn eql(&self, other: Value) -> bool {
        <&RbVersion>::try_convert(other).is_ok_and(|other| self.0 == other.0)
    }

    /// `hash`: 62 bits, so a Fixnum (no Bignum allocated per call).
    fn hash(&self) -> i64 {
        let mut hasher = DefaultHasher::new();
        self.0.hash(&mut hasher);
        (hasher.finish() >> 2) as i64
    }
}

/// `Debpull.compare_versions(a, b)`: -1, 0 or 1, as `dpkg --compare-versions`.
fn compare_versions(ruby: &Ruby, a: String, b: String) -> Result<i32, Error> {
    Version::compare_str(&a, &b)
        .map(|o| o as i32)
        .into_ruby(ruby)
}

/// Defines `Debpull::Version` and `Debpull.compare_versions` in `module`.
pub(crate) fn define(ruby: &Ruby, module: &RModule) -> Result<(), Error> {
    let class = module.define_class("Version", ruby.class_object())?;
    class.define_singleton_method("new", function!(RbVersion::new, 1))?;
    class.define_method("epoch", method!(RbVersion::epoch, 0))?;
    class.define_method("upstream", method!(RbVersion::upstream, 0))?;
    class.define_method("revision", method!(RbVersion::revision, 0))?;
    class.define_method("to_s", method!(RbVersion::to_s, 0))?;
    class.define_method("inspect", method!(RbVersion::inspect, 0))?;
    class.define_method("<=>", method!(RbVersion::cmp, 1))?;
    class.define_method("eql?", method!(RbVersion::eql, 1))?;
    class.define_method("hash", method!(RbVersion::hash, 0))?;
    module.define_module_function("compare_versions", function!(compare_versions, 2))?;
    Ok(())
}
