# frozen_string_literal: true

# debpull: pull-based deployment with Debian packages, in-process.
#
# @example
#   require "debpull"
#   Debpull::Version.new("1:2.0~rc1-3") > Debpull::Version.new("1.0") # => true
module Debpull
end

require_relative "debpull/error"
# The native extension: lib/debpull/debpull.so in a checkout (rake compile),
# the gem's lib or extension directory once installed.
require "debpull/debpull"
require_relative "debpull/version"
require_relative "debpull/package"
require_relative "debpull/repository"
require_relative "debpull/source"
require_relative "debpull/updater"
require_relative "debpull/notify"
require_relative "debpull/user_data"
