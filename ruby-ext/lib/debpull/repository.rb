# frozen_string_literal: true

module Debpull
  # A signed apt repository in a storage — a local directory (`file:///srv/repo`)
  # or an S3 bucket (`s3://bucket/prefix`) — and the key that signs it. Every
  # method that reads or writes the storage runs with the GVL released and can
  # be interrupted (Timeout, Thread#kill, Ctrl-C). Safe to share between threads:
  # concurrent changes to one suite retry against each other.
  #
  # @example The staging → production pipeline
  #   repo = Debpull::Repository.new("s3://bucket/apt", signing_key: File.read("key.asc"),
  #                                  origin: "Find a Player", label: "app")
  #   report = repo.publish("staging", ["app_1.0_amd64.deb"]) do |event|
  #     puts "#{event.kind} #{event.name} #{event.bytes}"
  #   end
  #   repo.promote("app", "1.0", from: "staging", to: "production")
  #   repo.prune("staging", keep: 5)
  #   repo.gc(grace: 3600)
  class Repository
    # A progress event of {#publish}.
    # @!attribute kind
    #   @return [Symbol] `:hashed` (a `.deb` was read: name is its path), `:uploaded`
    #     (an object was written: name is its key), `:committed` (the suite's new
    #     InRelease was written, the change is visible: name is the suite)
    # @!attribute name
    #   @return [String]
    # @!attribute bytes
    #   @return [Integer] the size (0 for `:committed`)
    # @!attribute attempts
    #   @return [Integer] attempts of the commit (0 for the other kinds)
    Event = Struct.new(:kind, :name, :bytes, :attempts) do
      # @return [String] one line for a log: `hashed app_1.0_amd64.deb (9069 bytes)`,
      #   `uploaded pool/main/a/app/app_1.0_amd64.deb (9069 bytes)`, `committed staging (1 attempt)`
      def to_s
        case kind
        when :committed then "committed #{name} (#{attempts} attempt#{"s" unless attempts == 1})"
        when :hashed then "hashed #{File.basename(name)} (#{bytes} bytes)"
        else "#{kind} #{name} (#{bytes} bytes)"
        end
      end
    end

    # What {#publish} did.
    # @!attribute added
    #   @return [Array<Package>] packages new in the suite
    # @!attribute unchanged
    #   @return [Array<Package>] packages that were there already, identical
    # @!attribute replaced
    #   @return [Array<Package>] packages that replaced others of the same name,
    #     version and architecture (`replace: true`)
    # @!attribute attempts
    #   @return [Integer] attempts the commit took (0: nothing to commit)
    # @!attribute rephased
    #   @return [Array<Package>] packages that were there already, identical,
    #     whose rollout percentage `percentage:` changed
    PublishReport = Struct.new(:added, :unchanged, :replaced, :attempts, :rephased) do
      # @return [String] `3 added, 0 already there, 0 replaced, 1 attempt`
      def to_s
        "#{added.size} added, #{unchanged.size} already there, #{replaced.size} replaced, " \
          "#{attempts} attempt#{"s" unless attempts == 1}"
      end
    end

    # What {#verify} checked.
    # @!attribute suite
    #   @return [String]
    # @!attribute index_files
    #   @return [Integer] files the Release lists, each checked at its path and by hash
    # @!attribute packages
    #   @return [Integer] distinct packages in the suite's indexes
    # @!attribute pool_files
    #   @return [Integer] distinct pool files checked against their Packages entries
    # @!attribute bytes
    #   @return [Integer] bytes read and hashed
    VerifyReport = Struct.new(:suite, :index_files, :packages, :pool_files, :bytes)

    # What {#gc} did.
    # @!attribute suites
    #   @return [Array<String>] suites whose references were collected
    # @!attribute deleted
    #   @return [Array<String>] keys of the objects deleted
    # @!attribute pending
    #   @return [Integer] unreferenced objects kept until their grace period ends
    # @!attribute referenced
    #   @return [Integer] pool and by-hash objects still referenced
    GcReport = Struct.new(:suites, :deleted, :pending, :referenced)

    # Opens the repository at `uri`; nothing is read or written yet. S3
    # credentials come from the environment (`AWS_ACCESS_KEY_ID`, profiles,
    # instance metadata).
    #
    # @param uri [String] `file:///absolute/path` or `s3://bucket/prefix`
    # @param signing_key [String] an ASCII-armored OpenPGP secret key
    #   (`gpg --export-secret-keys --armor`), in any encoding (`File.binread` is fine).
    #   Unlocking it runs on a background thread with the GVL released.
    # @param passphrase [String, nil] unlocks signing_key
    # @param origin [String] the `Origin` of new suites
    # @param label [String] the `Label` of new suites
    # @param region [String, nil] the S3 region (`s3://` only)
    # @param endpoint [String, nil] an S3-compatible endpoint URL (`s3://` only;
    #   implies path-style addressing)
    # @param valid_for [Integer, nil] seconds each Release is valid (`Valid-Until`); nil: forever
    # @param notifier [Notifier, nil] posts every successful publish, promote,
    #   rollback ({#rollback}), phase, remove and prune to Slack (a failed
    #   post never fails them)
    # @raise [InvalidInput] a key that is not a secret key, a wrong or missing
    #   passphrase, an empty or multi-line origin/label, region or endpoint for
    #   another scheme, valid_for over 10 years
    # @raise [Unsupported] a URI scheme debpull does not write (`ftp://`)
    # @raise [TypeError] an argument of the wrong type
    def initialize(uri, signing_key:, passphrase: nil, origin: "debpull", label: "debpull",
                   region: nil, endpoint: nil, valid_for: nil, notifier: nil)
      super()
      Repository.check_seconds(valid_for, "valid_for", allow_nil: true)
      Notifier.check(notifier)
      _initialize(uri, signing_key, passphrase, origin, label, region, endpoint, valid_for, notifier)
    end

    # Publishes `.deb` files into `component` of `suite` (created if needed).
    # A package already there identically is left alone; one with the same
    # name, version and architecture but other content is a {Conflict}
    # (nothing is published) unless `replace` is true.
    #
    # The block, if given, gets each progress {Event} in order, with the GVL
    # held (the work waits meanwhile): `:hashed` for each file first, then
    # `:uploaded` for each object written, and one `:committed` when the new
    # InRelease is written (the plain-path copies of the indexes are uploaded
    # after it). An exception raised in the block stops the publish and
    # propagates (raised before `:committed`, nothing is visible; objects
    # already uploaded stay until {#gc}). Events that arrive together are
    # given to the block one after the other in one return to Ruby.
    #
    # An interrupt (Timeout, Thread#kill, Ctrl-C) stops the publish at once
    # and is raised, not a {Cancelled}. One that arrives after the commit
    # (the publish is visible) is raised all the same: the report is lost,
    # not the publish; {#packages} tells what the suite holds.
    #
    # @param suite [String]
    # @param debs [Array<String, Pathname>] at least one
    # @param component [String]
    # @param replace [Boolean]
    # @param percentage [Integer, nil] a staged rollout: the share of the fleet
    #   (0 to 100; 100 or nil: everyone) that takes the packages (apt's
    #   `Phased-Update-Percentage`), in the same commit
    # @yieldparam event [Event]
    # @return [PublishReport]
    # @raise [Conflict] another package with the same name, version and architecture
    # @raise [IOError] a missing file; [ParseError] a file that is not a `.deb` (both name it)
    # @raise [StorageError] the storage failed
    def publish(suite, debs, component: "main", replace: false, percentage: nil, &block)
      raise TypeError, "debs: expected an Array of paths, got #{debs.class}" unless debs.is_a?(Array)
      raise ArgumentError, "debs: no file given" if debs.empty?
      Repository.check_boolean(replace, "replace")
      Repository.check_percentage(percentage, allow_nil: true)

      on_event = block && ->(kind, name, bytes, attempts) { block.call(Event.new(kind, name, bytes, attempts)) }
      PublishReport.new(*_publish(suite, debs, component, replace, on_event, percentage))
    end

    # Copies package `name` at `version` (every architecture of it) from
    # suite `from` to suite `to`, sharing the pool files.
    #
    # @param name [String]
    # @param version [String, Version]
    # @param from [String]
    # @param to [String]
    # @param percentage [Integer, nil] a staged rollout in `to` (0 to 100); nil:
    #   a version new in `to` is for everyone, one already there keeps its own
    # @return [Array<Package>] the entries added to `to` (empty when all were there)
    # @raise [NotFound] no such suite or package
    # @raise [InvalidVersion] version is not one dpkg accepts
    # @raise [InvalidInput] a percentage above 100
    # @raise [Conflict] a version lower than the newest of `name` in `to`
    #   (a late promote of an older build): roll back with {#rollback}
    def promote(name, version, from:, to:, percentage: nil)
      promote_report(name, version, from: from, to: to, percentage: percentage).added
    end

    # What {#promote_report} did.
    # @!attribute added
    #   @return [Array<Package>] entries added to the target suite
    # @!attribute demoted
    #   @return [Array<Package>] entries of higher versions removed from the
    #     target suite by {#rollback} (their pool files stay)
    # @!attribute rephased
    #   @return [Array<Package>] entries already there whose rollout percentage changed
    # @!attribute attempts
    #   @return [Integer] attempts the commit took (0: nothing to commit)
    PromoteReport = Struct.new(:added, :demoted, :rephased, :attempts) do
      # @return [String] `1 added, 1 demoted (2.0), 0 re-phased`
      def to_s
        demoted_versions = demoted.map { |p| p.version.to_s }.uniq
        "#{added.size} added, #{demoted.size} demoted" \
          "#{demoted_versions.empty? ? "" : " (#{demoted_versions.join(", ")})"}, #{rephased.size} re-phased"
      end
    end

    # {#promote}, reporting everything it did: what it added, what changed
    # percentage.
    #
    # @param (see #promote)
    # @return [PromoteReport]
    # @raise (see #promote)
    def promote_report(name, version, from:, to:, percentage: nil)
      Repository.check_percentage(percentage, allow_nil: true)
      PromoteReport.new(*_promote(name, Repository.version_text(version, "version"), from, to, percentage))
    end

    # Rolls package `name` in `suite` back to `version`, taken from `suite`
    # itself (it must still be there; the staging suite is not needed): the
    # newer versions leave `suite` where `version` is (each component and
    # architecture listing it; their pool files stay) and `version` is for
    # everyone. Servers whose updater follows the repository go back to it.
    # Notified like a promote.
    #
    # @param suite [String]
    # @param name [String]
    # @param version [String, Version]
    # @return [PromoteReport] `demoted` lists what left (empty: nothing newer was there)
    # @raise [NotFound] the version is not in the suite
    # @raise [InvalidVersion] version is not one dpkg accepts
    def rollback(suite, name, version)
      PromoteReport.new(*_rollback(suite, name, Repository.version_text(version, "version")))
    end

    # Changes the staged rollout of package `name` at `version` in `suite`
    # (every component and architecture): `percentage` of the fleet takes it;
    # 100 completes the rollout (the field is removed).
    #
    # @param suite [String]
    # @param name [String]
    # @param version [String, Version]
    # @param percentage [Integer] 0 to 100
    # @return [Array<Package>] the entries changed (empty: already at that percentage)
    # @raise [NotFound] the version is not in the suite
    # @raise [InvalidInput] a percentage above 100 or below 0
    # @raise [TypeError] a percentage that is not an Integer
    def phase(suite, name, version, percentage)
      Repository.check_percentage(percentage, allow_nil: false)
      _phase(suite, name, Repository.version_text(version, "version"), percentage)
    end

    # Removes package `name` from `suite`: the one `version`, or every version.
    #
    # @param suite [String]
    # @param name [String]
    # @param version [String, Version, nil]
    # @return [Array<Package>] the entries removed
    # @raise [NotFound] nothing matching
    def remove(suite, name, version: nil)
      _remove(suite, name, version.nil? ? nil : Repository.version_text(version, "version"))
    end

    # Keeps the newest `keep` versions of every package and architecture in `suite`.
    #
    # @param suite [String]
    # @param keep [Integer] at least 1
    # @return [Array<Package>] the entries removed
    # @raise [NotFound] no such suite
    # @raise [ArgumentError] keep is less than 1
    def prune(suite, keep:)
      raise TypeError, "keep: expected an Integer, got #{keep.class}" unless keep.is_a?(Integer)
      raise ArgumentError, "keep: #{keep} (at least 1 version must be kept)" if keep < 1

      _prune(suite, keep)
    end

    # @param suite [String]
    # @return [Array<Package>] the suite's packages, each once, sorted by name,
    #   version and architecture
    # @raise [NotFound] no such suite
    # @raise [VerificationError] its InRelease is not signed by this repository's key
    def packages(suite)
      _packages(suite)
    end

    # Checks `suite` as a client would: the InRelease signature, every index's
    # size and checksums, every pool file.
    #
    # @param suite [String]
    # @param trusted_keys [String, nil] OpenPGP public keys (armored or binary,
    #   any encoding) to check the signature with; nil: this repository's own key
    # @return [VerifyReport]
    # @raise [VerificationError] a bad signature or a damaged file (named)
    # @raise [NotFound] no such suite
    def verify(suite, trusted_keys: nil)
      VerifyReport.new(*_verify(suite, trusted_keys))
    end

    # Deletes pool files no suite lists and by-hash indexes no Release lists,
    # once unreferenced for at least `grace` seconds (counted from the first
    # gc that saw them so).
    #
    # @param grace [Integer] seconds (at most 10 years)
    # @return [GcReport]
    # @raise [InvalidInput] grace over 10 years
    def gc(grace: 3600)
      Repository.check_seconds(grace, "grace", allow_nil: false)
      GcReport.new(*_gc(grace))
    end

    # The longest duration accepted (valid_for, grace): 10 years, in seconds.
    MAX_SECONDS = 10 * 366 * 24 * 3600

    # @api private
    def self.check_seconds(value, name, allow_nil:)
      return if value.nil? && allow_nil
      raise TypeError, "#{name}: expected an Integer (seconds), got #{value.class}" unless value.is_a?(Integer)
      raise ArgumentError, "#{name}: #{value} seconds is negative" if value.negative?
      # Checked here too: the native layer would raise RangeError past 2**64.
      return if value <= MAX_SECONDS

      raise InvalidInput, "#{name}: #{value} seconds is more than the #{MAX_SECONDS} (10 years) accepted"
    end

    # @api private
    def self.check_percentage(value, allow_nil:)
      return if value.nil? && allow_nil
      raise TypeError, "percentage: expected an Integer (0 to 100), got #{value.class}" unless value.is_a?(Integer)
      # Checked here too: the native layer would raise RangeError past 2**63.
      return if value.between?(0, 100)

      raise InvalidInput, "phased-update percentage #{value} is not between 0 and 100"
    end

    # @api private
    def self.check_boolean(value, name)
      return if [true, false].include?(value)

      raise TypeError, "#{name}: expected true or false, got #{value.inspect}"
    end

    # @api private
    def self.version_text(version, name)
      return version.to_s if version.is_a?(Version)
      return version if version.is_a?(String)

      raise TypeError, "#{name}: expected a String or Debpull::Version, got #{version.class}"
    end
  end
end
