# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/publish"
require_relative "support/webhook"
require "json"

SNS_DIR = File.expand_path("../core/tests/data/sns", __dir__)

RSpec.describe Debpull::Notifier, :tmpdir do
  let(:webhook) { Webhook.new }
  after { webhook.stop }

  it "checks its arguments" do
    expect { described_class.new(webhook: "ftp://x/y") }.to raise_error(Debpull::InvalidInput, /http/)
    expect { described_class.new(webhook: webhook.url, timeout: 0) }.to raise_error(Debpull::InvalidInput, /timeout/)
    expect { described_class.new(webhook: webhook.url, retries: 11) }.to raise_error(Debpull::InvalidInput, /retries/)
    expect { described_class.new(webhook: 5) }.to raise_error(TypeError, /webhook/)
    expect { described_class.new(webhook: webhook.url, timeout: "10") }.to raise_error(TypeError, /timeout/)
    expect { described_class.new(webhook: webhook.url, warnings: nil) }.to raise_error(TypeError, /warnings/)
    expect { described_class.new(webhook: webhook.url).post(nil) }.to raise_error(TypeError, /json/)
    expect { Debpull::Repository.new("file://#{@dir}/r", signing_key: Keys.secret, notifier: "x") }
      .to raise_error(TypeError, /notifier/)
    expect(described_class.new(webhook: webhook.url).to_s).to end_with("/***")
  end

  it "posts JSON, retrying a 500 and a 429 after its Retry-After" do
    hook = Webhook.new([[500, {}, "oops"], [429, { "Retry-After" => "1" }, "slow down"]])
    notifier = described_class.new(webhook: hook.url, retries: 3)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(notifier.post(JSON.generate(text: "hello"))).to eq(3)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be >= 1.0
    expect(hook.received).to eq([{ "text" => "hello" }] * 3)
  ensure
    hook&.stop
  end

  it "raises a StorageError without the secret when it gives up" do
    hook = Webhook.new(then_answer: [503, {}, "down"])
    notifier = described_class.new(webhook: hook.url, retries: 1, warnings: false)
    expect { notifier.post("{}") }.to raise_error(Debpull::StorageError) { |e|
      expect(e.message).to include("HTTP 503: down (2 attempts)")
      expect(e.message).not_to include("s3cr3t")
    }
    expect([notifier.sent, notifier.failed]).to eq([0, 1])
    expect(notifier.last_error).to include("HTTP 503")
  ensure
    hook&.stop
  end

  it "gives up on a webhook that never answers, after its timeout" do
    hook = Webhook.new(then_answer: :silence)
    notifier = described_class.new(webhook: hook.url, timeout: 0.3, retries: 0, warnings: false)
    expect { notifier.post("{}") }.to raise_error(Debpull::StorageError, /no answer within 300ms/)
  ensure
    hook&.stop
  end

  it "posts what a repository does; a dead webhook fails nothing" do
    notifier = described_class.new(webhook: webhook.url)
    repo = Debpull::Repository.new("file://#{@dir}/repo", signing_key: Keys.secret, notifier: notifier)
    repo.publish("staging", [Debs.build(@dir, version: "1.0")])
    repo.promote("app", "1.0", from: "staging", to: "production")
    texts = webhook.received.map { |b| b["text"] }
    expect(texts).to eq([":white_check_mark: app 1.0 published to staging",
                         ":arrow_up: app 1.0 promoted staging → production"])
    expect([notifier.sent, notifier.failed, notifier.last_error]).to eq([2, 0, nil])

    dead = described_class.new(webhook: Webhook.dead_url, timeout: 1, retries: 0, warnings: false)
    repo = Debpull::Repository.new("file://#{@dir}/repo", signing_key: Keys.secret, notifier: dead)
    report = repo.publish("staging", [Debs.build(@dir, version: "1.1")])
    expect(report.added.map { |p| p.version.to_s }).to eq(["1.1"])
    expect(repo.prune("staging", keep: 1).map { |p| p.version.to_s }).to eq(["1.0"])
    expect(dead.failed).to eq(2)
    expect(dead.last_error).to include("(1 attempt)")
  end

  it "posts what an updater did, and nothing when up to date" do
    archive = FtpArchive.new(File.join(@dir, "repo"))
    archive.publish("production", [Debs.build(@dir, version: "1.0")])
    system_root = DpkgRoot.new(File.join(@dir, "system"))
    source = Debpull::Source.new(archive.uri, suite: "production", trusted_keys: Keys.public,
                                              state_dir: File.join(@dir, "state"), architecture: "amd64",
                                              admin_dir: system_root.admin)
    notifier = described_class.new(webhook: webhook.url)
    updater = Debpull::Updater.new(source: source, package: "app", root: system_root.root, notifier: notifier)
    expect(updater.update).to be_updated
    expect(updater.update).to be_up_to_date
    expect(system_root.installed("app")).to eq("1.0")
    bodies = webhook.received
    expect(bodies.size).to eq(1)
    expect(bodies[0]["text"]).to match(/\A:white_check_mark: app 1\.0 installed on \S+\z/)
    fields = bodies[0]["blocks"][1]["fields"].map { |f| f["text"] }
    expect(fields).to include("*Suite*\nproduction", "*Version*\n1.0 (first install)")
  end
end

RSpec.describe Debpull::Notify do
  it "turns SNS notifications into Slack JSON saying what and why" do
    launch = JSON.parse(described_class.sns_to_slack(File.read(File.join(SNS_DIR, "launch.json"))))
    expect(launch["text"]).to start_with(":rocket: Instance i-0123456789abcdef0 launched in web-production: ")
    alarm = JSON.parse(described_class.sns_to_slack(File.read(File.join(SNS_DIR, "alarm.json"))))
    expect(alarm["text"]).to start_with(":rotating_light: Alarm web-production 5xx in ALARM: Threshold Crossed")
    lambda_form = described_class.sns_to_slack(File.read(File.join(SNS_DIR, "lambda_launch.json")))
    expect(JSON.parse(lambda_form)).to eq(launch)
  end

  it "raises typed errors naming the field" do
    expect { described_class.sns_to_slack("{") }.to raise_error(Debpull::ParseError, /not JSON/)
    expect { described_class.sns_to_slack('{"Type": "Notification"}') }
      .to raise_error(Debpull::ParseError, "SNS notification: Message is missing")
    expect { described_class.sns_to_slack('{"Type": "SubscriptionConfirmation", "Message": "x"}') }
      .to raise_error(Debpull::InvalidInput, /SubscriptionConfirmation/)
    expect { described_class.sns_to_slack(nil) }.to raise_error(TypeError, /json/)
  end
end
