# frozen_string_literal: true

# The debpull gem: `require "debpull"` (ruby-ext/lib) over a native extension
# that `gem install` builds with cargo (ruby-ext/extconf.rb). The gem carries
# the Rust sources it needs (the workspace manifest and lock, core, ruby-ext)
# and no built library; `gem build debpull.gemspec` works from a checkout.

root = __dir__
# One version for the crates and the gem: the workspace's.
version = File.read(File.join(root, "Cargo.toml"))[/^\[workspace\.package\].*?^version\s*=\s*"([^"]+)"/m, 1] or
          raise "debpull.gemspec: no version in [workspace.package] of Cargo.toml"

Gem::Specification.new do |spec|
  spec.name = "debpull"
  spec.version = version
  spec.summary = "Pull-based deployment with Debian packages: signed apt repositories, updates, rake tasks"
  spec.description = <<~TEXT
    Publishes .deb files into a signed apt repository (a directory or an S3 bucket),
    promotes them from suite to suite, and installs updates on servers that poll the
    repository; rake tasks for the pipeline. A native extension over the debpull Rust
    library: installing the gem builds it with cargo (Rust 1.89 or later).
  TEXT
  spec.authors = ["The debpull authors"]
  spec.homepage = "https://github.com/debpull/debpull"
  spec.licenses = ["MIT", "Apache-2.0"]
  spec.required_ruby_version = ">= 3.1"
  spec.metadata = { "source_code_uri" => spec.homepage, "rubygems_mfa_required" => "true" }

  spec.require_paths = ["ruby-ext/lib"]
  spec.extensions = ["ruby-ext/extconf.rb"]
  # Only sources: never a built library (ruby-ext/lib/debpull/debpull.so is
  # what `rake compile` leaves in a checkout). ffi/ and bench/ are not in the
  # gem: extconf.rb builds a workspace of the members that are present.
  patterns = %w[
    README.md Cargo.toml Cargo.lock
    core/Cargo.toml core/src/**/*.rs core/src/**/*.sh
    ruby-ext/Cargo.toml ruby-ext/extconf.rb ruby-ext/src/**/*.rs ruby-ext/lib/**/*.rb
  ]
  spec.files = Dir.chdir(root) { Dir.glob(patterns, File::FNM_DOTMATCH).select { |f| File.file?(f) }.sort }
end
