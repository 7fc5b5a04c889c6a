# frozen_string_literal: true

require_relative "checks"

module Debpull
  # How the every-minute job of a new server is installed, for {Debpull.user_data}.
  USER_DATA_SCHEDULES = %i[cron systemd auto].freeze

  class << self
    # The EC2 user-data (a POSIX sh script cloud-init runs as root at first
    # boot) that turns a stock Debian 12 / Ubuntu 22.04+ image (Ubuntu 24.04+
    # for `s3://`: the script needs curl 7.86 or later) into a server of the
    # fleet: installs what is missing of curl, ca-certificates and gpgv,
    # reaches the repository with the instance role (IMDSv2) for `s3://`,
    # installs the `debpull-update` tool from the repository (verified with
    # gpgv against `trusted_key`), writes /etc/debpull/update.conf, installs
    # `package` from `suite`, and installs the every-minute job. Every value is
    # checked and embedded single-quoted.
    #
    # @example A launch template's user data
    #   Debpull.user_data(repository: "s3://releases/apt", region: "eu-west-1",
    #                     package: "app", trusted_key: File.read("release.asc"))
    #
    # @param repository [String] `s3://bucket/prefix`, `https://...` or `file:///...`
    # @param package [String] the package the server keeps current
    # @param trusted_key [String, Pathname] the repository's public key (armored
    #   or binary), or a Pathname of a file with it
    # @param suite [String]
    # @param component [String]
    # @param region [String, nil] the S3 region (required for `s3://`)
    # @param endpoint [String, nil] an S3-compatible endpoint (path style)
    # @param installer [Symbol, Array<String>] `:dpkg`, `:apt` or a command
    # @param policy [Symbol] `:upgrade` or `:follow`
    # @param health_check [Array<String>, nil] run after each install; no
    #   argument may hold blanks
    # @param schedule [Symbol] `:cron`, `:systemd` or `:auto` (systemd when it runs)
    # @param tool_package [String] the package with `debpull-update`
    # @param retries [Integer] tries of each download and the first run (1..100)
    # @param retry_delay [Integer] seconds before the first retry (0..600)
    # @param slack_webhook [String, nil] a Slack incoming-webhook URL the
    #   server's tool posts updates, failures and rollbacks to; written into
    #   /etc/debpull/update.conf (mode 0600). A secret in clear in the user
    #   data: readable through the instance metadata service and
    #   DescribeInstanceAttribute
    # @param notify_timeout [Integer] seconds per post attempt (1..3600)
    # @param notify_retries [Integer] retries of a failed post (0..10)
    # @param jitter [Integer] at most this many seconds of random delay before
    #   each run of the server's tool (0..50; the job runs every minute), so
    #   that the fleet does not reach the repository in the same second
    # @return [String] the script
    # @raise [TypeError] an argument of the wrong type
    # @raise [ArgumentError] an unknown installer, policy or schedule; a
    #   number out of range
    # @raise [InvalidInput] a value the script cannot carry (naming the setting)
    # @raise [ParseError] a trusted key that is not one
    # @raise [Unsupported] a repository scheme other than s3, https, http, file
    def user_data(repository:, package:, trusted_key:, suite: "production", component: "main",
                  region: nil, endpoint: nil, installer: :dpkg, policy: :upgrade, health_check: nil,
                  schedule: :auto, tool_package: "debpull-update", retries: 5, retry_delay: 5,
                  slack_webhook: nil, notify_timeout: 10, notify_retries: 3, jitter: 20)
      { repository: repository, package: package, suite: suite, component: component,
        tool_package: tool_package }.each { |name, value| user_data_string(value, name) }
      { region: region, endpoint: endpoint, slack_webhook: slack_webhook }.each do |name, value|
        user_data_string(value, name) unless value.nil?
      end
      key = trusted_key.respond_to?(:to_path) ? File.binread(trusted_key.to_path) : trusted_key
      user_data_string(key, :trusted_key, "a String or a Pathname")
      kind, command = Checks.installer_of(installer)
      settings = {
        "suite" => suite, "component" => component, "region" => region, "endpoint" => endpoint,
        "installer" => kind, "installer_command" => command,
        "policy" => Checks.policy_of(policy),
        "health_check" => Checks.argv(health_check, "health_check"),
        "schedule" => user_data_schedule(schedule), "tool_package" => tool_package,
        "retries" => Checks.integer_in(retries, :retries, 1..100),
        "retry_delay" => Checks.integer_in(retry_delay, :retry_delay, 0..600),
        "slack_webhook" => slack_webhook,
        "notify_timeout" => Checks.integer_in(notify_timeout, :notify_timeout, 1..3600),
        "notify_retries" => Checks.integer_in(notify_retries, :notify_retries, 0..10),
        "jitter" => Checks.integer_in(jitter, :jitter, 0..50)
      }
      _user_data(repository, package, key, settings)
    end

    private

    def user_data_string(value, name, what = "a String")
      raise TypeError, "#{name} must be #{what}, not #{value.class}" unless value.is_a?(String)
    end

    def user_data_schedule(schedule)
      raise TypeError, "schedule must be a Symbol (:cron, :systemd or :auto), not #{schedule.class}" unless schedule.is_a?(Symbol)
      raise ArgumentError, "schedule #{schedule.inspect} is not known: :cron, :systemd or :auto" unless USER_DATA_SCHEDULES.include?(schedule)

      schedule.to_s
    end
  end
  private_class_method :_user_data
end
