//! `Debpull::Package`: a package as a Packages index lists it (control
//! fields, and the file's size and checksums), read from a `.deb` or listed
//! by a repository.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use debpull::Package;
use magnus::typed_data::Obj;
use magnus::value::ReprValue;
use magnus::{
    Class, Error, Module, Object, RArray, RHash, RModule, Ruby, TryConvert, Value, function, method,
};

use crate::error::IntoRuby;
use crate::gvl::blocking;
use crate::version::RbVersion;

/// A package; immutable, so shareable between Ractors and threads. Made by
/// `Package.read` and the repository's methods only (no allocator).
#[magnus::wrap(class = "Debpull::Package", free_immediately, size, frozen_shareable)]
pub(crate) struct RbPackage(pub(crate) Package);

/// `package` as a `Debpull::Package`, frozen from the start (immutable).
pub(crate) fn frozen(ruby: &Ruby, package: Package) -> Obj<RbPackage> {
    let object = ruby.obj_wrap(RbPackage(package));
    object.freeze();
    object
}

impl RbPackage {
    /// `Debpull::Package.read(path)`: reads and hashes the `.deb` without the
    /// GVL. A missing file is `Debpull::IOError`, one that is not a `.deb`
    /// `Debpull::ParseError`, both naming the file.
    fn read(ruby: &Ruby, path: PathBuf) -> Result<Obj<RbPackage>, Error> {
        if path.as_os_str().is_empty() {
            return Err(Error::new(ruby.exception_arg_error(), "path is empty"));
        }
        let package = blocking(ruby, move |_| debpull::deb::inspect(&path))?;
        Ok(frozen(ruby, package))
    }

    fn name(&self) -> String {
        self.0.name().to_owned()
    }

    fn version(ruby: &Ruby, rb_self: &Self) -> Obj<RbVersion> {
        crate::version::frozen(ruby, rb_self.0.version().clone())
    }

    fn architecture(&self) -> String {
        self.0.architecture().to_owned()
    }

    fn sha256(&self) -> Option<String> {
        self.0.sha256_hex()
    }

    fn size(&self) -> u64 {
        self.0.size()
    }

    fn filename(&self) -> Option<String> {
        self.0.filename().map(str::to_owned)
    }

    /// The Packages stanza (without its final blank line).
    fn to_s(&self) -> String {
        self.0.to_string()
    }

    /// The stanza's fields in order (continuation lines joined with newlines).
    fn fields(&self, ruby: &Ruby) -> Result<Vec<(String, String)>, Error> {
        let stanza = self.0.to_string();
        let mut fields = Vec::new();
        for paragraph in debpull::control::paragraphs(&stanza) {
            let paragraph = paragraph.into_ruby(ruby)?;
            for field in paragraph.fields() {
                fields.push((field.name().to_owned(), field.value().to_owned()));
            }
        }
        Ok(fields)
    }

    /// `pkg[name]`: the stanza's field `name` (case-insensitive; control
    /// fields and Filename, Size, MD5sum, SHA256...), nil when absent.
    fn field(ruby: &Ruby, rb_self: &Self, name: Value) -> Result<Option<String>, Error> {
        // A Symbol is fine too (pkg[:Depends]); anything else is a TypeError.
        let name: String = match magnus::Symbol::from_value(name) {
            Some(symbol) => symbol.name()?.into_owned(),
            None => String::try_convert(name)?,
        };
        Ok(rb_self
            .fields(ruby)?
            .into_iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(&name))
            .map(|(_, value)| value))
    }

    /// `to_h`: the stanza's fields, name => value, in the stanza's order.
    fn to_h(ruby: &Ruby, rb_self: &Self) -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        for (name, value) in rb_self.fields(ruby)? {
            hash.aset(name, value)?;
        }
        Ok(hash)
    }

    fn inspect(&self) -> String {
        format!(
            "#<Debpull::Package {} {} {}>",
            self.0.name(),
            self.0.version(),
            self.0.architecture()
        )
    }

    /// `==` and `eql?`: the same stanza (fields, size and checksums).
    fn eq(&self, other: Value) -> bool {
        <&RbPackage>::try_convert(other).is_ok_and(|other| self.0 == other.0)
    }

    /// `hash`, agreeing with `==`: of the stanza (62 bits: a Fixnum).
    fn hash(&self) -> i64 {
        let mut hasher = DefaultHasher::new();
        self.0.to_string().hash(&mut hasher);
        (hasher.finish() >> 2) as i64
    }
}

/// `packages` as a Ruby Array of `Debpull::Package`.
pub(crate) fn to_array(ruby: &Ruby, packages: Vec<Package>) -> Result<RArray, Error> {
    let array = ruby.ary_new_capa(packages.len());
    for package in packages {
        array.push(frozen(ruby, package))?;
    }
    Ok(array)
}

/// Defines `Debpull::Package` in `module`.
pub(crate) fn define(ruby: &Ruby, module: &RModule) -> Result<(), Error> {
    let class = module.define_class("Package", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("read", function!(RbPackage::read, 1))?;
    class.define_method("name", method!(RbPackage::name, 0))?;
    class.define_method("version", method!(RbPackage::version, 0))?;
    class.define_method("architecture", method!(RbPackage::architecture, 0))?;
    class.define_method("sha256", method!(RbPackage::sha256, 0))?;
    class.define_method("size", method!(RbPackage::size, 0))?;
    class.define_method("filename", method!(RbPackage::filename, 0))?;
    class.define_method("[]", method!(RbPackage::field, 1))?;
    class.define_method("to_h", method!(RbPackage::to_h, 0))?;
    class.define_method("to_s", method!(RbPackage::to_s, 0))?;
    class.define_method("inspect", method!(RbPackage::inspect, 0))?;
    class.define_method("==", method!(RbPackage::eq, 1))?;
    class.define_method("eql?", method!(RbPackage::eq, 1))?;
    class.define_method("hash", method!(RbPackage::hash, 0))?;
    Ok(())
}
