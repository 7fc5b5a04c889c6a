# frozen_string_literal: true

module Debpull
  # A Debian version, parsed and ordered exactly as dpkg does
  # (`Debpull::InvalidVersion` for what dpkg refuses). `1.0`, `1.00`,
  # `0:1.0` and `1.0-0` are equal, `eql?` and have the same `hash`.
  #
  # @!method self.new(text)
  #   @param text [String]
  #   @return [Version]
  #   @raise [InvalidVersion]
  # @!method epoch
  #   @return [Integer] 0 when the version has none
  # @!method upstream
  #   @return [String]
  # @!method revision
  #   @return [String, nil] the Debian revision, nil for a native version
  # @!method to_s
  #   @return [String] the version as given (blanks trimmed)
  # @!method <=>(other)
  #   @return [Integer, nil] dpkg's order; nil when other is not a Version
  #
  # Frozen: `dup` and `clone` return the version itself.
  class Version
    include Comparable

    # @return [Version] self (immutable)
    def dup = self

    # @return [Version] self (immutable; frozen whatever `freeze:` says)
    def clone(freeze: true) = self # rubocop:disable Lint/UnusedMethodArgument
  end
end
