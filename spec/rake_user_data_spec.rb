# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/keys"
require "debpull/rake_task"
require "stringio"

RSpec.describe "rake deploy:user_data" do
  around do |example|
    saved = ENV.to_h.select { |k, _| k.start_with?("DEBPULL_") }
    saved.each_key { |k| ENV.delete(k) }
    previous = Rake.application
    Rake.application = Rake::Application.new
    example.run
  ensure
    Rake.application = previous
    ENV.delete_if { |k, _| k.start_with?("DEBPULL_") }
    ENV.update(saved)
  end

  let(:out) { StringIO.new }

  def tasks
    Debpull::RakeTask.new(:deploy) do |t|
      t.output = out
      yield t if block_given?
    end
  end

  def run(task)
    Rake.application[task].reenable
    Rake.application[task].invoke
  end

  it "prints the user-data of the task's settings: the promotion suite, the updater's options" do
    tasks do |t|
      t.repository = "s3://releases/app"
      t.region = "eu-west-1"
      t.suite = "staging"
      t.package = "app"
      t.trusted_keys = Keys.public
      t.health_check = "systemctl is-active app"
    end
    run("deploy:user_data")
    expected = Debpull.user_data(repository: "s3://releases/app", region: "eu-west-1", package: "app",
                                 trusted_key: Keys.public, suite: "production", installer: :apt,
                                 health_check: %w[systemctl is-active app])
    expect(out.string).to eq(expected)
    expect(out.string).to include("\nsuite = production\n", "\ninstaller = apt\n")
  end

  it "carries the task's slack_webhook into the server's configuration" do
    tasks do |t|
      t.repository = "file:///srv/repo"
      t.package = "app"
      t.trusted_keys = Keys.public
      t.slack_webhook = "https://hooks.slack.com/services/T0/B0/secret"
    end
    run("deploy:user_data")
    expect(out.string).to include("\nslack-webhook = https://hooks.slack.com/services/T0/B0/secret\n")
  end

  it "carries notify_timeout, notify_retries and jitter as whole numbers, refusing a fraction by name" do
    tasks do |t|
      t.repository = "file:///srv/repo"
      t.package = "app"
      t.trusted_keys = Keys.public
      t.slack_webhook = "https://hooks.slack.com/services/T0/B0/secret"
      t.notify_timeout = 20.0
      t.jitter = 45
    end
    ENV["DEBPULL_NOTIFY_RETRIES"] = "0"
    run("deploy:user_data")
    expect(out.string).to include("\nnotify-timeout = 20\nnotify-retries = 0\n", "\njitter = 45\n")

    ENV["DEBPULL_NOTIFY_TIMEOUT"] = "2.5"
    Rake.application = Rake::Application.new
    tasks do |t|
      t.repository = "file:///srv/repo"
      t.package = "app"
      t.trusted_keys = Keys.public
      t.slack_webhook = "https://hooks.slack.com/services/T0/B0/secret"
    end
    expect { run("deploy:user_data") }
      .to raise_error(Debpull::RakeTask::ConfigurationError,
                      /notify_timeout \(t\.notify_timeout or DEBPULL_NOTIFY_TIMEOUT\) must be a whole number, not "2\.5"/)
    ENV.delete("DEBPULL_NOTIFY_TIMEOUT")
    ENV["DEBPULL_JITTER"] = "soon"
    expect { run("deploy:user_data") }.to raise_error(Debpull::RakeTask::ConfigurationError, /jitter .*"soon"/)
    ENV["DEBPULL_JITTER"] = "51"
    expect { run("deploy:user_data") }.to raise_error(ArgumentError, /jitter 51 is out of range: 0 to 50/)
    ENV.delete("DEBPULL_JITTER")
    ENV.delete("DEBPULL_NOTIFY_RETRIES")
    out.truncate(0)
    out.rewind
    run("deploy:user_data")
    # Unset: the defaults (20 s of jitter for the fleet, 10 s per post, 3 retries).
    expect(out.string).to include("\njitter = 20\n", "\nnotify-timeout = 10\nnotify-retries = 3\n")
  end

  it "takes settings from the environment and names what is missing" do
    tasks
    ENV["DEBPULL_REPOSITORY"] = "file:///srv/repo"
    ENV["DEBPULL_PACKAGE"] = "app"
    expect { run("deploy:user_data") }
      .to raise_error(Debpull::RakeTask::ConfigurationError, /trusted keys.*DEBPULL_TRUSTED_KEYS/)
    ENV["DEBPULL_TRUSTED_KEYS"] = Keys.public
    ENV["DEBPULL_TO"] = "canary"
    run("deploy:user_data")
    expect(out.string).to start_with("#!/bin/sh\n").and include("\nsuite = canary\n")
  end

  it "fails with the core error for a value the script cannot carry" do
    tasks do |t|
      t.repository = "file:///srv/repo"
      t.package = "app"
      t.trusted_keys = Keys.public
      t.to = "prod;reboot"
    end
    expect { run("deploy:user_data") }.to raise_error(Debpull::InvalidInput, /suite/)
    expect(Rake.application["deploy:user_data"].comment).to be_nil.or match(/user-data/)
  end
end
