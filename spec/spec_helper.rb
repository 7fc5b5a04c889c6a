# frozen_string_literal: true

$LOAD_PATH.unshift File.expand_path("../ruby-ext/lib", __dir__)
require "debpull"

require "tmpdir"

RSpec.configure do |config|
  # Examples of a group tagged :tmpdir get @dir, a temporary directory of their own.
  config.around(:each, :tmpdir) do |example|
    Dir.mktmpdir("debpull-spec") do |dir|
      @dir = dir
      example.run
    end
  end

  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.disable_monkey_patching!
  config.order = :random
  Kernel.srand config.seed

  # Installs go into temporary dpkg roots: the machine's own database must not
  # change (a spec that forgot admin_dir once recorded a test package there).
  system_status = "/var/lib/dpkg/status"
  before = nil
  config.before(:suite) { before = File.read(system_status) if File.exist?(system_status) }
  config.after(:suite) do
    if before && File.read(system_status) != before
      raise "the specs changed the machine's dpkg database (#{system_status})"
    end
  end
end
