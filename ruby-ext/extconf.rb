# frozen_string_literal: true

# Writes the Makefile with which `gem install debpull` builds the native
# extension: `make` runs `cargo build -p debpull-ruby`, `make install` puts the
# library into sitearchdir as debpull/debpull.so (where `require "debpull"`
# loads it) and removes the cargo target directory it made.
#
# Settings (environment):
#   CARGO                  the cargo to run (default: cargo in PATH, then ~/.cargo/bin/cargo)
#   CARGO_TARGET_DIR       build there and keep it (CI reuses the workspace's builds);
#                          unset: a target directory inside the gem, removed after install
#   DEBPULL_CARGO_PROFILE  cargo profile (default release)
#
# No mkmf: there is no C to compile, and mkmf's Makefile would not know cargo.
# RubyGems 3.3 sets RbConfig's sitearchdir for this script (a directory it
# then moves into the gem) but passes nothing to make: the Makefile holds the
# value this script sees.

require "rbconfig"
require "shellwords"

ext_dir = __dir__
workspace = File.expand_path("..", ext_dir)

def abort_with(message)
  warn "debpull extconf: #{message}"
  exit 1
end

cargo = ENV["CARGO"]
cargo ||= ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, "cargo") }
             .find { |f| File.file?(f) && File.executable?(f) }
cargo ||= File.join(Dir.home, ".cargo/bin/cargo") if File.executable?(File.join(Dir.home, ".cargo/bin/cargo"))
abort_with("cargo not found (set CARGO, or install Rust 1.89 or later: https://rustup.rs)") unless cargo
abort_with("make is required to install the gem") unless system("make", "--version", out: File::NULL, err: File::NULL)

# Debian's own cargo (1.65 in bookworm) is too old for this edition-2024 code:
# say so here rather than in a compiler error.
version = IO.popen([cargo, "--version"], err: File::NULL, &:read).to_s[/\d+\.\d+/]
if version.nil? || Gem::Version.new(version) < Gem::Version.new("1.89")
  abort_with("#{cargo} is #{version || "unknown"}: Rust 1.89 or later is needed (rustup.rs, or set CARGO)")
end
# What the build links and generates bindings with (Debian package names).
{ "pkg-config" => %w[pkg-config --version], "libzstd-dev" => %w[pkg-config --exists libzstd],
  "a C compiler (build-essential)" => %w[cc --version] }.each do |package, probe|
  abort_with("#{package} is needed to build the extension") unless system(*probe, out: File::NULL, err: File::NULL)
end

# The gem carries the workspace manifest but only the members the extension
# needs (core, ruby-ext): build a workspace of those. In a checkout every
# member is present and nothing changes.
manifest = File.join(workspace, "Cargo.toml")
text = File.read(manifest)
members = text[/^members\s*=\s*\[([^\]]*)\]/, 1] or abort_with("#{manifest}: no workspace members")
listed = members.scan(/"([^"]+)"/).flatten
present = listed.select { |m| File.file?(File.join(workspace, m, "Cargo.toml")) }
%w[core ruby-ext].each do |m|
  abort_with("#{manifest}: member #{m} missing (#{File.join(workspace, m, "Cargo.toml")})") unless present.include?(m)
end
if present != listed
  File.write(manifest, text.sub(/^members\s*=\s*\[[^\]]*\]/) { "members = [#{present.map(&:inspect).join(", ")}]" })
end

profile = ENV.fetch("DEBPULL_CARGO_PROFILE", "release")
abort_with("DEBPULL_CARGO_PROFILE #{profile.inspect} is not a cargo profile name") unless profile.match?(/\A[a-z][a-z0-9_-]*\z/)
profile_dir = profile == "dev" ? "debug" : profile
own_target = ENV["CARGO_TARGET_DIR"].to_s.empty?
target_dir = own_target ? File.join(workspace, "target") : File.expand_path(ENV["CARGO_TARGET_DIR"])
dlext = RbConfig::CONFIG["DLEXT"]
built = File.join(target_dir, profile_dir, "libdebpull_ruby.so")
sitearchdir = RbConfig::CONFIG["sitearchdir"]
# strip -S: the release profile keeps line tables (for backtraces in development).
strip = system("strip", "--version", out: File::NULL, err: File::NULL) ? "strip -S" : "true"

# A target directory shared with a checkout's builds (`rake compile`, cargo test)
# must see the same environment, or cargo rebuilds the dependencies each time:
# rb-sys reruns when RUBY changes (the Rakefile sets it too), the cc crate's
# build scripts (aws-lc-sys, libz-sys, liblzma-sys) when SOURCE_DATE_EPOCH does,
# and RubyGems sets that to the gem's build time. The install's own target
# directory keeps it (reproducible C objects).
q = ->(s) { Shellwords.escape(s) }
# Make recipe lines start with a tab.
makefile = <<~MAKE
  # Written by ruby-ext/extconf.rb: builds the debpull extension with cargo.
  CARGO = #{q[cargo]}
  RUBY = #{q[RbConfig.ruby]}
  PROFILE = #{profile}
  TARGET_DIR = #{q[target_dir]}
  BUILT = #{q[built]}
  SO = debpull.#{dlext}
  sitearchdir = #{q[sitearchdir]}
  DESTDIR =

  all: $(SO)

  $(SO):
  \t#{own_target ? "" : "env -u SOURCE_DATE_EPOCH "}RUBY=$(RUBY) CARGO_TARGET_DIR=$(TARGET_DIR) $(CARGO) build --profile $(PROFILE) -p debpull-ruby --manifest-path #{q[manifest]}
  \tcp $(BUILT) $(SO).tmp
  \t#{strip} $(SO).tmp
  \tmv $(SO).tmp $(SO)

  install: $(SO)
  \tmkdir -p $(DESTDIR)$(sitearchdir)/debpull
  \tinstall -m 0755 $(SO) $(DESTDIR)$(sitearchdir)/debpull/$(SO)
  #{own_target ? "\trm -rf $(TARGET_DIR)" : "\t@echo 'debpull: kept the cargo target directory $(TARGET_DIR)'"}

  clean:
  \trm -f $(SO) $(SO).tmp

  .PHONY: all install clean
MAKE
File.write(File.join(ext_dir, "Makefile"), makefile)
puts "debpull extconf: Makefile written (cargo #{cargo}, profile #{profile}, target #{target_dir})"
