# frozen_string_literal: true

require_relative "spec_helper"
require "fileutils"
require "open3"
require "rbconfig"
require "tmpdir"

# The gem's packaging, quickly (no cargo build): what debpull.gemspec ships and
# the Makefile extconf.rb writes. scripts/gem-check builds and installs the gem.
RSpec.describe "debpull.gemspec" do
  root = File.expand_path("..", __dir__)
  let(:spec) { Dir.chdir(root) { Gem::Specification.load("debpull.gemspec") } }

  it "is valid, at the workspace's version, loading from ruby-ext/lib with extconf.rb" do
    cargo_version = File.read(File.join(root, "Cargo.toml"))[/^\[workspace\.package\].*?^version = "([^"]+)"/m, 1]
    expect(spec.version.to_s).to eq(cargo_version)
    expect(spec.raw_require_paths).to eq(["ruby-ext/lib"])
    expect(spec.extensions).to eq(["ruby-ext/extconf.rb"])
    expect { Dir.chdir(root) { spec.validate(false) } }.not_to raise_error
  end

  it "ships every source the extension needs and no built file" do
    Dir.chdir(root) do
      needed = %w[Cargo.toml Cargo.lock core/Cargo.toml ruby-ext/Cargo.toml] +
               Dir["core/src/**/*.rs", "ruby-ext/src/**/*.rs", "ruby-ext/lib/**/*.rb"]
      expect(needed - spec.files).to eq([])
      expect(spec.files.grep(/\.(so|gem|asc)\z|\Atarget\/|Makefile\z/)).to eq([])
      expect(spec.files.grep(%r{\A(ffi|bench)/})).to eq([])
      expect(spec.files.reject { |f| File.file?(f) }).to eq([])
    end
  end

  it "has extconf.rb write a Makefile that builds with cargo and installs into sitearchdir" do
    Dir.mktmpdir("debpull-extconf") do |dir|
      # The gem's layout: the files it ships, nothing else (ffi/ and bench/ absent).
      spec.files.each do |f|
        FileUtils.mkdir_p(File.join(dir, File.dirname(f)))
        FileUtils.cp(File.join(root, f), File.join(dir, f))
      end
      ext = File.join(dir, "ruby-ext")
      # What RubyGems does: a siteconf that sets sitearchdir, then extconf.rb.
      File.write(File.join(ext, "siteconf.rb"),
                 "require 'rbconfig'\nRbConfig::CONFIG['sitearchdir'] = RbConfig::MAKEFILE_CONFIG['sitearchdir'] = './.gem.dest'\n")
      env = { "CARGO_TARGET_DIR" => nil, "DEBPULL_CARGO_PROFILE" => nil, "CARGO" => "/bin/true" }
      out, status = Open3.capture2e(env, RbConfig.ruby, "-r./siteconf.rb", "extconf.rb", chdir: ext)
      expect(status).to be_success, out
      makefile = File.read(File.join(ext, "Makefile"))
      expect(makefile).to include("sitearchdir = ./.gem.dest\n")
      expect(makefile).to match(/^\t.*\$\(CARGO\) build --profile \$\(PROFILE\) -p debpull-ruby/)
      expect(makefile).to match(%r{^\tinstall -m 0755 \$\(SO\) \$\(DESTDIR\)\$\(sitearchdir\)/debpull/\$\(SO\)$})
      expect(makefile).to match(/^\trm -rf \$\(TARGET_DIR\)$/) # its own target: removed after install
      expect(makefile).to include("TARGET_DIR = #{File.join(dir, "target")}\n")
      expect(makefile).to include("PROFILE = release\n")
      # The workspace holds the members that are present.
      expect(File.read(File.join(dir, "Cargo.toml"))).to match(/^members = \["core", "ruby-ext"\]$/)

      # A target directory given is kept; a profile that is not a name is refused.
      env = env.merge("CARGO_TARGET_DIR" => File.join(dir, "shared"), "DEBPULL_CARGO_PROFILE" => "dev")
      out, status = Open3.capture2e(env, RbConfig.ruby, "extconf.rb", chdir: ext)
      expect(status).to be_success, out
      makefile = File.read(File.join(ext, "Makefile"))
      expect(makefile).not_to include("rm -rf")
      expect(makefile).to include("BUILT = #{File.join(dir, "shared/debug/libdebpull_ruby.so")}\n")
      out, status = Open3.capture2e(env.merge("DEBPULL_CARGO_PROFILE" => "../x"), RbConfig.ruby, "extconf.rb", chdir: ext)
      expect(status).not_to be_success
      expect(out).to include('DEBPULL_CARGO_PROFILE "../x" is not a cargo profile name')
    end
  end

  it "has extconf.rb say so when cargo is missing" do
    Dir.mktmpdir("debpull-extconf") do |dir|
      FileUtils.cp(File.join(root, "ruby-ext/extconf.rb"), dir)
      env = { "CARGO" => nil, "PATH" => "/nonexistent", "HOME" => dir }
      out, status = Open3.capture2e(env, RbConfig.ruby, "extconf.rb", chdir: dir)
      expect(status).not_to be_success
      expect(out).to include("cargo not found")
    end
  end
end
