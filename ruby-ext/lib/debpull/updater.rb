# frozen_string_literal: true

require_relative "checks"

module Debpull
  # Keeps one package of the machine at a {Source}'s candidate: each
  # {#update} checks the source and, if the policy says so, downloads,
  # installs (dpkg, apt or a command), confirms, runs the health check and
  # rolls back to the previous version when the installer or the health check
  # fails. Runs take a lock in the source's state directory. Immutable; usable
  # from several threads.
  #
  # @example Every minute, from cron or a loop
  #   updater = Debpull::Updater.new(source: source, package: "app", installer: :apt,
  #                                  health_check: ["systemctl", "is-active", "app"])
  #   outcome = updater.update
  #   puts outcome # "app: updated 1.0 -> 1.1"
  class Updater
    # The installers by name.
    INSTALLERS = %i[dpkg apt].freeze
    # The policies by name: `:upgrade` installs only higher versions, `:follow`
    # lower ones too (a suite rolled back rolls the machine back).
    POLICIES = { upgrade: "upgrade", follow: "follow" }.freeze

    # How an update run ended.
    class Outcome
      # The kinds, as {#kind} returns them.
      KINDS = %i[up_to_date updated rolled_back failed held held_by_admin skipped].freeze

      # @return [Symbol] one of {KINDS}
      attr_reader :kind
      # @return [String] the package
      attr_reader :package
      # @return [Debpull::Version, nil] the version before the run: for `:updated`
      #   (nil: a first install) and `:rolled_back` (the version reinstalled)
      attr_reader :from
      # @return [Debpull::Version, nil] the version an `:updated` run installed
      attr_reader :to
      # @return [Debpull::Version, nil] the version a `:rolled_back` or `:failed` run tried
      attr_reader :attempted
      # @return [Debpull::Version, nil] the version installed after the run (per dpkg)
      attr_reader :installed
      # @return [Debpull::Version, nil] the candidate not taken (`:up_to_date`,
      #   `:held`, `:held_by_admin`)
      attr_reader :candidate
      # @return [Debpull::Error, nil] why a `:failed` run failed, or why a
      #   `:rolled_back` run's candidate was refused (not raised)
      attr_reader :error
      # @return [Source::Deferred, nil] an `:up_to_date` run's version kept
      #   from this machine for now by a staged rollout
      attr_reader :deferred

      # @api private
      def initialize(fields)
        @kind = fields[:kind]
        @line = fields[:line]
        @package = fields[:package]
        %i[from to attempted installed candidate].each do |name|
          instance_variable_set(:"@#{name}", fields[name] && Version.new(fields[name]))
        end
        @error = fields[:error] && fields[:error][0].new(fields[:error][1])
        @deferred = fields[:deferred] &&
                    Source::Deferred.new(Version.new(fields[:deferred][0]), fields[:deferred][1])
        freeze
      end

      # @return [Boolean] the candidate was installed (and passed the health check)
      def updated? = @kind == :updated
      # @return [Boolean] the candidate failed and the previous version was reinstalled
      def rolled_back? = @kind == :rolled_back
      # @return [Boolean] the run failed (see {#error})
      def failed? = @kind == :failed
      # @return [Boolean] nothing to do
      def up_to_date? = @kind == :up_to_date
      # @return [Boolean] the candidate failed before and is held back for a while,
      #   or the administrator put the package on hold
      def held? = @kind == :held || @kind == :held_by_admin
      # @return [Boolean] another run, or another dpkg, held the lock
      def skipped? = @kind == :skipped

      # @return [String] the one line for a log: `app: updated 1.0 -> 1.1`
      def to_s = @line

      # @return [String]
      def inspect = "#<Debpull::Updater::Outcome #{@kind} #{@line}>"
    end

    # One update run as notifications see it, given to {Updater#update}'s block.
    class Event
      # @return [Outcome]
      attr_reader :outcome
      # @return [String] the source's suite
      attr_reader :suite
      # @return [String] the machine's host name
      attr_reader :hostname
      # @return [Time] when the run started (before the jitter)
      attr_reader :started
      # @return [Float] seconds the run took, jitter included
      attr_reader :duration
      # @return [Float] seconds of random delay before the check
      attr_reader :jitter
      # @return [Array<String>] warnings of the check
      attr_reader :warnings

      # @api private
      def initialize(fields)
        @outcome = Outcome.new(fields[:outcome])
        @suite = fields[:suite]
        @hostname = fields[:hostname]
        @started = Time.at(fields[:started])
        @duration = fields[:duration]
        @jitter = fields[:jitter]
        @warnings = fields[:warnings].freeze
        freeze
      end

      # @return [String]
      def to_s = "#{@hostname} #{@suite}: #{@outcome}"
    end

    class << self
      # @param source [Source]
      # @param package [String] the package kept up to date
      # @param installer [Symbol, Array<String>] `:dpkg` (`dpkg -i`: dependencies
      #   must be installed already), `:apt` (`apt-get install`), or a command
      #   (program and arguments; the .deb's path is appended; it gets
      #   DEBPULL_PACKAGE, DEBPULL_VERSION, DEBPULL_ADMIN_DIR, DEBPULL_ROOT)
      # @param policy [Symbol] `:upgrade` (only higher versions) or `:follow`
      #   (whatever the suite's candidate is)
      # @param health_check [Array<String>, nil] a command run after an install;
      #   failing (non-zero exit, timeout) rolls back
      # @param health_timeout [Numeric] seconds the health check may run
      # @param install_timeout [Numeric] seconds the installer may run
      # @param lock [:skip, Numeric] when another run holds the lock: give up, or
      #   wait up to that many seconds
      # @param jitter [Numeric] wait a random time up to this many seconds first
      # @param pin [String, Debpull::Version, nil] install exactly this version
      # @param root [String, Pathname, nil] install under this root (dpkg's --root)
      # @param apt_config [String, Pathname, nil] the APT_CONFIG file for `:apt`
      # @param notifier [Notifier, nil] posts every run that updated, failed or
      #   rolled back to Slack (a failed post never changes the outcome)
      # @return [Updater]
      # @raise [ArgumentError] an unknown installer, policy or lock
      # @raise [TypeError] an argument of the wrong type
      # @raise [InvalidInput] an empty command, a timeout of 0...
      # @raise [InvalidVersion] a pin that is no version
      def new(source:, package:, installer: :dpkg, policy: :upgrade, health_check: nil,
              health_timeout: 60, install_timeout: 1800, lock: :skip, jitter: 0, pin: nil,
              root: nil, apt_config: nil, notifier: nil)
        raise TypeError, "source must be a Debpull::Source, not #{source.class}" unless source.is_a?(Source)

        Notifier.check(notifier)

        kind, command = Checks.installer_of(installer)
        updater = _new(source, package, kind, command, Checks.policy_of(policy),
             Checks.argv(health_check, "health_check"),
             Checks.seconds(health_timeout, "health_timeout"), Checks.seconds(install_timeout, "install_timeout"),
             lock_of(lock), Checks.seconds(jitter, "jitter"), pin.is_a?(Version) ? pin.to_s : pin, root, apt_config,
             notifier)
        updater.instance_variable_set(:@source, source)
        updater
      end
      private :_new

      private

      def lock_of(lock)
        return nil if lock == :skip
        return Checks.seconds(lock, "lock") if lock.is_a?(Numeric)
        raise ArgumentError, "lock #{lock.inspect} is not known: :skip or seconds to wait" if lock.is_a?(Symbol)

        raise TypeError, "lock must be :skip or seconds (Numeric), not #{lock.class}"
      end
    end

    # @return [Source]
    def source = @source

    # One update run (see the class). Never raises for a failed run: that is
    # an {Outcome} with {Outcome#failed?} and its {Outcome#error}. Blocks
    # without the GVL; Timeout, Thread#kill and Ctrl-C stop it before the
    # installer starts. Once the installer started, install, health check and
    # rollback go on in debpull's background thread even when the call is
    # interrupted: keep the process alive until they end (their outcome then
    # reaches no block: the interrupted call raised already). An interrupt is
    # raised as itself (Timeout::Error, Interrupt...), not as {Cancelled}, even
    # when it arrives after the run ended: the package may then be installed
    # although the call raised; {Source#check} tells what is installed.
    #
    # @yieldparam event [Event] the run's event, on the calling thread, before
    #   this returns
    # @return [Outcome]
    def update
      outcome, events = _update
      events.each { |event| yield Event.new(event) } if block_given?
      Outcome.new(outcome)
    end

    # @return [String]
    def inspect = "#<Debpull::Updater #{package}>"

    private :_update
  end
end
