# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/moto"
require "open3"
require "tmpdir"

RSpec.shared_examples "a repository" do
  let(:repo) { Debpull::Repository.new(uri, signing_key: Keys.secret, **storage_options) }
  let(:app1) { Debs.build(@dir, name: "app", version: "1.0") }
  let(:app2) { Debs.build(@dir, name: "app", version: "2.0") }
  let(:tool) { Debs.build(@dir, name: "tool", version: "0.1", arch: "all") }

  it "publishes, reporting progress events to the block in order" do
    events = []
    report = repo.publish("staging", [app1, tool]) { |event| events << event }
    expect(report).to be_a(Debpull::Repository::PublishReport)
    expect(report.added.map { |p| [p.name, p.version.to_s] }).to contain_exactly(%w[app 1.0], %w[tool 0.1])
    expect([report.unchanged, report.replaced, report.attempts]).to eq([[], [], 1])

    kinds = events.map(&:kind)
    expect(kinds.chunk_while { |a, b| a == b }.map(&:first)).to eq(%i[hashed uploaded committed uploaded])
    expect(events.take(2).map { |e| [e.kind, e.name, e.bytes] })
      .to eq([[:hashed, app1, File.size(app1)], [:hashed, tool, File.size(tool)]])
    committed = events.select { |e| e.kind == :committed }
    expect(committed.map { |e| [e.name, e.bytes, e.attempts] }).to eq([["staging", 0, 1]])
    uploaded = events.select { |e| e.kind == :uploaded }.map(&:name)
    expect(uploaded).to include("pool/main/a/app/app_1.0_amd64.deb", "pool/main/t/tool/tool_0.1_all.deb",
                                "dists/staging/InRelease")
    expect(uploaded.index("dists/staging/InRelease")).to be < kinds.index(:committed)
    expect(events.select { |e| e.kind == :uploaded }.all? { |e| e.bytes.positive? && e.attempts.zero? }).to be(true)

    listed = repo.packages("staging")
    expect(listed.map { |p| [p.name, p.version.to_s, p.architecture] }).to eq([%w[app 1.0 amd64], %w[tool 0.1 all]])
    expect(listed.first.filename).to eq("pool/main/a/app/app_1.0_amd64.deb")
    expect(listed.first.sha256).to eq(Debpull::Package.read(app1).sha256)

    again = repo.publish("staging", [app1])
    expect([again.added, again.unchanged.map(&:name), again.attempts]).to eq([[], ["app"], 0])
  end

  it "stops the publish and propagates an exception raised in the block" do
    seen = []
    expect do
      repo.publish("staging", [app1, tool]) do |event|
        seen << event.kind
        raise ArgumentError, "stop here" if event.kind == :uploaded
      end
    end.to raise_error(ArgumentError, "stop here")
    expect(seen).to eq(%i[hashed hashed uploaded])
    expect { repo.packages("staging") }.to raise_error(Debpull::NotFound, /staging/)
    expect(repo.publish("staging", [app1]).added.map(&:name)).to eq(["app"])
  end

  it "refuses other content under the same name and version (Conflict) unless replace: true" do
    repo.publish("staging", [app1])
    other = Debs.build(@dir, name: "app", version: "1.0", salt: "other")
    expect { repo.publish("staging", [other, tool]) }.to raise_error(Debpull::Conflict, /app/)
    expect(repo.packages("staging").map(&:name)).to eq(["app"])
    report = repo.publish("staging", [other], replace: true)
    expect(report.replaced.map(&:sha256)).to eq([Debpull::Package.read(other).sha256])
    expect(repo.packages("staging").map(&:sha256)).to eq([Debpull::Package.read(other).sha256])
  end

  it "promotes, removes, prunes, verifies and collects garbage" do
    repo.publish("staging", [app1, app2, tool])
    added = repo.promote("app", "2.0", from: "staging", to: "production")
    expect(added.map { |p| [p.name, p.version.to_s] }).to eq([%w[app 2.0]])
    expect(repo.promote("app", Debpull::Version.new("2.0"), from: "staging", to: "production")).to eq([])
    expect(repo.packages("production").map(&:name)).to eq(["app"])

    report = repo.verify("production")
    expect(report.to_h.slice(:suite, :packages, :pool_files)).to eq(suite: "production", packages: 1, pool_files: 1)
    expect(report.index_files).to be_positive
    expect(report.bytes).to be_positive
    expect(repo.verify("production", trusted_keys: Keys.public).packages).to eq(1)
    expect { repo.verify("production", trusted_keys: Keys.wrong_public) }.to raise_error(Debpull::VerificationError)

    pruned = repo.prune("staging", keep: 1)
    expect(pruned.map { |p| [p.name, p.version.to_s] }).to eq([%w[app 1.0]])
    removed = repo.remove("staging", "tool", version: "0.1")
    expect(removed.map(&:name)).to eq(["tool"])
    expect { repo.remove("staging", "tool") }.to raise_error(Debpull::NotFound, /tool/)
    expect(repo.remove("staging", "app").map(&:name)).to eq(["app"])
    expect(repo.packages("staging")).to eq([])

    first = repo.gc(grace: 0)
    expect(first).to be_a(Debpull::Repository::GcReport)
    expect(first.suites).to contain_exactly("production", "staging")
    second = repo.gc(grace: 0)
    deleted = first.deleted + second.deleted
    expect(deleted).to include("pool/main/t/tool/tool_0.1_all.deb", "pool/main/a/app/app_1.0_amd64.deb")
    expect(deleted).not_to include("pool/main/a/app/app_2.0_amd64.deb")
    expect(repo.verify("production").pool_files).to eq(1)
  end

  it "raises NotFound for an unknown suite or package" do
    expect { repo.packages("nowhere") }.to raise_error(Debpull::NotFound, /nowhere/)
    expect { repo.prune("nowhere", keep: 1) }.to raise_error(Debpull::NotFound, /nowhere/)
    expect { repo.verify("nowhere") }.to raise_error(Debpull::NotFound)
    expect { repo.remove("nowhere", "app") }.to raise_error(Debpull::NotFound)
    expect { repo.promote("app", "1.0", from: "nowhere", to: "production") }.to raise_error(Debpull::NotFound)
    repo.publish("staging", [app1])
    expect { repo.promote("app", "9.0", from: "staging", to: "production") }.to raise_error(Debpull::NotFound, /app/)
  end

  it "names a missing or corrupt .deb and publishes nothing" do
    missing = File.join(@dir, "gone_1.0_amd64.deb")
    expect { repo.publish("staging", [app1, missing]) }.to raise_error(Debpull::IOError, /gone_1\.0_amd64\.deb/)
    corrupt = File.join(@dir, "bad_1.0_amd64.deb")
    File.binwrite(corrupt, "!<arch>\ngarbage")
    expect { repo.publish("staging", [corrupt]) }.to raise_error(Debpull::ParseError, /bad_1\.0_amd64\.deb/)
    expect { repo.packages("staging") }.to raise_error(Debpull::NotFound)
  end

  it "survives GC.stress around publish and packages" do
    debs = [app1, tool]
    events = []
    GC.stress = true
    begin
      report = repo.publish("staging", debs) { |e| events << e }
      listed = repo.packages("staging")
    ensure
      GC.stress = false
    end
    expect(report.added.size).to eq(2)
    expect(listed.map(&:name)).to eq(%w[app tool])
    expect(events.count { |e| e.kind == :hashed }).to eq(2)
  end

  it "raises TypeError or ArgumentError for wrong types, nil and unknown keywords" do
    expect { repo.publish(nil, [app1]) }.to raise_error(TypeError)
    expect { repo.publish("staging", nil) }.to raise_error(TypeError)
    expect { repo.publish("staging", app1) }.to raise_error(TypeError)
    expect { repo.publish("staging", [nil]) }.to raise_error(TypeError)
    expect { repo.publish("staging", [1]) }.to raise_error(TypeError)
    expect { repo.publish("staging", []) }.to raise_error(ArgumentError)
    expect { repo.publish("staging", [app1], component: nil) }.to raise_error(TypeError)
    expect { repo.publish("staging", [app1], replace: "yes") }.to raise_error(TypeError)
    expect { repo.publish("staging", [app1], replace: nil) }.to raise_error(TypeError)
    expect { repo.publish("staging", [app1], force: true) }.to raise_error(ArgumentError, /force/)
    expect { repo.promote(nil, "1.0", from: "a", to: "b") }.to raise_error(TypeError)
    expect { repo.promote("app", nil, from: "a", to: "b") }.to raise_error(TypeError)
    expect { repo.promote("app", 1.0, from: "a", to: "b") }.to raise_error(TypeError)
    expect { repo.promote("app", "1.0", from: nil, to: "b") }.to raise_error(TypeError)
    expect { repo.promote("app", "1.0", from: "a") }.to raise_error(ArgumentError, /to/)
    expect { repo.promote("app", "1.0", "a", "b") }.to raise_error(ArgumentError)
    expect { repo.remove("staging", nil) }.to raise_error(TypeError)
    expect { repo.remove(nil, "app") }.to raise_error(TypeError)
    expect { repo.remove("staging", "app", version: 2) }.to raise_error(TypeError)
    expect { repo.remove("staging", "app", versions: "1") }.to raise_error(ArgumentError)
    expect { repo.prune("staging", keep: nil) }.to raise_error(TypeError)
    expect { repo.prune("staging", keep: "5") }.to raise_error(TypeError)
    expect { repo.prune("staging", keep: 0) }.to raise_error(ArgumentError)
    expect { repo.prune("staging", keep: -1) }.to raise_error(ArgumentError)
    expect { repo.prune("staging") }.to raise_error(ArgumentError, /keep/)
    expect { repo.packages(nil) }.to raise_error(TypeError)
    expect { repo.packages(:staging) }.to raise_error(TypeError)
    expect { repo.verify(nil) }.to raise_error(TypeError)
    expect { repo.verify("staging", trusted_keys: 1) }.to raise_error(TypeError)
    expect { repo.verify("staging", keys: "x") }.to raise_error(ArgumentError)
    expect { repo.gc(grace: nil) }.to raise_error(TypeError)
    expect { repo.gc(grace: "1h") }.to raise_error(TypeError)
    expect { repo.gc(grace: -1) }.to raise_error(ArgumentError)
    expect { repo.gc(grace: 10**12) }.to raise_error(Debpull::InvalidInput, /10 years/)
    expect { repo.gc(grace: 2**64) }.to raise_error(Debpull::InvalidInput, /10 years/)
    expect { Debpull::Repository.new(uri, signing_key: Keys.secret, valid_for: 2**64, **storage_options) }
      .to raise_error(Debpull::InvalidInput, /valid_for/)
    expect { repo.gc(wait: 1) }.to raise_error(ArgumentError)
  end
end

RSpec.describe Debpull::Repository, :tmpdir do
  context "in a local directory (file://)" do
    let(:uri) { "file://#{@dir}/repo" }
    let(:storage_options) { {} }

    include_examples "a repository"

    it "signs InRelease so that gpgv accepts it with the public key only" do
      repo.publish("staging", [Debs.build(@dir)])
      keyring = File.join(@dir, "trusted.gpg")
      _, status = Open3.capture2("gpg", "--batch", "--no-default-keyring", "--homedir", @dir,
                                 "--keyring", keyring, "--import", stdin_data: Keys.public, err: File::NULL)
      expect(status).to be_success
      inrelease = File.join(@dir, "repo/dists/staging/InRelease")
      _, err, status = Open3.capture3("gpgv", "--keyring", keyring, inrelease)
      expect(status).to be_success, err
      expect(File.read(inrelease)).to include("Origin: Find a Player", "Label: app", "Suite: staging")
    end

    let(:repo) do
      Debpull::Repository.new(uri, signing_key: Keys.secret, origin: "Find a Player", label: "app")
    end

    it "unlocks a key with its passphrase and names a wrong or missing one" do
      key = Keys.secret_with_passphrase
      ok = Debpull::Repository.new(uri, signing_key: key, passphrase: Keys::PASSPHRASE)
      expect(ok.publish("staging", [Debs.build(@dir)]).attempts).to eq(1)
      expect(ok.verify("staging").packages).to eq(1)
      expect { Debpull::Repository.new(uri, signing_key: key, passphrase: "wrong") }
        .to raise_error(Debpull::InvalidInput, /wrong passphrase/)
      expect { Debpull::Repository.new(uri, signing_key: key) }
        .to raise_error(Debpull::InvalidInput, /passphrase.*none was given/)
      expect { Debpull::Repository.new(uri, signing_key: Keys.public) }.to raise_error(Debpull::InvalidInput)
      expect { Debpull::Repository.new(uri, signing_key: "not a key") }.to raise_error(Debpull::Error)
    end

    it "checks its constructor's arguments" do
      key = Keys.secret
      expect { Debpull::Repository.new(nil, signing_key: key) }.to raise_error(TypeError)
      expect { Debpull::Repository.new(uri) }.to raise_error(ArgumentError, /signing_key/)
      expect { Debpull::Repository.new(uri, signing_key: nil) }.to raise_error(TypeError)
      expect { Debpull::Repository.new(uri, signing_key: key, passphrase: 1) }.to raise_error(TypeError)
      expect { Debpull::Repository.new(uri, signing_key: key, origin: nil) }.to raise_error(TypeError)
      expect { Debpull::Repository.new(uri, signing_key: key, label: "two\nlines") }.to raise_error(Debpull::InvalidInput, /label/)
      expect { Debpull::Repository.new(uri, signing_key: key, origin: "") }.to raise_error(Debpull::InvalidInput, /origin/)
      expect { Debpull::Repository.new(uri, signing_key: key, region: 5) }.to raise_error(TypeError)
      expect { Debpull::Repository.new(uri, signing_key: key, region: "eu-west-1") }.to raise_error(Debpull::InvalidInput, /region/)
      expect { Debpull::Repository.new(uri, signing_key: key, valid_for: "1d") }.to raise_error(TypeError)
      expect { Debpull::Repository.new(uri, signing_key: key, valid_for: 0) }.to raise_error(Debpull::InvalidInput)
      expect { Debpull::Repository.new(uri, signing_key: key, valid_for: -5) }.to raise_error(ArgumentError)
      expect { Debpull::Repository.new(uri, signing_key: key, colour: "red") }.to raise_error(ArgumentError, /colour/)
      expect { Debpull::Repository.new("ftp://example.org/repo", signing_key: key) }.to raise_error(Debpull::Error, /ftp/)
      repo = Debpull::Repository.new(uri, signing_key: key, valid_for: 3600)
      repo.publish("staging", [Debs.build(@dir)])
      expect(File.read(File.join(@dir, "repo/dists/staging/InRelease"))).to include("Valid-Until:")
      expect { repo.send(:_initialize, uri, key, nil, "o", "l", nil, nil, nil, nil) }
        .to raise_error(Debpull::InvalidInput, /already/)
      expect { Debpull::Repository.allocate.packages("staging") }.to raise_error(Debpull::InvalidInput, /not initialized/)
    end
  end

  context "in S3 (moto)" do
    let(:uri) { "s3://#{Moto.shared.create_bucket("ruby-repo")}/apt" }
    let(:storage_options) { { region: Moto::REGION, endpoint: Moto.shared.endpoint } }

    include_examples "a repository"
  end
end
