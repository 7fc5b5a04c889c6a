# frozen_string_literal: true

module Debpull
  # A Slack incoming webhook that repositories and updaters post to: give it
  # as `notifier:` to {Repository#initialize} (every successful publish,
  # promote, rollback ({Repository#rollback}), phase, remove and prune is
  # posted) or {Updater.new} (every run that
  # updated, failed or rolled back; up-to-date, skipped and held runs post
  # nothing). A failed post never fails the deploy: it is a one-line warning
  # on stderr (unless `warnings: false`) and is counted ({#failed},
  # {#last_error}). Safe to share between threads.
  #
  # @example
  #   notifier = Debpull::Notifier.new(webhook: ENV.fetch("DEBPULL_SLACK_WEBHOOK"))
  #   repo = Debpull::Repository.new("s3://apt/app", signing_key: key, notifier: notifier)
  class Notifier
    class << self
      # @param webhook [String] the webhook URL (`https://hooks.slack.com/services/...`,
      #   or `http://`); messages and errors never show its secret path
      # @param timeout [Numeric] seconds per attempt (more than 0, at most 3600)
      # @param retries [Integer] retries (0 to 10) of network failures, timeouts,
      #   5xx and 429 (after its Retry-After, up to 30 s); the whole post takes at
      #   most 15 s (or `timeout` when longer)
      # @param warnings [Boolean] print a failed post on stderr
      # @return [Notifier]
      # @raise [InvalidInput] a URL that is not http(s) with a host, a bad timeout or retries
      # @raise [TypeError] an argument of the wrong type
      def new(webhook:, timeout: 10, retries: 3, warnings: true)
        raise TypeError, "webhook: expected a String, got #{webhook.class}" unless webhook.is_a?(String)
        raise TypeError, "timeout: expected a Numeric (seconds), got #{timeout.class}" unless timeout.is_a?(Numeric)
        raise TypeError, "retries: expected an Integer, got #{retries.class}" unless retries.is_a?(Integer)
        raise InvalidInput, "retries: #{retries} is not from 0 to 10" unless (0..10).cover?(retries)

        Repository.check_boolean(warnings, "warnings")
        _new(webhook, timeout.to_f, retries, warnings)
      end
      private :_new
    end

    # Posts Slack JSON (e.g. from {Notify.sns_to_slack}) with the notifier's
    # timeout and retries, the GVL released. Unlike the posts of repositories
    # and updaters, a failure raises (no warning); it is counted all the same.
    # @param json [String]
    # @return [Integer] the attempts it took
    # @raise [StorageError] the webhook refused or could not be reached
    def post(json)
      raise TypeError, "json: expected a String, got #{json.class}" unless json.is_a?(String)

      _post(json)
    end

    # @api private
    def self.check(notifier)
      return if notifier.nil? || notifier.is_a?(Notifier)

      raise TypeError, "notifier: expected a Debpull::Notifier or nil, got #{notifier.class}"
    end

    # @return [String]
    def inspect = "#<Debpull::Notifier #{self} sent=#{sent} failed=#{failed}>"
  end

  # Slack messages for what AWS reports about the fleet.
  module Notify
    # The Slack incoming-webhook JSON for an Amazon SNS notification: the HTTP
    # form (`"Type": "Notification"`) or a Lambda event (`"Records"`), whose
    # `Message` is an EC2 Auto Scaling notification (launch, terminate, launch
    # or terminate error, test) or a CloudWatch alarm state change. It says
    # what happened and why (`Cause`, `StatusMessage`, `NewStateReason`).
    #
    # @example a Lambda handler (Ruby runtime)
    #   def handler(event:, context:)
    #     json = Debpull::Notify.sns_to_slack(JSON.generate(event))
    #     Debpull::Notifier.new(webhook: ENV.fetch("SLACK_WEBHOOK")).post(json)
    #   end
    # @param json [String]
    # @return [String] JSON: `{"text": ..., "blocks": [...]}`
    # @raise [ParseError] not JSON, a Message that is not JSON, a missing or
    #   mistyped field (named)
    # @raise [InvalidInput] not a notification, an unknown event or alarm state
    # @raise [LimitExceeded] more than 1 MiB
    def self.sns_to_slack(json)
      raise TypeError, "json: expected a String, got #{json.class}" unless json.is_a?(String)

      _sns_to_slack(json)
    end
    private_class_method :_sns_to_slack
  end
end
