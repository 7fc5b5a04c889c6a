# frozen_string_literal: true

module Debpull
  # A suite of a signed apt repository that a machine pulls from: where it is
  # (`file:///srv/repo`, `s3://bucket/prefix`, `https://host/path`), the keys
  # its InRelease must be signed with, and a state directory (last accepted
  # InRelease, verified index, downloaded .debs, the update lock). Nothing is
  # read until {#check}. Immutable; usable from several threads.
  #
  # @example
  #   source = Debpull::Source.new("s3://bucket/prefix", suite: "production",
  #                                trusted_keys: File.read("key.asc"),
  #                                state_dir: "/var/lib/debpull")
  #   status = source.check("app")
  #   puts "#{status.installed} -> #{status.candidate.version}" if status.update_available?
  #
  # @!attribute [r] uri
  #   @return [String] the store read (without credentials)
  # @!attribute [r] suite
  #   @return [String]
  # @!attribute [r] component
  #   @return [String]
  # @!attribute [r] architecture
  #   @return [String] the architecture in effect (given, or the machine's)
  # @!attribute [r] state_dir
  #   @return [String]
  # @!attribute [r] admin_dir
  #   @return [String] dpkg's administrative directory
  class Source
    # A version a staged rollout keeps from this machine for now
    # ({Status#deferred}, {Updater::Outcome#deferred}).
    # @!attribute version
    #   @return [Debpull::Version]
    # @!attribute percentage
    #   @return [Integer] its rollout percentage (0 to 99)
    Deferred = Struct.new(:version, :percentage) do
      # @return [String] `2.0 deferred (phased 25%, this machine not yet included)`
      def to_s = "#{version} deferred (phased #{percentage}%, this machine not yet included)"
    end

    # What {Source#check} found for one package.
    class Status
      # @return [String] the package asked about
      attr_reader :package
      # @return [Debpull::Version, nil] the version dpkg has installed
      attr_reader :installed
      # @return [Debpull::Package, nil] the suite's candidate (its index entry:
      #   Filename, Size, SHA256...): the highest version for
      #   the architecture or `all` (or the pinned one); nil when the suite
      #   lacks the package
      attr_reader :candidate
      # @return [Array<String>] warnings of this check (signatures not checked...)
      attr_reader :warnings
      # @return [Deferred, nil] the suite's highest version when a staged
      #   rollout keeps it from this machine for now (the candidate is then the
      #   newest version this machine is in, or what it has); nil when the
      #   candidate is that version (a first install with nothing else to take)
      attr_reader :deferred

      # @api private
      def initialize(fields)
        @package = fields[:package]
        @installed = fields[:installed] && Version.new(fields[:installed])
        @candidate = fields[:candidate]
        @update_available = fields[:update_available]
        @repository_changed = fields[:repository_changed]
        @warnings = fields[:warnings].freeze
        @deferred = fields[:deferred] && Deferred.new(Version.new(fields[:deferred][0]), fields[:deferred][1])
        freeze
      end

      # @return [Boolean] whether the candidate is higher than the installed
      #   version (or nothing is installed and there is a candidate)
      def update_available? = @update_available

      # @return [Boolean] whether the suite changed since the previous check
      #   of this state directory (false: "not modified")
      def repository_changed? = @repository_changed

      # @return [String]
      def to_s
        candidate = @candidate ? @candidate.version.to_s : "none"
        "#{@package}: installed #{@installed || "none"}, candidate #{candidate}" \
          "#{update_available? ? " (update available)" : ""}" \
          "#{@deferred ? ", #{@deferred}" : ""}"
      end

      # @return [String]
      def inspect = "#<Debpull::Source::Status #{self}>"
    end

    class << self
      # @param uri [String] `file:///path`, `s3://bucket/prefix`, `http(s)://host/path`
      # @param suite [String] the suite (`production`), which the Release must name
      # @param component [String]
      # @param trusted_keys [String] one or more OpenPGP public keys, armored or
      #   binary (what apt's `signed-by=` takes); required unless insecure_unsigned.
      #   Parsing them and asking dpkg for the architecture run on a background
      #   thread with the GVL released (an interrupt stops the call at once).
      # @param state_dir [String, Pathname] created when missing (mode 0700); it must belong to
      #   the user and not be writable by others
      # @param architecture [String, nil] nil: the machine's (`dpkg --print-architecture`)
      # @param admin_dir [String, Pathname, nil] dpkg's administrative directory (nil: /var/lib/dpkg)
      # @param region [String, nil] the S3 region (s3:// only)
      # @param endpoint [String, nil] an S3-compatible endpoint (s3:// only; path-style)
      # @param insecure_unsigned [Boolean] true: no signature is checked. Anyone who can
      #   write to the repository can then install anything: only for a trusted local disk.
      # @param machine_id [String, nil] this machine's id for staged rollouts (32 hex
      #   digits, as /etc/machine-id); nil: /etc/machine-id's, read at every check
      # @return [Source]
      # @raise [TypeError] an argument of the wrong type
      # @raise [InvalidInput] a missing key, a suite or component that is not a plain name...
      # @raise [ParseError] trusted_keys that are not OpenPGP public keys
      # @raise [Unsupported] a URI scheme debpull does not read
      def new(uri, suite:, state_dir:, trusted_keys: nil, component: "main", architecture: nil,
              admin_dir: nil, region: nil, endpoint: nil, insecure_unsigned: false, machine_id: nil)
        unless [true, false].include?(insecure_unsigned)
          raise TypeError, "insecure_unsigned must be true or false, not #{insecure_unsigned.inspect}"
        end
        if trusted_keys.nil? && !insecure_unsigned
          raise ArgumentError, "trusted_keys: is required (the repository's public signing key), " \
                               "or insecure_unsigned: true for a repository on a trusted local disk"
        end
        _open(uri, suite, component, trusted_keys, state_dir, architecture, admin_dir,
              region, endpoint, insecure_unsigned, machine_id)
      end
      private :_open
    end

    # Checks `package`: what dpkg has installed and the suite's candidate.
    # Verifies the repository (signature, no rollback, hashes). Blocks without
    # the GVL; Timeout, Thread#kill and Ctrl-C stop it and are raised as
    # themselves (not {Cancelled}), even one arriving just after the check ended.
    #
    # @param package [String]
    # @param pin [String, Debpull::Version, nil] exactly this version instead of the highest
    # @return [Status]
    # @raise [VerificationError] a bad signature, a replayed older snapshot, a hash mismatch
    # @raise [NotFound] a pin the suite lacks; a suite that does not exist
    # @raise [InvalidVersion] a pin that is no version
    # @raise [StorageError] the store could not be read
    def check(package, pin: nil)
      pin = pin.to_s if pin.is_a?(Version)
      Status.new(_check(package, pin))
    end

    # Forgets the last accepted Date, so that the next check accepts an older
    # (still signed) snapshot. Only for a repository restored from a backup.
    # @return [nil]
    def reset_rollback_floor
      _reset_rollback_floor
      nil
    end

    # @return [String]
    def inspect = "#<Debpull::Source #{uri} #{suite}/#{component}/#{architecture}>"

    private :_check, :_reset_rollback_floor
  end
end
