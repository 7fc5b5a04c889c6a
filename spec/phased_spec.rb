# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/publish"

# Staged rollout from Ruby: publish for a percentage of the fleet, machines
# (a machine id, a state directory and a dpkg root each) inside and outside
# it, raising it to 100, rolling back with Repository#rollback (promoting the
# previous version again is refused).
# Which machine is in is apt's rule (core's client_phased test checks it
# against apt-get); here the spec finds one of each through the API.
RSpec.describe "Staged rollout", :tmpdir do
  let(:repo) { Debpull::Repository.new("file://#{File.join(@dir, "repo")}", signing_key: Keys.secret) }
  let(:app1) { Debs.build(@dir, version: "1.0") }
  let(:app2) { Debs.build(@dir, version: "2.0") }

  def machine_id(number) = format("%032x", (number * 0x9e3779b97f4a7c15) % (2**128))

  def source(id, name)
    Debpull::Source.new("file://#{File.join(@dir, "repo")}", suite: "production", trusted_keys: Keys.public,
                                                               state_dir: File.join(@dir, name, "state"),
                                                               architecture: "amd64", machine_id: id,
                                                               admin_dir: system(name).admin)
  end

  def system(name)
    @systems ||= {}
    @systems[name] ||= DpkgRoot.new(File.join(@dir, name))
  end

  def updater(id, name, policy: :upgrade)
    Debpull::Updater.new(source: source(id, name), package: "app", root: system(name).root, policy: policy)
  end

  # The first machine id (by number) whose check of app says it is (`inside`)
  # or is not in the rollout.
  def find_machine(inside)
    (0..).each do |n|
      status = source(machine_id(n), "probe-#{n}").check("app")
      return machine_id(n) if status.deferred.nil? == inside
    end
  end

  it "publishes for a percentage, defers machines outside it, completes and rolls back" do
    repo.publish("staging", [app1, app2])
    repo.publish("production", [app1])
    report = repo.publish("production", [app2], percentage: 25)
    expect(report.added.map { |p| p.version.to_s }).to eq(["2.0"])
    expect(report.rephased).to eq([])
    entry = repo.packages("production").find { |p| p.version.to_s == "2.0" }
    expect(entry["Phased-Update-Percentage"]).to eq("25")

    outside = find_machine(false)
    inside = find_machine(true)
    status = source(outside, "out").check("app")
    expect(status.deferred).to eq(Debpull::Source::Deferred.new(Debpull::Version.new("2.0"), 25))
    expect(status.candidate.version.to_s).to eq("1.0")
    expect(status.to_s).to eq("app: installed none, candidate 1.0 (update available), " \
                              "2.0 deferred (phased 25%, this machine not yet included)")
    expect(source(inside, "in").check("app").deferred).to be_nil

    out_updater = updater(outside, "out")
    expect(out_updater.update.to_s).to eq("app: updated none -> 1.0")
    outcome = out_updater.update
    expect(outcome.up_to_date?).to be(true)
    expect(outcome.deferred.to_s).to eq("2.0 deferred (phased 25%, this machine not yet included)")
    expect(outcome.deferred.percentage).to eq(25)
    expect(updater(inside, "in").update.to_s).to eq("app: updated none -> 2.0")
    expect(system("out").installed("app")).to eq("1.0")

    changed = repo.phase("production", "app", "2.0", 100)
    expect(changed.map { |p| p.version.to_s }).to eq(["2.0"])
    expect(repo.packages("production").find { |p| p.version.to_s == "2.0" }["Phased-Update-Percentage"]).to be_nil
    expect(out_updater.update.to_s).to eq("app: updated 1.0 -> 2.0")
    expect(out_updater.update.deferred).to be_nil

    # A late promote of the older build is refused; a rollback says so, and
    # takes 1.0 from production itself (staging's may be pruned).
    expect { repo.promote_report("app", "1.0", from: "staging", to: "production") }
      .to raise_error(Debpull::Conflict, /newer versions of app than 1.0 \(2.0\).*roll back/)
    expect { repo.promote("app", "1.0", from: "staging", to: "production") }.to raise_error(Debpull::Conflict)
    expect { repo.rollback("production", "app", "0.9") }.to raise_error(Debpull::NotFound, /0.9/)
    expect { repo.rollback("production", "app", "a:b") }.to raise_error(Debpull::InvalidVersion)
    repo.remove("staging", "app", version: "1.0")
    rollback = repo.rollback("production", "app", "1.0")
    expect(rollback).to be_a(Debpull::Repository::PromoteReport)
    expect(rollback.demoted.map { |p| p.version.to_s }).to eq(["2.0"])
    expect(rollback.to_s).to eq("0 added, 1 demoted (2.0), 0 re-phased")
    expect(repo.packages("production").map { |p| p.version.to_s }).to eq(["1.0"])
    expect(updater(outside, "out", policy: :follow).update.to_s).to eq("app: updated 2.0 -> 1.0")
    expect(system("out").installed("app")).to eq("1.0")
    expect(updater(inside, "in").update.to_s).to eq("app: up to date (2.0), candidate 1.0 not taken")
    expect(system("in").installed("app")).to eq("2.0")

    expect(repo.rollback("production", "app", "1.0").attempts).to eq(0)

    # Promote with a percentage: the version goes to production at 10%.
    again = repo.promote_report("app", "2.0", from: "staging", to: "production", percentage: 10)
    expect(again.added.map { |p| p["Phased-Update-Percentage"] }).to eq(["10"])
    expect(repo.promote("app", "2.0", from: "staging", to: "production", percentage: 10)).to eq([])
  end

  it "refuses bad percentages and machine ids with typed errors" do
    repo.publish("production", [app1])
    expect { repo.publish("production", [app2], percentage: 101) }
      .to raise_error(Debpull::InvalidInput, /101 is not between 0 and 100/)
    expect { repo.publish("production", [app2], percentage: "25") }.to raise_error(TypeError, /percentage/)
    expect { repo.publish("production", [app2], percentage: 25.0) }.to raise_error(TypeError, /percentage/)
    expect { repo.phase("production", "app", "1.0", -1) }.to raise_error(Debpull::InvalidInput, /-1/)
    expect { repo.phase("production", "app", "1.0", 2**70) }.to raise_error(Debpull::InvalidInput)
    expect { repo.phase("production", "app", "1.0", nil) }.to raise_error(TypeError)
    expect { repo.phase("production", "app", "9.0", 50) }.to raise_error(Debpull::NotFound, /9\.0/)
    expect { repo.promote("app", "1.0", from: "production", to: "x", percentage: 200) }
      .to raise_error(Debpull::InvalidInput)
    expect(repo.packages("production").map { |p| p.version.to_s }).to eq(["1.0"])

    expect { source("uninitialized", "bad") }.to raise_error(Debpull::InvalidInput, /uninitialized/)
    expect { source(42, "bad") }.to raise_error(TypeError)
  end
end
