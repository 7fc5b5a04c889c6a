# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/keys"
require_relative "support/debs"
require_relative "support/publish"
require_relative "support/webhook"
require "debpull/rake_task"
require "json"
require "stringio"
require "tmpdir"

RSpec.describe "Debpull::RakeTask notifications" do
  around do |example|
    saved = ENV.to_h.select { |k, _| k.start_with?("DEBPULL_") }
    saved.each_key { |k| ENV.delete(k) }
    previous = Rake.application
    Rake.application = Rake::Application.new
    Dir.mktmpdir("debpull-rake") do |dir|
      @dir = dir
      example.run
    end
  ensure
    Rake.application = previous
    ENV.delete_if { |k, _| k.start_with?("DEBPULL_") }
    ENV.update(saved)
  end

  let(:out) { StringIO.new }
  let(:webhook) { Webhook.new }
  after { webhook.stop }

  def tasks
    Debpull::RakeTask.new(:deploy) do |t|
      t.output = out
      t.repository = "file://#{@dir}/repo"
      t.suite = "staging"
      t.package = "app"
      t.signing_key = Keys.secret
      yield t if block_given?
    end
  end

  def run(task, *args)
    Rake.application[task].reenable
    Rake.application[task].invoke(*args)
  end

  it "posts publish, promote and prune to DEBPULL_SLACK_WEBHOOK" do
    ENV["DEBPULL_SLACK_WEBHOOK"] = webhook.url
    tasks
    run("deploy:publish", Debs.build(@dir, version: "1.0"))
    run("deploy:publish", Debs.build(@dir, version: "1.1"))
    run("deploy:promote", "1.1")
    run("deploy:prune", "1")
    expect(webhook.received.map { |b| b["text"] }).to eq(
      [":white_check_mark: app 1.0 published to staging", ":white_check_mark: app 1.1 published to staging",
       ":arrow_up: app 1.1 promoted staging → production",
       ":broom: 1 package pruned from staging (keeping 1 version)"]
    )
  end

  it "posts phase and rollback to the webhook" do
    tasks { |t| t.slack_webhook = webhook.url }
    run("deploy:publish", Debs.build(@dir, version: "1.0"))
    run("deploy:publish", Debs.build(@dir, version: "2.0"))
    run("deploy:promote", "1.0")
    run("deploy:promote", "2.0", "10")
    before = webhook.received.size
    run("deploy:phase", "2.0", "50")
    run("deploy:rollback", "1.0")
    expect(webhook.received.drop(before).map { |b| b["text"] }).to eq(
      [":bar_chart: app 2.0 rollout in production: 50%",
       ":leftwards_arrow_with_hook: app rolled back to 1.0 in production"]
    )
    # A rerun of the rollback: done already, said, a success.
    run("deploy:rollback", "1.0")
    expect(out.string).to end_with("already rolled back: app 1.0 is the newest in production\n")
  end

  it "posts an update run from the setting in the Rakefile" do
    archive = FtpArchive.new(File.join(@dir, "archive"))
    archive.publish("production", [Debs.build(@dir, version: "2.0")])
    system_root = DpkgRoot.new(File.join(@dir, "system"))
    tasks do |t|
      t.repository = archive.uri
      t.suite = "production"
      t.trusted_keys = Keys.public
      t.state_dir = File.join(@dir, "state")
      t.installer = :dpkg
      t.slack_webhook = webhook.url
      t.source_options = { architecture: "amd64", admin_dir: system_root.admin }
      t.updater_options = { root: system_root.root }
    end
    run("deploy:update")
    expect(system_root.installed("app")).to eq("2.0")
    expect(webhook.received.map { |b| b["text"] }).to match([/\A:white_check_mark: app 2\.0 installed on /])
  end

  it "posts with DEBPULL_NOTIFY_TIMEOUT and DEBPULL_NOTIFY_RETRIES" do
    failing = Webhook.new([[500, {}, "down"], [500, {}, "down"]])
    ENV["DEBPULL_SLACK_WEBHOOK"] = failing.url
    ENV["DEBPULL_NOTIFY_RETRIES"] = "1"
    ENV["DEBPULL_NOTIFY_TIMEOUT"] = "5"
    tasks
    # One retry, not the default three: two attempts, both refused.
    expect { run("deploy:publish", Debs.build(@dir, version: "1.0")) }
      .to output(/HTTP 500: down \(2 attempts\)/).to_stderr_from_any_process
    expect(failing.received.size).to eq(2)
  ensure
    failing&.stop
  end

  it "refuses a notify_timeout or notify_retries that is no number, or out of range" do
    ENV["DEBPULL_SLACK_WEBHOOK"] = webhook.url
    ENV["DEBPULL_NOTIFY_TIMEOUT"] = "soon"
    tasks
    expect { run("deploy:publish", Debs.build(@dir, version: "1.0")) }
      .to raise_error(Debpull::RakeTask::ConfigurationError, /notify_timeout .*DEBPULL_NOTIFY_TIMEOUT.* "soon"/)
    Rake.application = Rake::Application.new
    ENV.delete("DEBPULL_NOTIFY_TIMEOUT")
    tasks { |t| t.notify_retries = 11 }
    expect { run("deploy:publish", Debs.build(@dir, version: "1.0")) }
      .to raise_error(Debpull::InvalidInput, /retries/)
  end

  it "never fails a task for a dead webhook" do
    ENV["DEBPULL_SLACK_WEBHOOK"] = Webhook.dead_url
    tasks
    expect { run("deploy:publish", Debs.build(@dir, version: "1.0")) }
      .to output(/debpull: notification not sent: webhook http:\/\/127\.0\.0\.1:\d+\/\*\*\*: /).to_stderr_from_any_process
    expect(out.string).to include("published 1 .deb into staging")
  end

  it "deploy:sns prints the Slack JSON, or posts it when a webhook is set" do
    file = File.expand_path("../core/tests/data/sns/terminate.json", __dir__)
    tasks
    run("deploy:sns", file)
    printed = JSON.parse(out.string)
    expect(printed["text"]).to start_with(":wave: Instance i-0fedcba9876543210 terminated in web-production: ")
    expect(webhook.received).to eq([])

    Rake.application = Rake::Application.new
    ENV["DEBPULL_SLACK_WEBHOOK"] = webhook.url
    out.truncate(0)
    out.rewind
    tasks
    run("deploy:sns", file)
    expect(out.string).to match(%r{\Aposted to http://127\.0\.0\.1:\d+/\*\*\*: :wave: Instance})
    expect(webhook.received).to eq([printed])
  end

  it "deploy:sns refuses a missing argument, a missing file and malformed JSON" do
    tasks
    expect { run("deploy:sns") }.to raise_error(Debpull::RakeTask::ConfigurationError, /needs a file/)
    expect { run("deploy:sns", File.join(@dir, "nope.json")) }
      .to raise_error(Debpull::RakeTask::ConfigurationError, /nope\.json/)
    bad = File.join(@dir, "bad.json")
    File.write(bad, '{"Type": "Notification", "Message": "{\"AlarmName\": \"x\"}"}')
    expect { run("deploy:sns", bad) }.to raise_error(Debpull::ParseError, /NewStateValue is missing/)
  end
end
