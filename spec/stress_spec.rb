# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require "tmpdir"

# GC.stress (a collection at every allocation) around every native entry
# point: a Ruby object the binding forgot to keep alive would be freed under it.
RSpec.describe "GC.stress", :tmpdir do
  def stressed
    GC.stress = true
    yield
  ensure
    GC.stress = false
  end

  it "around Version.new, <=>, hash and compare_versions" do
    results = stressed do
      a = Debpull::Version.new("1.0-1")
      b = Debpull::Version.new("1:0.9")
      [a <=> b, b <=> a, a <=> "x", a.hash == Debpull::Version.new("1.0-1").hash,
       Debpull.compare_versions("1.0", "1.0~rc1"), a.to_s, b.epoch]
    end
    expect(results).to eq([-1, 1, nil, true, 1, "1.0-1", 1])
  end

  it "around build_deb" do
    root = File.join(@dir, "root")
    FileUtils.mkdir_p(File.join(root, "opt"))
    File.write(File.join(root, "opt/file"), "x")
    output = File.join(@dir, "stress_1.0_all.deb")
    stressed do
      Debpull.build_deb(dir: root, output: output, compression: :gzip,
                        control: { "Package" => "stress", "Version" => "1.0", "Architecture" => "all",
                                   "Maintainer" => "Ops <ops@example.org>", "Description" => "stress" },
                        scripts: { "postinst" => "#!/bin/sh\nexit 0\n" })
    end
    expect(Debpull::Package.read(output).name).to eq("stress")
  end

  it "around Repository.new, promote, remove, prune, verify and gc" do
    debs = [Debs.build(@dir, version: "1.0"), Debs.build(@dir, version: "2.0")]
    repo = Debpull::Repository.new("file://#{@dir}/repo", signing_key: Keys.secret)
    repo.publish("staging", debs)
    results = stressed do
      again = Debpull::Repository.new("file://#{@dir}/repo", signing_key: Keys.secret, label: "stress")
      [again.promote("app", "2.0", from: "staging", to: "production").map { |p| p.version.to_s },
       again.prune("staging", keep: 1).map { |p| p.version.to_s },
       again.verify("production").packages,
       again.remove("production", "app").size,
       again.gc(grace: 0).class]
    end
    expect(results).to eq([["2.0"], ["1.0"], 1, 1, Debpull::Repository::GcReport])
  end

  it "around Source.new and Updater.new" do
    made = stressed do
      source = Debpull::Source.new("file://#{@dir}/repo", suite: "production", trusted_keys: Keys.public,
                                                          state_dir: File.join(@dir, "state"))
      updater = Debpull::Updater.new(source: source, package: "app", installer: ["true"], policy: :follow,
                                     health_check: ["true"], lock: 1.5, jitter: 0, pin: "1.0",
                                     root: File.join(@dir, "root"))
      [source.architecture, updater.package, updater.source.equal?(source)]
    end
    expect(made[0]).to eq(`dpkg --print-architecture`.strip)
    expect(made[1..]).to eq(["app", true])
  end
end
