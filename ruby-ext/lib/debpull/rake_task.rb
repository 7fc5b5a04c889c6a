# frozen_string_literal: true

require "fileutils"
require "rake"
require "rake/tasklib"
require "json"
require "debpull"

module Debpull
  # Rake tasks for a staging -> production pipeline, installed with one line:
  #
  # @example Rakefile
  #   require "debpull/rake_task"
  #   Debpull::RakeTask.new(:deploy) do |t|
  #     t.repository = "s3://releases/app"
  #     t.suite = "staging"
  #     t.package = "app"
  #     t.signing_key = "keys/release.asc"   # a path or the armored key itself
  #     t.build_dir = "build/root"
  #     t.control = { "Package" => "app", "Architecture" => "amd64", "Maintainer" => "Ops <ops@example.org>",
  #                   "Description" => "the app" }
  #   end
  #
  # defines (under the name given, `deploy` here):
  #
  # - `deploy:build[version]`   builds a .deb from {#build_dir} with {#control} ({Debpull.build_deb})
  # - `deploy:publish[debs]`    publishes .debs (paths or globs; default: what deploy:build made) into {#suite}
  # - `deploy:promote[version,percentage]` copies {#package} `version` from {#from} to {#to}
  #   (for `percentage` of the fleet when given, a staged rollout; else for everyone. A version
  #   lower than {#to}'s newest is refused: that is deploy:rollback)
  # - `deploy:phase[version,percentage]` changes the rollout of `version` in {#to} (100: complete;
  #   the percentage is required)
  # - `deploy:rollback[version]` rolls {#to} back to `version`, still in {#to}: the newer ones leave it
  # - `deploy:list`             the packages of {#suite}
  # - `deploy:verify`           checks {#suite}'s signature and every checksum
  # - `deploy:prune[keep]`      keeps the newest `keep` versions (default {#keep}) of each package in {#suite}
  # - `deploy:check`            what {#package}'s installed and candidate versions are ({Source#check})
  # - `deploy:update`           installs {#package}'s update ({Updater#update})
  # - `deploy:sns[file]`        prints the Slack JSON for an Amazon SNS notification (a file, `-` for
  #                             stdin; {Notify.sns_to_slack}), or posts it when {#slack_webhook} is set
  # - `deploy:user_data`        prints the EC2 user-data of a new server ({Debpull.user_data})
  #
  # With {#slack_webhook} (`DEBPULL_SLACK_WEBHOOK`), publish, promote, phase,
  # rollback, prune and update post what they did to Slack ({Notifier}; each
  # post attempt {#notify_timeout} seconds, {#notify_retries} retries); a
  # failed post is a warning on stderr, never a failed task.
  #
  # Every setting left unset (nil) in the block is read, when a task runs,
  # from an environment variable: `DEBPULL_` and the setting's name in capitals
  # (`DEBPULL_REPOSITORY`, `DEBPULL_SUITE`, `DEBPULL_SIGNING_KEY`, ...; the
  # table is {ENVIRONMENT}). A value set in the block wins. A task that needs a
  # setting nobody gave raises {ConfigurationError} naming both places.
  #
  # Progress of long operations (publish) goes to {#output}: one line updated in
  # place on a terminal, one line per event otherwise (CI logs).
  class RakeTask < ::Rake::TaskLib
    # A setting a task needs is missing or unusable.
    class ConfigurationError < Debpull::Error; end

    # Setting => environment variable.
    ENVIRONMENT = %i[
      repository suite component package signing_key passphrase trusted_keys state_dir
      build_dir output_dir control version from to keep installer policy health_check
      origin label region endpoint debs slack_webhook
      percentage machine_id
      notify_timeout notify_retries
      jitter
    ].to_h { |name| [name, "DEBPULL_#{name.upcase}"] }.freeze

    # @return [Symbol, String] the namespace of the tasks
    attr_reader :name

    # @!attribute repository
    #   @return [String] the repository: `file:///srv/repo`, `s3://bucket/prefix`
    #     (publishing, promoting, listing, verifying, pruning) or also `https://...` (check, update)
    # @!attribute suite
    #   @return [String] the suite publish, list, verify, prune, check and update work on
    # @!attribute component
    #   @return [String] the component (default `main`)
    # @!attribute package
    #   @return [String] the package promote, check and update work on
    #     (default: the Package field of {#control})
    # @!attribute signing_key
    #   @return [String] the armored OpenPGP secret key that signs the repository, or the path of a file holding it
    # @!attribute passphrase
    #   @return [String, nil] the signing key's passphrase
    # @!attribute trusted_keys
    #   @return [String, Array<String>] armored public keys (or paths) check and update trust
    # @!attribute state_dir
    #   @return [String] the client's state directory (check, update)
    # @!attribute build_dir
    #   @return [String] the root of the package's files (deploy:build)
    # @!attribute output_dir
    #   @return [String] where deploy:build writes the .deb (default `pkg`)
    # @!attribute control
    #   @return [Hash{String=>String}, String] the control fields of deploy:build, or the path of a control file
    # @!attribute version
    #   @return [String] the version deploy:build gives the package (its argument wins;
    #     else the control's), and deploy:promote promotes (its argument wins)
    # @!attribute from
    #   @return [String] the suite deploy:promote copies from (default `staging`)
    # @!attribute to
    #   @return [String] the suite deploy:promote copies to (default `production`)
    # @!attribute keep
    #   @return [Integer, String] versions deploy:prune keeps (default 5)
    # @!attribute installer
    #   @return [Symbol, String] the updater's installer (`:apt` or `:dpkg`, default `:apt`)
    # @!attribute policy
    #   @return [Symbol, String] the updater's policy (default `:upgrade`)
    # @!attribute health_check
    #   @return [Array<String>, String, nil] the command run after an install (a String is split on blanks)
    # @!attribute origin
    #   @return [String, nil] the Release file's Origin
    # @!attribute label
    #   @return [String, nil] the Release file's Label
    # @!attribute region
    #   @return [String, nil] the S3 region
    # @!attribute endpoint
    #   @return [String, nil] an S3-compatible endpoint (implies path-style addressing)
    # @!attribute debs
    #   @return [Array<String>, String, nil] what deploy:publish publishes without arguments (paths or globs)
    # @!attribute slack_webhook
    #   @return [String, nil] a Slack incoming-webhook URL: publish, promote, phase, rollback, prune and
    #     update post there, deploy:sns posts there; deploy:user_data writes it into the server's configuration
    # @!attribute percentage
    #   @return [Integer, String, nil] a staged rollout: the share of the fleet (0 to 100) deploy:publish
    #     publishes for (nil: everyone). For deploy:publish only: deploy:promote and deploy:phase take
    #     the percentage from their argument alone
    # @!attribute machine_id
    #   @return [String, nil] this machine's id for staged rollouts (check, update; default /etc/machine-id)
    # @!attribute notify_timeout
    #   @return [Numeric, String, nil] seconds per post attempt to {#slack_webhook} (default 10, at most 3600;
    #     a whole number for deploy:user_data, which writes it into the server's configuration)
    # @!attribute notify_retries
    #   @return [Integer, String, nil] retries of a failed post to {#slack_webhook} (default 3, at most 10;
    #     deploy:user_data writes it into the server's configuration)
    # @!attribute jitter
    #   @return [Integer, String, nil] deploy:user_data: the most seconds of random delay before each run
    #     of the server's tool (0 to 50, default 20), so that the fleet does not reach the repository at once
    attr_accessor(*ENVIRONMENT.keys)

    # @return [Hash] more keyword arguments for {Repository.new}, {Source.new} and {Updater.new}
    #   (e.g. `updater_options[:root] = "/srv/root"`)
    attr_accessor :repository_options, :source_options, :updater_options

    # @return [IO] where the tasks write (default `$stdout` when they run)
    attr_accessor :output

    # Defines the tasks.
    #
    # @param name [Symbol, String] their namespace
    # @yieldparam task [RakeTask] set the settings on it
    def initialize(name = :deploy)
      super()
      @name = name
      @repository_options = {}
      @source_options = {}
      @updater_options = {}
      @built = []
      yield self if block_given?
      define
    end

    # The value of a setting: the block's, else its environment variable's.
    #
    # @param key [Symbol] one of {ENVIRONMENT}'s keys
    # @return [Object, nil]
    def setting(key)
      env = ENVIRONMENT.fetch(key)
      value = public_send(key)
      value = ENV[env] if value.nil?
      value = nil if value.respond_to?(:empty?) && value.empty?
      value
    end

    private

    DEFAULTS = {
      component: "main", output_dir: "pkg", from: "staging", to: "production", keep: 5,
      installer: :apt, policy: :upgrade
    }.freeze
    private_constant :DEFAULTS

    def define
      namespace(name) do
        desc "Build a .deb of the build directory (optional version)"
        task(:build, [:version]) { |_, args| build(args[:version]) }

        desc "Publish .debs (paths or globs; default: what #{name}:build made) into the suite"
        task(:publish, [:debs]) { |_, args| publish([args[:debs], *args.extras].compact) }

        desc "Promote a version of the package from one suite to the next (optionally for a percentage of the fleet)"
        task(:promote, %i[version percentage]) { |_, args| promote(args[:version], args[:percentage]) }

        desc "Change the staged rollout of a version in the target suite (100: everyone)"
        task(:phase, %i[version percentage]) { |_, args| phase(args[:version], args[:percentage]) }

        desc "Roll the target suite back to an older version still in it (the newer ones leave)"
        task(:rollback, [:version]) { |_, args| rollback(args[:version]) }

        desc "List the packages of the suite"
        task(:list) { list }

        desc "Verify the suite's signature and checksums"
        task(:verify) { verify }

        desc "Remove all but the newest versions of each package from the suite"
        task(:prune, [:keep]) { |_, args| prune(args[:keep]) }

        desc "Show the installed and candidate versions of the package"
        task(:check) { check }

        desc "Install the package's update"
        task(:update) { update }

        desc "Print the Slack message for an SNS notification (file or -), or post it to the webhook"
        task(:sns, [:file]) { |_, args| sns(args[:file]) }
        desc "Print the EC2 user-data that sets up a new server (the package from the promotion suite)"
        task(:user_data) { user_data }
      end
    end

    # -- settings --------------------------------------------------------------

    def value(key, task)
      v = setting(key)
      v = DEFAULTS[key] if v.nil?
      v.nil? ? missing(key, task) : v
    end

    def optional(key) = setting(key) || DEFAULTS[key]

    def missing(key, task)
      raise ConfigurationError,
            "#{name}:#{task} needs the #{key.to_s.tr("_", " ")}: set t.#{key} in the Rakefile or #{ENVIRONMENT.fetch(key)}"
    end

    def string(key, task)
      v = value(key, task)
      raise ConfigurationError, "#{name}:#{task}: #{key} must be a String, not #{v.class}" unless v.is_a?(String) || v.is_a?(Symbol)

      v.to_s
    end

    # An armored key, given as itself or as the path of a file holding it. Text
    # of more than one line is a key (a malformed one is refused by debpull
    # itself): never echoed into a message as if it were a path.
    def key_text(text, key, task)
      raise ConfigurationError, "#{name}:#{task}: #{key} must be a String, not #{text.class}" unless text.is_a?(String)
      return text if text.include?("-----BEGIN PGP") || text.include?("\n")

      File.read(text)
    rescue Errno::ENOENT, Errno::EACCES, Errno::EISDIR, Errno::ENAMETOOLONG => e
      # The value itself is never quoted: it could be a secret set by mistake.
      raise ConfigurationError,
            "#{name}:#{task}: #{key} is neither an armored key nor a readable file " \
            "(#{e.class.name.split("::").last})"
    end

    def signing_key_text(task) = key_text(value(:signing_key, task), :signing_key, task)

    def trusted_keys_text(task)
      keys = value(:trusted_keys, task)
      keys = keys.split(File::PATH_SEPARATOR) if keys.is_a?(String) && !keys.include?("-----BEGIN PGP")
      Array(keys).map { |k| key_text(k, :trusted_keys, task) }.join("\n")
    end

    def package_name(task)
      p = setting(:package)
      p ||= control_fields(task)["Package"] if setting(:control)
      p.nil? ? missing(:package, task) : p.to_s
    end

    # The control fields: a Hash, or a control file (deb822: "Field: value",
    # continuation lines start with a blank).
    def control_fields(task)
      c = value(:control, task)
      return c.to_h { |k, v| [k.to_s, v.to_s] } if c.is_a?(Hash)
      raise ConfigurationError, "#{name}:#{task}: control must be a Hash or a path, not #{c.class}" unless c.is_a?(String)

      parse_control(c)
    end

    def parse_control(path)
      fields = {}
      last = nil
      File.foreach(path).with_index(1) do |line, n|
        line = line.chomp
        next if line.start_with?("#")

        if line.match?(/\A[ \t]/) && last
          fields[last] << "\n" << line
        elsif (m = line.match(/\A([!-9;-~][!-9;-~]*):[ \t]*(.*)\z/))
          last = m[1]
          fields[last] = +m[2].rstrip
        elsif !line.strip.empty?
          raise ConfigurationError, "#{path} line #{n}: not a control field: #{line.inspect}"
        end
      end
      fields
    rescue Errno::ENOENT, Errno::EACCES, Errno::EISDIR => e
      raise ConfigurationError, "#{name}: control file: #{e.message}"
    end

    def health_check_command
      hc = setting(:health_check)
      hc.is_a?(String) ? hc.split : hc
    end

    def s3_options
      { region: setting(:region), endpoint: setting(:endpoint) }.compact
    end

    # The repository (every task, reading ones too, needs its signing key:
    # the repository reads back only what its own key signed).
    def open_repository(task)
      uri = string(:repository, task)
      key = signing_key_text(task)
      options = { signing_key: key, passphrase: setting(:passphrase),
                  origin: setting(:origin), label: setting(:label) }.compact
      Debpull::Repository.new(uri, **options, **s3_options, **notify_options, **repository_options)
    end

    def open_source(task)
      uri = string(:repository, task)
      Debpull::Source.new(uri, suite: string(:suite, task), component: string(:component, task),
                               trusted_keys: trusted_keys_text(task), state_dir: string(:state_dir, task),
                               **s3_options, **machine_id_option, **source_options)
    end

    def out = output || $stdout

    def say(line)
      out.puts(line)
      out.flush
    end

    # -- tasks -----------------------------------------------------------------

    def build(version_arg)
      fields = control_fields(:build)
      version = version_arg || setting(:version)
      fields["Version"] = version.to_s if version
      %w[Package Version Architecture].each do |f|
        next if fields[f]

        raise ConfigurationError, "#{name}:build: the control has no #{f} field (t.control or #{ENVIRONMENT[:control]})"
      end
      dir = string(:build_dir, :build)
      output_dir = string(:output_dir, :build)
      FileUtils.mkdir_p(output_dir)
      file = "#{fields["Package"]}_#{fields["Version"].sub(/\A\d+:/, "")}_#{fields["Architecture"]}.deb"
      deb = File.join(output_dir, file)
      Debpull.build_deb(dir: dir, output: deb, control: fields)
      @built << deb
      say "built #{deb}"
      deb
    end

    def publish_paths(args)
      given = args
      given = Array(setting(:debs)).flat_map { |d| d.to_s.split } if given.empty?
      given = @built.dup if given.empty?
      raise ConfigurationError, "#{name}:publish: no .deb to publish: give #{name}:publish[file.deb,...], t.debs, " \
                                "#{ENVIRONMENT[:debs]}, or run #{name}:build first" if given.empty?

      given.flat_map do |pattern|
        next [pattern] if File.file?(pattern)

        matches = Dir.glob(pattern).select { |f| File.file?(f) }.sort
        raise ConfigurationError, "#{name}:publish: no such .deb: #{pattern}" if matches.empty?

        matches
      end.uniq
    end

    def publish(args)
      debs = publish_paths(args)
      suite = string(:suite, :publish)
      repo = open_repository(:publish)
      component = string(:component, :publish)
      progress = Progress.new(out)
      begin
        percentage = percentage_of(setting(:percentage), :publish)
        report = repo.publish(suite, debs, component: component, percentage: percentage) { |event| progress.event(event) }
      ensure
        progress.finish
      end
      say "published #{debs.size} .deb#{"s" unless debs.size == 1} into #{suite}: #{report}"
      report
    end

    def promote(version_arg, percentage_arg = nil)
      version = version_arg || setting(:version)
      raise ConfigurationError, "#{name}:promote needs a version: #{name}:promote[1.2.3] or #{ENVIRONMENT[:version]}" if version.nil?

      package = package_name(:promote)
      from = string(:from, :promote)
      to = string(:to, :promote)
      # Only the argument: the publish setting must not make this a staged rollout.
      percentage = percentage_of(percentage_arg, :promote)
      repo = open_repository(:promote)
      report = repo.promote_report(package, version.to_s, from: from, to: to, percentage: percentage)
      say promoted_line(repo, package, version, from, to, percentage, report)
      say_demoted(package, to, report)
      report.added
    end

    # What deploy:promote did, from its report: added, re-phased, or nothing.
    def promoted_line(repo, package, version, from, to, percentage, report)
      share = ->(p) { p.nil? || p == 100 ? "everyone" : "#{p}% of the fleet" }
      unless report.added.empty?
        return "promoted #{package} #{version} from #{from} to #{to}" \
               "#{percentage.nil? || percentage == 100 ? "" : " for #{percentage}% of the fleet"}"
      end
      return "#{package} #{version} already in #{to}: now for #{share.call(percentage)}" unless report.rephased.empty?

      wanted = Debpull::Version.new(version.to_s)
      entry = repo.packages(to).find { |p| p.name == package && (p.version <=> wanted).zero? }
      rollout = entry && entry["Phased-Update-Percentage"]
      "#{package} #{version} already in #{to} (rollout #{rollout || 100}%)"
    end

    # -- staged rollout ----------------------------------------------------------

    # A percentage from a task argument or a setting: nil, or 0 to 100.
    def percentage_of(value, task)
      return nil if value.nil? || value.to_s.empty?
      return value if value.is_a?(Integer) && value.between?(0, 100)

      p = Integer(value.to_s, 10)
      raise ArgumentError unless p.between?(0, 100)

      p
    rescue ArgumentError
      raise ConfigurationError, "#{name}:#{task}: percentage must be an integer from 0 to 100, not #{value.inspect}"
    end

    def machine_id_option
      id = setting(:machine_id)
      id.nil? ? {} : { machine_id: id.to_s }
    end

    def say_demoted(package, suite, report)
      return if report.demoted.empty?

      versions = report.demoted.map { |p| p.version.to_s }.uniq
      say "rolled back #{suite}: #{package} #{versions.join(", ")} left the suite " \
          "(servers with the follow-repository policy go back)"
    end

    def phase(version_arg, percentage_arg)
      version = version_arg || setting(:version)
      raise ConfigurationError, "#{name}:phase needs a version: #{name}:phase[1.2.3,50]" if version.nil?

      percentage = percentage_of(percentage_arg, :phase)
      raise ConfigurationError, "#{name}:phase needs a percentage: #{name}:phase[#{version},50] (100: everyone)" if percentage.nil?

      package = package_name(:phase)
      to = string(:to, :phase)
      changed = open_repository(:phase).phase(to, package, version.to_s, percentage)
      say "#{package} #{version} in #{to}: " \
          "#{percentage == 100 ? "rollout complete (everyone)" : "#{percentage}% of the fleet"}" \
          "#{changed.empty? ? " (unchanged)" : ""}"
      changed
    end

    def rollback(version_arg)
      version = version_arg || setting(:version)
      raise ConfigurationError, "#{name}:rollback needs the version to go back to: #{name}:rollback[1.2.2]" if version.nil?

      package = package_name(:rollback)
      to = string(:to, :rollback)
      # Core refuses a version not in the suite (NotFound); one with nothing
      # newer is done already (a rerun): said, not an error.
      report = open_repository(:rollback).rollback(to, package, version.to_s)
      if report.demoted.empty?
        say(report.rephased.empty? ? "already rolled back: #{package} #{version} is the newest in #{to}" :
                                     "#{package} #{version} in #{to}: rollout complete (everyone)")
      end
      say_demoted(package, to, report)
      report
    end

    def list
      repo = open_repository(:list)
      suite = string(:suite, :list)
      packages = repo.packages(suite)
      say "#{suite}: no packages" if packages.empty?
      packages.each { |p| say "#{p.name} #{p.version} #{p.architecture}" }
      packages
    end

    def verify
      repo = open_repository(:verify)
      suite = string(:suite, :verify)
      result = repo.verify(suite)
      say "#{suite}: verified"
      result
    end

    def prune(keep_arg)
      keep = keep_count(keep_arg || optional(:keep))
      raise ConfigurationError, "#{name}:prune: keep must be at least 1, not #{keep}" if keep < 1

      repo = open_repository(:prune)
      suite = string(:suite, :prune)
      result = repo.prune(suite, keep: keep)
      say "pruned #{suite} to #{keep} version#{"s" unless keep == 1} per package: #{result}"
      result
    end

    def keep_count(keep)
      keep.is_a?(Integer) ? keep : Integer(keep.to_s, 10)
    rescue ArgumentError
      raise ConfigurationError, "#{name}:prune: keep must be an integer, not #{keep.inspect}"
    end

    def check
      package = package_name(:check)
      status = open_source(:check).check(package)
      say status.to_s
      status.warnings.each { |warning| say "warning: #{warning}" }
      status
    end

    # `deploy:update` ended in a failure, a rollback or a held-back version.
    class UpdateFailed < Debpull::Error
      # @return [Debpull::Updater::Outcome]
      attr_reader :outcome

      def initialize(outcome)
        @outcome = outcome
        super(outcome.to_s)
      end
    end

    def update
      package = package_name(:update)
      options = { source: open_source(:update), package: package, installer: optional(:installer).to_sym,
                  policy: optional(:policy).to_sym, health_check: health_check_command }.compact
      outcome = Debpull::Updater.new(**options, **notify_options, **updater_options).update
      say outcome.to_s
      # A failed, rolled-back or held-back run fails the task (a non-zero exit for cron and CI).
      raise UpdateFailed.new(outcome) if outcome.failed? || outcome.rolled_back? || outcome.kind == :held
      outcome
    end

    # -- notifications -----------------------------------------------------------

    # The Notifier of {#slack_webhook} (one per RakeTask, so its counts add up).
    def notifier
      url = setting(:slack_webhook)
      return nil if url.nil?

      @notifier ||= Debpull::Notifier.new(webhook: url.to_s, **notify_limits)
    end

    # timeout: and retries: of the Notifier, from notify_timeout and notify_retries
    # (the Notifier checks their range).
    def notify_limits
      limits = {}
      timeout = setting(:notify_timeout)
      limits[:timeout] = number_setting(:notify_timeout, timeout) { Float(timeout.to_s) } unless timeout.nil?
      retries = setting(:notify_retries)
      limits[:retries] = number_setting(:notify_retries, retries) { Integer(retries.to_s, 10) } unless retries.nil?
      limits
    end

    def number_setting(key, value)
      return value if value.is_a?(Numeric)

      yield
    rescue ArgumentError
      raise ConfigurationError, "#{name}: #{key} (t.#{key} or #{ENVIRONMENT.fetch(key)}) must be a number, not #{value.inspect}"
    end

    def notify_options
      n = notifier
      n ? { notifier: n } : {}
    end

    def sns(file)
      raise ConfigurationError, "#{name}:sns needs a file: #{name}:sns[notification.json] (- for stdin)" if file.nil?

      json = file == "-" ? $stdin.read : File.read(file)
      slack = Debpull::Notify.sns_to_slack(json)
      if (n = notifier)
        n.post(slack)
        say "posted to #{n}: #{JSON.parse(slack)["text"]}"
      else
        say slack
      end
      slack
    rescue Errno::ENOENT, Errno::EACCES, Errno::EISDIR => e
      raise ConfigurationError, "#{name}:sns: #{e.message}"
    end

    # deploy:user_data: the first-boot script ({Debpull.user_data}) of a server
    # keeping {#package} current from {#to} (the suite servers install from,
    # default `production`), trusting {#trusted_keys}, with the updater's
    # installer, policy and health check, {#jitter}, and {#slack_webhook} with
    # {#notify_timeout} and {#notify_retries} (into the server's
    # configuration); printed to {#output}.
    def user_data
      options = { repository: string(:repository, :user_data), package: package_name(:user_data),
                  trusted_key: trusted_keys_text(:user_data), suite: optional(:to).to_s,
                  component: optional(:component).to_s, installer: optional(:installer).to_sym,
                  policy: optional(:policy).to_sym, health_check: health_check_command }
      webhook = setting(:slack_webhook)
      options[:slack_webhook] = webhook.to_s unless webhook.nil?
      %i[notify_timeout notify_retries jitter].each do |key|
        n = whole_number(key, :user_data)
        options[key] = n unless n.nil?
      end
      out.print(Debpull.user_data(**options, **s3_options))
      out.flush
    end

    # A setting that must be a whole number (deploy:user_data writes it into a
    # configuration of whole seconds): nil when unset; 10, 10.0 and "10" are 10.
    def whole_number(key, task)
      value = setting(key)
      return nil if value.nil?

      n = value
      unless n.is_a?(Numeric)
        text = value.to_s.strip
        n = text.match?(/\A[+-]?\d+\z/) ? Integer(text, 10) : Float(text)
      end
      raise ArgumentError unless n.is_a?(Integer) || (n.is_a?(Numeric) && n.finite? && n == n.floor)

      n.to_i
    rescue ArgumentError, TypeError, FloatDomainError
      raise ConfigurationError, "#{name}:#{task}: #{key} (t.#{key} or #{ENVIRONMENT.fetch(key)}) " \
                                "must be a whole number, not #{value.inspect}"
    end

    # Publish events on a terminal: one line rewritten in place; elsewhere one line each.
    class Progress
      def initialize(io)
        @io = io
        @tty = io.respond_to?(:tty?) && io.tty?
        @dirty = false
      end

      def event(event)
        text = event.to_s
        if @tty
          @io.print("\r\e[K#{text}")
          @dirty = true
        else
          @io.puts(text)
        end
        @io.flush
      end

      def finish
        @io.print("\r\e[K") if @dirty
        @dirty = false
      end
    end
    private_constant :Progress
  end
end
