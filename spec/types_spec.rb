# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/publish"
require "pathname"
require "tmpdir"

# Argument types across the API: Pathname wherever a path goes, keys in any
# encoding, nil and wrong types as TypeError (or ArgumentError), never a crash.
RSpec.describe "Argument types", :tmpdir do
  def source(**options)
    Debpull::Source.new("file://#{@dir}/repo", suite: "production", trusted_keys: Keys.public,
                                               state_dir: File.join(@dir, "state"), architecture: "amd64", **options)
  end

  it "accepts a Pathname for state_dir:, admin_dir:, root: and apt_config:" do
    state = Pathname(@dir) / "state-p"
    root = DpkgRoot.new(File.join(@dir, "system"))
    admin = Pathname(root.admin)
    src = source(state_dir: state, admin_dir: admin)
    expect([src.state_dir, src.admin_dir]).to eq([state.to_s, admin.to_s])
    updater = Debpull::Updater.new(source: src, package: "app", root: Pathname(root.root),
                                   apt_config: Pathname(@dir) / "apt.conf")
    expect(updater.package).to eq("app")
    # The Pathname root is used: an install lands under it.
    repo = FtpArchive.new(File.join(@dir, "repo"))
    repo.publish("production", [Debs.build(@dir, version: "1.0")])
    expect(updater.update).to be_updated
    expect(root.installed("app")).to eq("1.0")
  end

  it "accepts keys in binary (ASCII-8BIT) strings" do
    secret = Keys.secret.b
    expect(secret.encoding).to eq(Encoding::BINARY)
    repo = Debpull::Repository.new("file://#{@dir}/signed", signing_key: secret)
    repo.publish("staging", [Debs.build(@dir)])
    expect(repo.verify("staging", trusted_keys: Keys.public.b).packages).to eq(1)
    expect { repo.verify("staging", trusted_keys: Keys.wrong_public.b) }.to raise_error(Debpull::VerificationError)
    expect { Debpull::Repository.new("file://#{@dir}/x", signing_key: "\xff\xfe".b) }
      .to raise_error(Debpull::InvalidInput, /signing_key/)
  end

  it "raises TypeError for a Complex where seconds are expected" do
    src = source
    %i[health_timeout install_timeout jitter lock].each do |name|
      expect { Debpull::Updater.new(source: src, package: "app", name => Complex(1, 1)) }
        .to raise_error(TypeError, /#{name}/)
      expect { Debpull::Updater.new(source: src, package: "app", name => Complex(1, 0)) }
        .to raise_error(TypeError, /#{name}/)
    end
    expect { Debpull::Updater.new(source: src, package: "app", jitter: 2**64) }
      .to raise_error(Debpull::InvalidInput, /jitter/)
    expect(Debpull::Updater.new(source: src, package: "app", jitter: Rational(1, 2)).package).to eq("app")
  end

  it "raises TypeError for nil or a wrong type in compare_versions and the keyword options" do
    expect { Debpull.compare_versions(nil, "1.0") }.to raise_error(TypeError)
    expect { Debpull.compare_versions("1.0", nil) }.to raise_error(TypeError)
    expect { Debpull.compare_versions(1, "1.0") }.to raise_error(TypeError)
    uri = "file://#{@dir}/repo"
    expect { Debpull::Repository.new(uri, signing_key: Keys.secret, label: nil) }.to raise_error(TypeError)
    expect { Debpull::Repository.new(uri, signing_key: Keys.secret, label: 7) }.to raise_error(TypeError)
    expect { Debpull::Repository.new(uri, signing_key: Keys.secret, endpoint: 7) }.to raise_error(TypeError)
    expect { Debpull::Repository.new(uri, signing_key: nil) }.to raise_error(TypeError)
    expect { source(endpoint: 7) }.to raise_error(TypeError)
    expect { source(architecture: 7) }.to raise_error(TypeError)
    expect { source(admin_dir: 7) }.to raise_error(TypeError)
    expect { source(state_dir: nil) }.to raise_error(TypeError)
    expect { source(admin_dir: "") }.to raise_error(Debpull::InvalidInput, /admin_dir/)
    src = source
    expect { Debpull::Updater.new(source: src, package: "app", root: 7) }.to raise_error(TypeError)
    expect { Debpull::Updater.new(source: src, package: "app", apt_config: []) }.to raise_error(TypeError)
    expect { Debpull::Updater.new(source: src, package: "app", root: "") }.to raise_error(Debpull::InvalidInput)
  end
end
