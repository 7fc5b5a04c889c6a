# frozen_string_literal: true

# debpull: pull-based deployment with Debian packages, in-process.
#
# @example
#   require "debpull"
#   Debpull::Version.new("1:2.0~rc1-3") > Debpull::Version.new("1.0") # => true
module Debpull
end

require_relative "debpull/error"
require_relative "debpull/debpull" # the native extension (lib/debpull/debpull.so)
require_relative "debpull/version"
require_relative "debpull/package"
require_relative "debpull/repository"
require_relative "debpull/source"
require_relative "debpull/updater"
