//! The native part of the `debpull` gem: Ruby classes over the `debpull`
//! crate, built with magnus. Thin: convert arguments, call core (releasing
//! the GVL for anything that blocks), map the error to its Ruby class. The
//! friendly API (keyword arguments, docs) lives in `ruby-ext/lib`.

mod args;
mod deb;
mod error;
mod gvl;
mod notify;
mod package;
mod repository;
mod source;
mod updater;
mod user_data;
mod version;

use magnus::{Error, Ruby};

mod entry {
    use super::*;

    /// Defines `Debpull`'s native classes and functions (`require "debpull"`
    /// loads this library, `lib/debpull/debpull.so`, and calls `Init_debpull`).
    #[magnus::init(name = "debpull")]
    fn init(ruby: &Ruby) -> Result<(), Error> {
        let module = ruby.define_module("Debpull")?;
        version::define(ruby, &module)?;
        package::define(ruby, &module)?;
        deb::define(&module)?;
        repository::define(ruby, &module)?;
        source::define(ruby, &module)?;
        updater::define(ruby, &module)?;
        notify::define(ruby, &module)?;
        user_data::define(&module)?;
        Ok(())
    }
}
