# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/keys"
require_relative "support/debs"
require_relative "support/moto"
require_relative "support/publish"
require "debpull/rake_task"
require "pty"
require "stringio"
require "tmpdir"

RSpec.describe Debpull::RakeTask do
  around do |example|
    saved = ENV.to_h.select { |k, _| k.start_with?("DEBPULL_") }
    saved.each_key { |k| ENV.delete(k) }
    previous = Rake.application
    Rake.application = Rake::Application.new
    # As `rake -T` does: keep the descriptions.
    Rake::TaskManager.record_task_metadata = true
    Dir.mktmpdir("debpull-rake") do |dir|
      @dir = dir
      example.run
    end
  ensure
    Rake.application = previous
    Rake::TaskManager.record_task_metadata = false
    ENV.delete_if { |k, _| k.start_with?("DEBPULL_") }
    ENV.update(saved)
  end

  let(:out) { StringIO.new }

  # Defines the tasks (namespace `deploy`) writing into `out`, configured by the block.
  def tasks(name = :deploy)
    described_class.new(name) do |t|
      t.output = out
      yield t if block_given?
    end
  end

  def run(task, *args)
    Rake.application[task].reenable # a task runs once per invoke, not once per application
    Rake.application[task].invoke(*args)
  end

  describe "task definitions" do
    it "defines the ten tasks, with descriptions and arguments, under the namespace given" do
      tasks
      %w[build publish promote phase rollback list verify prune check update].each do |t|
        task = Rake.application.lookup("deploy:#{t}")
        expect(task).not_to be_nil, "deploy:#{t} is not defined"
        expect(task.comment).to be_a(String).and(match(/\S/))
      end
      expect(Rake.application["deploy:publish"].arg_names).to eq([:debs])
      expect(Rake.application["deploy:promote"].arg_names).to eq(%i[version percentage])
      expect(Rake.application["deploy:phase"].arg_names).to eq(%i[version percentage])
      expect(Rake.application["deploy:rollback"].arg_names).to eq([:version])
      expect(Rake.application["deploy:prune"].arg_names).to eq([:keep])
    end

    it "uses another namespace when asked, and two sets of tasks coexist" do
      tasks(:release)
      tasks(:deploy)
      expect(Rake.application.tasks.map(&:name)).to include("release:publish", "deploy:publish")
      expect(Rake.application.lookup("release:update")).not_to be_nil
    end
  end

  describe "settings" do
    it "takes what the block sets, and the environment for the rest" do
      ENV["DEBPULL_REPOSITORY"] = "file:///from/env"
      ENV["DEBPULL_SUITE"] = "production"
      ENV["DEBPULL_PACKAGE"] = ""
      t = tasks { |c| c.suite = "staging" }
      expect(t.setting(:suite)).to eq("staging")
      expect(t.setting(:repository)).to eq("file:///from/env")
      expect(t.setting(:package)).to be_nil # an empty variable is unset
      expect(described_class::ENVIRONMENT).to include(signing_key: "DEBPULL_SIGNING_KEY", trusted_keys: "DEBPULL_TRUSTED_KEYS",
                                                      state_dir: "DEBPULL_STATE_DIR")
    end

    it "reads the environment when a task runs, not when it is defined" do
      tasks
      ENV["DEBPULL_REPOSITORY"] = "file://#{@dir}/repo"
      expect { run("deploy:prune") }.to raise_error(Debpull::RakeTask::ConfigurationError, /signing key.*DEBPULL_SIGNING_KEY/)
    end

    it "names the setting and both places to give it when one is missing" do
      tasks
      expect { run("deploy:list") }.to raise_error(Debpull::RakeTask::ConfigurationError,
                                                   /deploy:list needs the repository: set t\.repository .* DEBPULL_REPOSITORY/)
      expect(Debpull::RakeTask::ConfigurationError.ancestors).to include(Debpull::Error)
    end

    it "needs a signing key to change a repository, and says when one is neither a key nor a file" do
      tasks do |t|
        t.repository = "file://#{@dir}/repo"
        t.suite = "staging"
      end
      expect { run("deploy:prune") }.to raise_error(Debpull::RakeTask::ConfigurationError, /signing key.*DEBPULL_SIGNING_KEY/)
      Rake.application["deploy:prune"].reenable
      ENV["DEBPULL_SIGNING_KEY"] = "#{@dir}/no-such-key.asc"
      # Read-only tasks pass a key they are given: a bad one is refused there too.
      expect { run("deploy:verify") }.to raise_error(Debpull::RakeTask::ConfigurationError, /signing_key is neither an armored key nor a readable file/)
    end

    it "takes a key as text, and never echoes text of several lines as a path" do
      t = tasks
      expect(t.send(:key_text, Keys.public, :trusted_keys, :check)).to eq(Keys.public)
      expect(t.send(:key_text, "garbled\nsecret material", :signing_key, :publish)).to eq("garbled\nsecret material")
      File.write(File.join(@dir, "key.asc"), Keys.secret)
      expect(t.send(:key_text, File.join(@dir, "key.asc"), :signing_key, :publish)).to eq(Keys.secret)
      expect { t.send(:key_text, "x" * 5000, :signing_key, :publish) }
        .to raise_error(Debpull::RakeTask::ConfigurationError) { |e| expect(e.message).not_to include("xxx") }
    end

    it "joins trusted keys given as a list, as paths separated by colons, or as text" do
      a = File.join(@dir, "a.asc").tap { |f| File.write(f, Keys.public) }
      b = File.join(@dir, "b.asc").tap { |f| File.write(f, Keys.wrong_public) }
      t = tasks { |c| c.trusted_keys = [a, Keys.wrong_public] }
      expect(t.send(:trusted_keys_text, :check)).to eq("#{Keys.public}\n#{Keys.wrong_public}")
      t.trusted_keys = nil
      ENV["DEBPULL_TRUSTED_KEYS"] = "#{a}:#{b}"
      expect(t.send(:trusted_keys_text, :check)).to eq("#{Keys.public}\n#{Keys.wrong_public}")
    end

    it "refuses settings of the wrong type with ConfigurationError" do
      tasks do |t|
        t.repository = 42
        t.suite = "staging"
      end
      expect { run("deploy:list") }.to raise_error(Debpull::RakeTask::ConfigurationError, /repository must be a String, not Integer/)
    end

    it "needs a version to promote, from the argument or DEBPULL_VERSION" do
      tasks { |t| t.repository = "file://#{@dir}/repo" }
      expect { run("deploy:promote") }.to raise_error(Debpull::RakeTask::ConfigurationError, /promote\[1\.2\.3\].*DEBPULL_VERSION/)
    end

    it "needs the package to promote, check or update (or a control to take it from)" do
      tasks do |t|
        t.repository = "file://#{@dir}/repo"
        t.signing_key = Keys.secret
      end
      expect { run("deploy:promote", "1.0") }.to raise_error(Debpull::RakeTask::ConfigurationError, /package.*DEBPULL_PACKAGE/)
      expect { run("deploy:check") }.to raise_error(Debpull::RakeTask::ConfigurationError, /deploy:check needs the package/)
    end

    it "refuses a keep that is not a positive integer" do
      tasks { |t| t.suite = "staging" }
      expect { run("deploy:prune", "five") }.to raise_error(Debpull::RakeTask::ConfigurationError, /keep must be an integer, not "five"/)
      Rake.application["deploy:prune"].reenable
      expect { run("deploy:prune", "0") }.to raise_error(Debpull::RakeTask::ConfigurationError, /at least 1, not 0/)
    end
  end

  describe "deploy:publish arguments" do
    it "takes paths and globs, in order, once each" do
      a = Debs.build(@dir, name: "a")
      b = Debs.build(@dir, name: "b")
      t = tasks
      expect(t.send(:publish_paths, [b, "#{@dir}/*.deb"])).to eq([b, a])
    end

    it "falls back on DEBPULL_DEBS (blank-separated), then on what deploy:build made" do
      a = Debs.build(@dir, name: "a")
      t = tasks
      ENV["DEBPULL_DEBS"] = "#{a} #{@dir}/a_*.deb"
      expect(t.send(:publish_paths, [])).to eq([a])
      ENV.delete("DEBPULL_DEBS")
      expect { t.send(:publish_paths, []) }.to raise_error(Debpull::RakeTask::ConfigurationError,
                                                           /no \.deb to publish.*DEBPULL_DEBS.*deploy:build/)
    end

    it "names a path or glob that matches no file, before touching the repository" do
      tasks { |t| t.repository = "file://#{@dir}/repo" }
      expect { run("deploy:publish", "#{@dir}/missing.deb") }
        .to raise_error(Debpull::RakeTask::ConfigurationError, %r{no such \.deb: .*/missing\.deb})
      expect(File.exist?("#{@dir}/repo")).to be(false)
    end
  end

  describe "control" do
    it "reads a control file: fields, continuation lines, comments" do
      path = File.join(@dir, "control")
      File.write(path, "# the app\nPackage: app\nVersion: 1.0\nArchitecture: amd64\nDescription: short\n long\n .\n more\n")
      t = tasks { |c| c.control = path }
      expect(t.send(:control_fields, :build)).to eq("Package" => "app", "Version" => "1.0", "Architecture" => "amd64",
                                                     "Description" => "short\n long\n .\n more")
      expect(t.send(:package_name, :check)).to eq("app")
    end

    it "names the line of a control file that is not a field, and a missing file" do
      path = File.join(@dir, "control")
      File.write(path, "Package: app\nthis is not a field\n")
      t = tasks { |c| c.control = path }
      expect { t.send(:control_fields, :build) }.to raise_error(Debpull::RakeTask::ConfigurationError, /control line 2: not a control field/)
      t.control = File.join(@dir, "absent")
      expect { t.send(:control_fields, :build) }.to raise_error(Debpull::RakeTask::ConfigurationError, /absent/)
    end

    it "needs Package, Version and Architecture to build" do
      tasks do |t|
        t.control = { "Package" => "app", "Architecture" => "amd64" }
        t.build_dir = @dir
      end
      expect { run("deploy:build") }.to raise_error(Debpull::RakeTask::ConfigurationError, /no Version field/)
    end
  end

  describe "progress" do
    let(:progress_class) { described_class.const_get(:Progress) }

    it "writes one line per event when not on a terminal" do
      io = StringIO.new
      p = progress_class.new(io)
      p.event("hashed app_1.0_amd64.deb")
      p.event("uploaded pool/main/a/app/app_1.0_amd64.deb")
      p.finish
      expect(io.string).to eq("hashed app_1.0_amd64.deb\nuploaded pool/main/a/app/app_1.0_amd64.deb\n")
    end

    it "rewrites one line on a terminal and clears it at the end" do
      PTY.open do |master, slave|
        p = progress_class.new(slave)
        p.event("one")
        p.event("two")
        p.finish
        slave.close
        text = +""
        begin
          loop { text << master.readpartial(4096) }
        rescue EOFError, Errno::EIO
          nil
        end
        expect(text).to eq("\r\e[Kone\r\e[Ktwo\r\e[K")
      end
    end
  end

  # moto in server mode on loopback (spec/support/moto.rb: one per run).
  describe "against S3 (moto)" do
    before do
      @endpoint = Moto.shared.endpoint
      @bucket = Moto.shared.create_bucket("rake-tasks")
    end

    it "publishes, promotes and lists through an S3 endpoint given in the environment" do
      ENV["DEBPULL_REPOSITORY"] = "s3://#{@bucket}/app"
      ENV["DEBPULL_ENDPOINT"] = @endpoint
      ENV["DEBPULL_REGION"] = "us-east-1"
      ENV["DEBPULL_SIGNING_KEY"] = Keys.secret
      tasks do |t|
        t.suite = "staging"
        t.package = "app"
      end
      run("deploy:publish", Debs.build(@dir, version: "1.0"), Debs.build(@dir, version: "2.0"))
      run("deploy:promote", "2.0")
      run("deploy:verify")
      expect(out.string).to include("published 2 .debs into staging", "promoted app 2.0 from staging to production",
                                    "staging: verified")
      ENV["DEBPULL_SUITE"] = "production"
      t = described_class.new(:production) { |c| c.output = out }
      expect(t.send(:list).map { |p| p.version.to_s }).to eq(["2.0"])
    end
  end

  # Against the real native classes (Repository, Source, Updater, build_deb),
  # which are written in parallel: these run once they are merged.
  describe "against a local repository" do
    let(:repo_uri) { "file://#{@dir}/repo" }

    def configured(**extra)
      tasks do |t|
        t.repository = repo_uri
        t.suite = "staging"
        t.signing_key = File.join(@dir, "key.asc").tap { |f| File.write(f, Keys.secret) }
        t.package = "app"
        extra.each { |k, v| t.public_send("#{k}=", v) }
      end
    end

    def reenable_all = Rake.application.tasks.each(&:reenable)

    it "publishes, lists, promotes, verifies and prunes" do
      debs = %w[1.0 1.1 1.2].map { |v| Debs.build(@dir, version: v) }
      configured
      run("deploy:publish", *debs)
      expect(out.string).to match(/published 3 \.debs into staging/)
      out.truncate(0)
      out.rewind
      run("deploy:list")
      expect(out.string.lines).to include("app 1.0 amd64\n", "app 1.1 amd64\n", "app 1.2 amd64\n")
      run("deploy:promote", "1.1")
      expect(out.string).to include("promoted app 1.1 from staging to production")
      # Again: nothing added, nothing re-phased, and the task says so (from the report).
      out.truncate(0)
      out.rewind
      run("deploy:promote", "1.1")
      expect(out.string).to eq("app 1.1 already in production (rollout 100%)\n")
      run("deploy:promote", "1.1", "50")
      expect(out.string).to end_with("app 1.1 already in production: now for 50% of the fleet\n")
      run("deploy:promote", "1.1")
      expect(out.string).to end_with("app 1.1 already in production (rollout 50%)\n")
      expect(out.string).not_to include("promoted")
      run("deploy:verify")
      expect(out.string).to include("staging: verified")
      run("deploy:prune", "1")
      reenable_all
      out.truncate(0)
      out.rewind
      run("deploy:list")
      expect(out.string.lines).to eq(["app 1.2 amd64\n"])
      ENV["DEBPULL_SUITE"] = "production"
      t = configured(suite: nil)
      expect(t.send(:list).map { |p| p.version.to_s }).to eq(["1.1"])
    end

    it "raises the repository's error for a version that is not there" do
      configured
      run("deploy:publish", Debs.build(@dir, version: "1.0"))
      expect { run("deploy:promote", "9.9") }.to raise_error(Debpull::NotFound, /9\.9/)
    end

    it "builds a .deb with deploy:build and publishes it without arguments" do
      root = File.join(@dir, "root")
      FileUtils.mkdir_p(File.join(root, "usr/share/app"))
      File.write(File.join(root, "usr/share/app/VERSION"), "2.0\n")
      configured(build_dir: root, output_dir: File.join(@dir, "pkg"),
                 control: { "Package" => "app", "Version" => "0", "Architecture" => "all",
                            "Maintainer" => "Specs <specs@example.org>", "Description" => "the app" })
      run("deploy:build", "2.0")
      deb = File.join(@dir, "pkg/app_2.0_all.deb")
      expect(Debpull::Package.read(deb).version.to_s).to eq("2.0")
      run("deploy:publish")
      expect(out.string).to include("published 1 .deb into staging")
    end

    it "checks and installs the update with dpkg --root" do
      configured
      run("deploy:publish", Debs.build(@dir, version: "1.0", arch: "all"))
      system_root = DpkgRoot.new(File.join(@dir, "system"))
      root = system_root.root
      ENV["DEBPULL_TRUSTED_KEYS"] = Keys.public
      ENV["DEBPULL_STATE_DIR"] = File.join(@dir, "state")
      t = described_class.new(:client) do |c|
        c.output = out
        c.repository = repo_uri
        c.suite = "staging"
        c.package = "app"
        c.installer = :dpkg
        # dpkg's database in the root too: never the machine's.
        c.source_options = { admin_dir: system_root.admin }
        c.updater_options = { root: root }
      end
      expect(t).to be_a(described_class)
      run("client:check")
      expect(out.string).to include("app: installed none, candidate 1.0 (update available)")
      run("client:update")
      expect(system_root.file("usr/share/app/VERSION")).to start_with("app 1.0")
      expect(system_root.installed("app")).to eq("1.0")
      expect(out.string).to include("\napp: updated none -> 1.0\n")

      # A failing health check: the task fails (rake exits non-zero), rolled back.
      run("deploy:publish", Debs.build(@dir, version: "2.0", arch: "all"))
      failing = described_class.new(:failing) do |c|
        c.output = out
        c.repository = repo_uri
        c.suite = "staging"
        c.package = "app"
        c.installer = :dpkg
        c.health_check = ["false"]
        c.source_options = { admin_dir: system_root.admin }
        c.updater_options = { root: root }
      end
      expect(failing).to be_a(described_class)
      expect { run("failing:update") }.to raise_error(Debpull::RakeTask::UpdateFailed, /2\.0 failed.*rolled back to 1\.0/)
      expect(system_root.file("usr/share/app/VERSION")).to start_with("app 1.0")
      expect(system_root.installed("app")).to eq("1.0")
    end

    # Staged rollout (issue 8): promote for a percentage, phase, complete, roll back.
    it "promotes for a percentage, raises it, completes it and rolls back, a machine following" do
      configured
      # The percentage setting is for deploy:publish alone.
      ENV["DEBPULL_PERCENTAGE"] = "10"
      run("deploy:publish", *%w[1.0 2.0].map { |v| Debs.build(@dir, version: v) })
      staging = Debpull::Repository.new(repo_uri, signing_key: Keys.secret).packages("staging")
      expect(staging.map { |p| p["Phased-Update-Percentage"] }).to eq(%w[10 10])
      run("deploy:promote", "1.0")
      expect(out.string).to include("promoted app 1.0 from staging to production\n")
      production = Debpull::Repository.new(repo_uri, signing_key: Keys.secret).packages("production")
      expect(production.map { |p| p["Phased-Update-Percentage"] }).to eq([nil])
      reenable_all
      system_root = DpkgRoot.new(File.join(@dir, "system"))
      client = described_class.new(:client) do |c|
        c.output = out
        c.repository = repo_uri
        c.suite = "production"
        c.package = "app"
        c.installer = :dpkg
        c.policy = :follow
        c.trusted_keys = Keys.public
        c.state_dir = File.join(@dir, "state")
        c.source_options = { admin_dir: system_root.admin }
        c.updater_options = { root: system_root.root }
      end
      run("client:update")
      expect(system_root.installed("app")).to eq("1.0")

      # 0%: a machine whose number is above 0 (1 in 101 is at 0: the spec
      # finds one that is not by its check) keeps 1.0.
      run("deploy:promote", "2.0", "0")
      expect(out.string).to include("promoted app 2.0 from staging to production for 0% of the fleet")
      id = (1..).lazy.map { |n| format("%032x", n) }.find do |candidate|
        Debpull::Source.new(repo_uri, suite: "production", trusted_keys: Keys.public, machine_id: candidate,
                                      state_dir: File.join(@dir, "probe"), architecture: "amd64",
                                      admin_dir: system_root.admin).check("app").deferred
      end
      client.machine_id = id
      reenable_all
      out.truncate(0)
      out.rewind
      run("client:check")
      expect(out.string).to include("2.0 deferred (phased 0%, this machine not yet included)")
      run("client:update")
      expect(out.string).to include("app: up to date (1.0), 2.0 deferred (phased 0%")
      expect(system_root.installed("app")).to eq("1.0")

      reenable_all
      run("deploy:phase", "2.0", "100")
      expect(out.string).to include("app 2.0 in production: rollout complete (everyone)")
      run("client:update")
      expect(system_root.installed("app")).to eq("2.0")

      # A late promote of 1.0 is refused: rolling back is deploy:rollback's.
      reenable_all
      expect { run("deploy:promote", "1.0") }.to raise_error(Debpull::Conflict, /newer versions of app.*2\.0/)
      # It rolls back from production itself: staging's 1.0 may be gone.
      Debpull::Repository.new(repo_uri, signing_key: Keys.secret).remove("staging", "app", version: "1.0")
      reenable_all
      run("deploy:rollback", "1.0")
      expect(out.string).to include("rolled back production: app 2.0 left the suite")
      run("client:update")
      expect(system_root.installed("app")).to eq("1.0")
      expect(out.string).to include("app: updated 2.0 -> 1.0")

      # Run again: done already, said, not a failure; a version not there is core's NotFound.
      reenable_all
      out.truncate(0)
      out.rewind
      run("deploy:rollback", "1.0")
      expect(out.string).to eq("already rolled back: app 1.0 is the newest in production\n")
      reenable_all
      expect { run("deploy:rollback", "0.9") }.to raise_error(Debpull::NotFound, /0\.9/)
      expect { run("deploy:phase", "2.0", "150") }
        .to raise_error(Debpull::RakeTask::ConfigurationError, /percentage must be an integer from 0 to 100/)
      reenable_all
      expect { run("deploy:promote", "2.0", "ten") }
        .to raise_error(Debpull::RakeTask::ConfigurationError, /percentage.*"ten"/)
      reenable_all
      # Even with the publish setting there (DEBPULL_PERCENTAGE=10 above).
      expect { run("deploy:phase", "2.0") }.to raise_error(Debpull::RakeTask::ConfigurationError, /needs a percentage/)
    end

    it "needs the signing key to list or verify (the repository reads back only what its key signed)" do
      ENV.delete("DEBPULL_SIGNING_KEY")
      tasks do |t|
        t.repository = repo_uri
        t.suite = "staging"
      end
      expect { run("deploy:list") }.to raise_error(Debpull::RakeTask::ConfigurationError, /signing_key/)
    end

    it "never quotes a signing key that is neither a key nor a file" do
      ENV["DEBPULL_SIGNING_KEY"] = "hunter2-not-a-path"
      tasks do |t|
        t.repository = repo_uri
        t.suite = "staging"
      end
      expect { run("deploy:list") }.to raise_error(Debpull::RakeTask::ConfigurationError) { |e|
        expect(e.message).not_to include("hunter2")
      }
    end
  end
end
