# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/keys"
require "open3"
require "pathname"

RSpec.describe "Debpull.user_data" do
  def user_data(**options)
    Debpull.user_data(repository: "s3://releases/apt", region: "eu-west-1", package: "app",
                      trusted_key: Keys.public, **options)
  end

  # The settings part of the script run by sh, printing the variable `name`.
  def setting(script, name)
    settings = script.split("# --- The steps").first
    out, status = Open3.capture2("sh", "-c", "#{settings}\nprintf '%s' \"$#{name}\"")
    expect(status).to be_success
    out
  end

  it "writes a POSIX sh script with the settings given" do
    script = user_data(suite: "staging", policy: :follow, health_check: %w[systemctl is-active app],
                       schedule: :cron, installer: :apt, retries: 3, retry_delay: 0, jitter: 30)
    expect(script).to start_with("#!/bin/sh\n")
    expect(setting(script, "BASE_URL")).to eq("https://releases.s3.eu-west-1.amazonaws.com/apt")
    expect(setting(script, "SCHEDULE")).to eq("cron")
    expect(setting(script, "RETRIES")).to eq("3")
    config = setting(script, "CONFIG_TEXT")
    expect(config).to include("\nsuite = staging\n", "\npackage = app\n", "\ninstaller = apt\n",
                              "\npolicy = follow-repository\n", "\nhealth-check = systemctl is-active app\n",
                              "\nregion = eu-west-1\n", "\njitter = 30\n")
    expect(setting(user_data, "CONFIG_TEXT")).to include("\njitter = 20\n")
    expect(sh_syntax_ok?(script)).to be(true)
  end

  it "takes the key from a Pathname, and an endpoint and a command installer" do
    Dir.mktmpdir do |dir|
      path = Pathname(dir) / "release.asc"
      path.write(Keys.public)
      script = user_data(trusted_key: path, endpoint: "http://127.0.0.1:9000",
                         installer: ["/usr/local/sbin/install-app"])
      expect(setting(script, "BASE_URL")).to eq("http://127.0.0.1:9000/releases/apt")
      expect(setting(script, "CONFIG_TEXT")).to include("\ninstaller-command = /usr/local/sbin/install-app\n")
      expect(script).to eq(user_data(endpoint: "http://127.0.0.1:9000", installer: ["/usr/local/sbin/install-app"]))
    end
  end

  it "refuses hostile values with InvalidInput naming the setting" do
    { suite: "prod'; reboot; '", component: "$(reboot)", package: "App", tool_package: "a b",
      region: "eu-west-1\nx", repository: "s3://releases/`reboot`" }.each do |name, value|
      expect { user_data(name => value) }
        .to raise_error(Debpull::InvalidInput, /#{name.to_s.tr("_", " ")}/), "#{name} = #{value.inspect}"
    end
    expect { user_data(health_check: ["curl", "http://x/ $(reboot)"]) }
      .to raise_error(Debpull::InvalidInput, /health check/)
  end

  it "raises typed errors for bad keys, schemes and arguments" do
    expect { user_data(trusted_key: "not a key") }.to raise_error(Debpull::ParseError, /trusted key/)
    expect { user_data(repository: "ftp://host/x", region: nil) }.to raise_error(Debpull::Unsupported)
    expect { user_data(region: nil) }.to raise_error(Debpull::InvalidInput, /region/)
    expect { user_data(retries: 0) }.to raise_error(ArgumentError, /retries 0 is out of range: 1 to 100/)
    expect { user_data(retries: 101) }.to raise_error(ArgumentError, /retries/)
    expect { user_data(retry_delay: 601) }.to raise_error(ArgumentError, /retry_delay 601 .*0 to 600/)
    expect { user_data(notify_timeout: 0) }.to raise_error(ArgumentError, /notify_timeout/)
    expect { user_data(notify_retries: 11) }.to raise_error(ArgumentError, /notify_retries/)
    expect { user_data(slack_webhook: :hook) }.to raise_error(TypeError, /slack_webhook/)
    expect { user_data(slack_webhook: "ftp://hooks.slack.com/SECRET") }
      .to raise_error(Debpull::InvalidInput, /slack webhook/) { |e| expect(e.message).not_to include("SECRET") }
    expect { user_data(schedule: :weekly) }.to raise_error(ArgumentError, /schedule :weekly/)
    expect { user_data(schedule: "cron") }.to raise_error(TypeError, /schedule/)
    expect { user_data(policy: :sideways) }.to raise_error(ArgumentError, /policy/)
    expect { user_data(installer: :yum) }.to raise_error(ArgumentError, /installer/)
    expect { user_data(suite: :production) }.to raise_error(TypeError, /suite/)
    expect { user_data(trusted_key: 42) }.to raise_error(TypeError, /trusted_key/)
    expect { user_data(health_check: "systemctl is-active app") }.to raise_error(TypeError, /health_check/)
    expect { user_data(retries: "5") }.to raise_error(TypeError, /retries/)
    expect { user_data(jitter: 51) }.to raise_error(ArgumentError, /jitter 51 is out of range: 0 to 50/)
    expect { user_data(jitter: 2.5) }.to raise_error(TypeError, /jitter/)
  end

  it "carries a Slack webhook into the configuration, written 0600" do
    script = user_data(slack_webhook: "https://hooks.slack.com/services/T0/B0/secret", notify_timeout: 20,
                       notify_retries: 0)
    expect(setting(script, "CONFIG_TEXT"))
      .to end_with("\nslack-webhook = https://hooks.slack.com/services/T0/B0/secret\n" \
                   "notify-timeout = 20\nnotify-retries = 0\n")
    expect(script).to include('chmod 0600 "$CONFIG_FILE.new"')
    expect(setting(user_data, "CONFIG_TEXT")).not_to include("slack-webhook")
  end

  it "uses the shared argument checks, not Updater's private methods" do
    expect(Debpull::Updater.private_methods).not_to include(:installer_of, :policy_of, :argv)
    expect { Debpull::Updater.send(:installer_of, :dpkg) }.to raise_error(NoMethodError)
  end

  def sh_syntax_ok?(script)
    _, status = Open3.capture2e("sh", "-n", stdin_data: script)
    status.success?
  end
end
