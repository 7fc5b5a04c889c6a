# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/publish"

RSpec.describe Debpull::Updater, :tmpdir do
  let(:repo) { FtpArchive.new(File.join(@dir, "repo")) }
  let(:system_root) { DpkgRoot.new(File.join(@dir, "system")) }

  def source(keys: Keys.public)
    Debpull::Source.new(repo.uri, suite: "production", trusted_keys: keys, state_dir: File.join(@dir, "state"),
                                  architecture: "amd64", admin_dir: system_root.admin)
  end

  def updater(source: self.source, **options)
    described_class.new(source: source, package: "app", root: system_root.root, **options)
  end

  def publish(*versions)
    repo.publish("production", versions.map { |v| Debs.build(@dir, version: v) })
  end

  it "installs the candidate with the real dpkg, then is up to date" do
    publish("1.0")
    outcome = updater.update
    expect(outcome.updated?).to be(true), outcome.to_s
    expect([outcome.kind, outcome.from, outcome.to, outcome.installed, outcome.error])
      .to eq([:updated, nil, Debpull::Version.new("1.0"), Debpull::Version.new("1.0"), nil])
    expect(outcome.to_s).to eq("app: updated none -> 1.0")
    expect(system_root.installed("app")).to eq("1.0")
    expect(system_root.file("usr/share/app/VERSION")).to eq("app 1.0 \n")

    again = updater.update
    expect(again.up_to_date?).to be(true), again.to_s
    expect([again.updated?, again.failed?, again.rolled_back?, again.held?, again.skipped?]).to all(be(false))
    expect(again.installed).to eq(Debpull::Version.new("1.0"))
  end

  it "upgrades, and yields the run's event to a block" do
    publish("1.0")
    updater.update
    publish("1.0", "1.1")
    events = []
    outcome = updater.update { |event| events << event }
    expect(outcome.updated?).to be(true), outcome.to_s
    expect([outcome.from.to_s, outcome.to.to_s]).to eq(%w[1.0 1.1])
    expect(events.size).to eq(1)
    event = events.first
    expect(event.outcome.to_s).to eq(outcome.to_s)
    expect(event.suite).to eq("production")
    expect(event.hostname).not_to be_empty
    expect(event.started).to be_a(Time).and be_within(60).of(Time.now)
    expect(event.duration).to be_a(Float).and be >= 0
    expect(event.warnings).to eq([])
  end

  it "rolls back to the previous version when the health check fails" do
    publish("1.0")
    expect(updater.update.updated?).to be(true)
    publish("1.0", "1.1")
    outcome = updater(health_check: ["sh", "-c", "echo unhealthy >&2; exit 3"], health_timeout: 10).update
    expect(outcome.rolled_back?).to be(true), outcome.to_s
    expect([outcome.from.to_s, outcome.attempted.to_s, outcome.installed.to_s]).to eq(%w[1.0 1.1 1.0])
    expect(outcome.error).to be_a(Debpull::Error)
    expect(outcome.to_s).to include("rolled back to 1.0")
    expect(system_root.installed("app")).to eq("1.0")
    # The failed version is held back now.
    held = updater.update
    expect(held.held?).to be(true), held.to_s
    expect(held.candidate.to_s).to eq("1.1")
  end

  it "fails, touching nothing, when the repository is signed by another key" do
    publish("1.0")
    outcome = updater(source: source(keys: Keys.wrong_public)).update
    expect(outcome.failed?).to be(true), outcome.to_s
    expect(outcome.error).to be_a(Debpull::VerificationError)
    expect(outcome.to_s).to start_with("app: failed")
    expect(system_root.installed("app")).to be_nil
  end

  it "runs a command as the installer, with the .deb's path appended" do
    publish("1.0")
    install = ["sh", "-c", 'exec dpkg --root="$DEBPULL_ROOT" --admindir="$DEBPULL_ADMIN_DIR" -i "$0"']
    outcome = updater(installer: install).update
    expect(outcome.updated?).to be(true), outcome.to_s
    expect(system_root.installed("app")).to eq("1.0")
  end

  it "installs a pinned version, lower than the installed one" do
    publish("1.0", "1.1")
    expect(updater.update.to.to_s).to eq("1.1")
    outcome = updater(pin: Debpull::Version.new("1.0")).update
    expect([outcome.kind, outcome.from.to_s, outcome.to.to_s]).to eq([:updated, "1.1", "1.0"])
  end

  it "follows the repository down only under policy: :follow" do
    publish("1.1")
    updater.update
    FileUtils.rm_rf(File.join(repo.root, "pool"))
    publish("1.0")
    expect(updater.update.up_to_date?).to be(true)
    outcome = updater(policy: :follow).update
    expect([outcome.kind, outcome.to.to_s]).to eq([:updated, "1.0"])
  end

  it "knows its source and package" do
    s = source
    u = updater(source: s)
    expect(u.source).to equal(s)
    expect(u.package).to eq("app")
  end

  describe "bad arguments" do
    it "raises ArgumentError naming the allowed values for unknown symbols" do
      expect { updater(installer: :yum) }.to raise_error(ArgumentError, /:yum.*:dpkg, :apt/)
      expect { updater(policy: :sideways) }.to raise_error(ArgumentError, /:upgrade or :follow/)
      expect { updater(lock: :wait) }.to raise_error(ArgumentError, /:skip/)
    end

    it "raises ArgumentError for unknown or missing keywords and negative times" do
      expect { updater(health: ["true"]) }.to raise_error(ArgumentError, /health/)
      expect { described_class.new(source: source) }.to raise_error(ArgumentError, /package/)
      expect { described_class.new(package: "app") }.to raise_error(ArgumentError, /source/)
      expect { updater(jitter: -1) }.to raise_error(ArgumentError, /jitter/)
      expect { updater(lock: -5) }.to raise_error(ArgumentError, /lock/)
    end

    it "raises TypeError for wrong types and nil, never crashes" do
      expect { described_class.new(source: "file:///srv/repo", package: "app") }.to raise_error(TypeError, /Source/)
      expect { described_class.new(source: nil, package: "app") }.to raise_error(TypeError)
      expect { updater(package: nil) }.to raise_error(TypeError)
      expect { updater(package: :app) }.to raise_error(TypeError)
      expect { updater(installer: "dpkg") }.to raise_error(TypeError, /installer/)
      expect { updater(installer: nil) }.to raise_error(TypeError)
      expect { updater(installer: ["dpkg", 1]) }.to raise_error(TypeError, /installer\[1\]/)
      expect { updater(policy: "upgrade") }.to raise_error(TypeError, /policy/)
      expect { updater(health_check: "true") }.to raise_error(TypeError, /health_check/)
      expect { updater(health_timeout: "60") }.to raise_error(TypeError, /health_timeout/)
      expect { updater(install_timeout: nil) }.to raise_error(TypeError, /install_timeout/)
      expect { updater(lock: "10") }.to raise_error(TypeError, /lock/)
      expect { updater(pin: 1) }.to raise_error(TypeError)
      expect { updater(root: 1) }.to raise_error(TypeError)
      expect { updater(apt_config: []) }.to raise_error(TypeError)
    end

    it "raises debpull's errors naming what is wrong" do
      expect { updater(installer: []) }.to raise_error(Debpull::InvalidInput, /installer is empty/)
      expect { updater(health_check: [""]) }.to raise_error(Debpull::InvalidInput, /health_check\[0\]/)
      expect { updater(health_timeout: 0) }.to raise_error(Debpull::InvalidInput, /health_timeout/)
      expect { updater(install_timeout: Float::INFINITY) }.to raise_error(Debpull::InvalidInput, /install_timeout/)
      expect { updater(pin: "no version!") }.to raise_error(Debpull::InvalidVersion)
      expect { updater(package: "") }.to raise_error(Debpull::InvalidInput, /package/)
      expect { updater(root: "") }.to raise_error(Debpull::InvalidInput, /root/)
    end
  end

  it "survives GC.stress around an update" do
    publish("1.0")
    u = updater
    events = []
    GC.stress = true
    begin
      outcome = u.update { |event| events << event }
    ensure
      GC.stress = false
    end
    expect(outcome.updated?).to be(true), outcome.to_s
    expect(events.map { |e| e.outcome.kind }).to eq([:updated])
  end
end
