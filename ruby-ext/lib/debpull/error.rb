# frozen_string_literal: true

module Debpull
  # The base of every error debpull raises; one subclass per kind of failure.
  # Messages name what is at fault (a file, a key, a field, a line). Raised
  # as itself for an internal fault (a panic caught at the boundary).
  class Error < StandardError; end

  # An argument is not acceptable.
  class InvalidInput < Error; end

  # A string is not a version dpkg accepts.
  class InvalidVersion < Error; end

  # Malformed data: a control file, an archive, an index (the message has the position).
  class ParseError < Error; end

  # Data is larger than a limit.
  class LimitExceeded < Error; end

  # Something asked for does not exist (a suite, a package, a file).
  class NotFound < Error; end

  # Different content already exists where identical content was expected.
  class Conflict < Error; end

  # A conditional update lost against a concurrent writer.
  class ConcurrentUpdate < Error; end

  # A signature, checksum or size check failed.
  class VerificationError < Error; end

  # A storage backend or the network failed.
  class StorageError < Error; end

  # A local file operation failed.
  class IOError < Error; end

  # The operation was cancelled by debpull itself. An interrupt of the calling
  # thread (Timeout, Thread#kill, Thread#raise, Ctrl-C) is not turned into
  # this: the interrupt's own exception (Timeout::Error, Interrupt...) is
  # raised, even when it arrives after the work finished (a publish
  # committed, an update installed): the result is then dropped, the work is
  # not undone.
  class Cancelled < Error; end

  # Not supported by this backend, format or build.
  class Unsupported < Error; end
end
