# frozen_string_literal: true

$LOAD_PATH.unshift File.expand_path("../ruby-ext/lib", __dir__)
require "debpull"

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.disable_monkey_patching!
  config.order = :random
  Kernel.srand config.seed
end
