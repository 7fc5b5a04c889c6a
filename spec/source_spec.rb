# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/publish"
require "digest"

RSpec.describe Debpull::Source, :tmpdir do
  let(:repo) { FtpArchive.new(File.join(@dir, "repo")) }
  let(:system_root) { DpkgRoot.new(File.join(@dir, "system")) }
  let(:state_dir) { File.join(@dir, "state") }

  def source(**options)
    described_class.new(repo.uri, suite: "production", trusted_keys: Keys.public, state_dir: state_dir,
                                  architecture: "amd64", admin_dir: system_root.admin, **options)
  end

  def publish(*versions)
    repo.publish("production", versions.map { |v| Debs.build(@dir, version: v) })
  end

  it "finds the highest version as the candidate when nothing is installed" do
    publish("1.0", "1.1~rc1", "1.1")
    status = source.check("app")
    expect(status.package).to eq("app")
    expect(status.installed).to be_nil
    expect(status.candidate.version).to eq(Debpull::Version.new("1.1"))
    expect(status.candidate.version).to be_a(Debpull::Version)
    expect(status.candidate.name).to eq("app")
    expect(status.candidate.architecture).to eq("amd64")
    expect(status.candidate.sha256).to eq(Digest::SHA256.file(File.join(@dir, "app_1.1_amd64.deb")).hexdigest)
    expect(status.candidate.size).to eq(File.size(File.join(@dir, "app_1.1_amd64.deb")))
    expect(status.candidate).to be_a(Debpull::Package)
    expect(status.candidate["Filename"]).to end_with("app_1.1_amd64.deb")
    expect(status.update_available?).to be(true)
    expect(status.repository_changed?).to be(true)
    expect(status.warnings).to eq([])
    expect(status.to_s).to eq("app: installed none, candidate 1.1 (update available)")
  end

  it "reads the installed version from dpkg and answers an unchanged repository from its state" do
    publish("1.0")
    deb = File.join(@dir, "app_1.0_amd64.deb")
    system("dpkg", "--root=#{system_root.root}", "--admindir=#{system_root.admin}", "-i", deb,
           out: File::NULL, exception: true)
    first = source.check("app")
    expect(first.installed).to eq(Debpull::Version.new("1.0"))
    expect(first.update_available?).to be(false)
    again = source.check("app")
    expect(again.repository_changed?).to be(false)
    expect(again.candidate.version.to_s).to eq("1.0")
  end

  it "takes a pin, as a String or a Version, and refuses one the suite lacks or that is no version" do
    publish("1.0", "1.1")
    expect(source.check("app", pin: "1.0").candidate.version.to_s).to eq("1.0")
    expect(source.check("app", pin: Debpull::Version.new("1.0")).candidate.version.to_s).to eq("1.0")
    expect { source.check("app", pin: "2.0") }.to raise_error(Debpull::NotFound, /2\.0/)
    expect { source.check("app", pin: "not a version!") }.to raise_error(Debpull::InvalidVersion)
  end

  it "has no candidate for a package the suite lacks" do
    publish("1.0")
    status = source.check("other")
    expect(status.candidate).to be_nil
    expect(status.update_available?).to be(false)
  end

  it "refuses a repository signed by another key" do
    publish("1.0")
    expect { source(trusted_keys: Keys.wrong_public).check("app") }
      .to raise_error(Debpull::VerificationError, /InRelease|signature/i)
  end

  it "checks no signature only when told, and warns" do
    publish("1.0")
    status = source(trusted_keys: nil, insecure_unsigned: true).check("app")
    expect(status.candidate.version.to_s).to eq("1.0")
    expect(status.warnings.join).to match(/not checked|unsigned/i)
  end

  it "reports a suite that does not exist" do
    publish("1.0")
    expect { described_class.new(repo.uri, suite: "staging", trusted_keys: Keys.public, state_dir: state_dir,
                                           architecture: "amd64").check("app") }
      .to raise_error(Debpull::NotFound, /staging/)
  end

  it "tells what it reads" do
    s = source(component: "main")
    expect([s.suite, s.component, s.architecture, s.admin_dir, s.state_dir])
      .to eq(["production", "main", "amd64", system_root.admin, state_dir])
    expect(s.inspect).to include("production/main/amd64")
  end

  describe "bad arguments" do
    it "raises TypeError for wrong types and nil, never crashes" do
      expect { described_class.new(42, suite: "production", trusted_keys: Keys.public, state_dir: state_dir) }
        .to raise_error(TypeError)
      expect { source(suite: nil) }.to raise_error(TypeError)
      expect { source(suite: :production) }.to raise_error(TypeError)
      expect { source(state_dir: nil) }.to raise_error(TypeError)
      expect { source(trusted_keys: 42) }.to raise_error(TypeError)
      expect { source(component: ["main"]) }.to raise_error(TypeError)
      expect { source(region: 1) }.to raise_error(TypeError)
      expect { source(insecure_unsigned: "yes") }.to raise_error(TypeError, /true or false/)
      expect { source.check(nil) }.to raise_error(TypeError)
      expect { source.check(42) }.to raise_error(TypeError)
      expect { source.check("app", pin: 1.0) }.to raise_error(TypeError)
    end

    it "raises ArgumentError for unknown or missing keywords" do
      expect { source(suit: "production") }.to raise_error(ArgumentError, /suit/)
      expect { described_class.new(repo.uri, trusted_keys: Keys.public, state_dir: state_dir) }
        .to raise_error(ArgumentError, /suite/)
      expect { described_class.new(repo.uri, suite: "production", state_dir: state_dir) }
        .to raise_error(ArgumentError, /trusted_keys/)
      expect { source.check("app", version: "1.0") }.to raise_error(ArgumentError, /version/)
    end

    it "raises debpull's errors naming what is wrong" do
      expect { source(suite: "../etc") }.to raise_error(Debpull::InvalidInput, /suite/)
      expect { source(component: "") }.to raise_error(Debpull::InvalidInput, /component/)
      expect { source(architecture: "amd 64") }.to raise_error(Debpull::InvalidInput, /architecture/)
      expect { source(state_dir: "") }.to raise_error(Debpull::InvalidInput, /state_dir/)
      expect { source(trusted_keys: "not a key") }.to raise_error(Debpull::Error, /key/i)
      expect { source(insecure_unsigned: true) }.to raise_error(Debpull::InvalidInput, /exclude/)
      expect { source(region: "eu-west-1") }.to raise_error(Debpull::InvalidInput, /s3/)
      expect { described_class.new("ftp://host/repo", suite: "production", trusted_keys: Keys.public,
                                                      state_dir: state_dir, architecture: "amd64") }
        .to raise_error(Debpull::Unsupported, /ftp/)
      expect { source.check("") }.to raise_error(Debpull::InvalidInput, /package/)
    end

    it "cannot be allocated without its native part" do
      expect { described_class.allocate }.to raise_error(TypeError)
    end
  end

  it "survives GC.stress around a check" do
    publish("1.0")
    s = source
    GC.stress = true
    begin
      status = s.check("app")
    ensure
      GC.stress = false
    end
    expect(status.candidate.version.to_s).to eq("1.0")
  end
end
