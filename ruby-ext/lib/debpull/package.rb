# frozen_string_literal: true

module Debpull
  # A binary package as a Packages index lists it: its control fields, and
  # the size and checksums of its `.deb`. Immutable. Made by {Package.read}
  # and by {Repository} (`packages`, `publish`...), never with `new`.
  #
  # @example
  #   pkg = Debpull::Package.read("app_1.0_amd64.deb")
  #   pkg.name            # => "app"
  #   pkg.version         # => #<Debpull::Version 1.0>
  #   pkg["depends"]      # => "libc6 (>= 2.36)" (case-insensitive), nil when absent
  #   puts pkg            # the Packages stanza
  #
  # @!method self.read(path)
  #   Reads the `.deb` at `path` and hashes it (MD5, SHA-256) on a background
  #   thread with the GVL released: other threads run meanwhile, and an
  #   interrupt (Timeout...) stops the call at once. The package is frozen.
  #   @param path [String, Pathname]
  #   @return [Package]
  #   @raise [IOError] the file is missing or unreadable (the message names it)
  #   @raise [ParseError] the file is not a valid `.deb` (the message names it)
  #   @raise [TypeError] path is not a String or Pathname
  # @!method name
  #   @return [String]
  # @!method version
  #   @return [Version]
  # @!method architecture
  #   @return [String] `amd64`, `all`, ...
  # @!method sha256
  #   @return [String, nil] the SHA-256 of the `.deb` in hex
  # @!method size
  #   @return [Integer] the size of the `.deb` in bytes
  # @!method filename
  #   @return [String, nil] its path in the repository (`pool/...`); nil for {Package.read}
  # @!method [](field)
  #   @param field [String, Symbol] a field name, any case (`Depends`, `SHA256`, `Filename`)
  #   @return [String, nil] its value (continuation lines joined by newlines), nil when absent
  #   @raise [TypeError] field is not a String or Symbol
  # @!method to_h
  #   @return [Hash{String => String}] the stanza's fields in order
  # @!method to_s
  #   @return [String] the Packages stanza, as apt-ftparchive writes it
  # @!method ==(other)
  #   @return [Boolean] the same stanza (fields, size, checksums); `eql?` too
  # @!method hash
  #   @return [Integer] agrees with `==`: packages work as Hash keys
  class Package
    # @return [Package] self (immutable, frozen)
    def dup = self

    # @return [Package] self (immutable; frozen whatever `freeze:` says)
    def clone(freeze: true) = self # rubocop:disable Lint/UnusedMethodArgument
  end

  # The control files `build_deb` gives mode 0755 (the others get 0644).
  MAINTAINER_SCRIPTS = %w[preinst postinst prerm postrm config].freeze
  private_constant :MAINTAINER_SCRIPTS

  # Builds a reproducible `.deb` of the tree under `dir` (the files to install,
  # relative to `/`): entries sorted, owner root:root, timestamps from
  # `SOURCE_DATE_EPOCH` (else 0), `Installed-Size` and `md5sums` generated.
  # Runs on a background thread with the GVL released; an interrupt
  # (Timeout...) stops the call at once, and the build left behind writes
  # nothing. `output` is written to a temporary file next to it and renamed:
  # it is never half-written.
  #
  # @example
  #   Debpull.build_deb(dir: "build/root", output: "app_1.0_amd64.deb",
  #                     control: { "Package" => "app", "Version" => "1.0",
  #                                "Architecture" => "amd64", "Maintainer" => "Ops <ops@example.org>",
  #                                "Description" => "the app\n longer text" },
  #                     scripts: { "postinst" => "#!/bin/sh\nset -e\nsystemctl restart app\n" })
  #
  # @param dir [String, Pathname] the tree to package
  # @param output [String, Pathname] the `.deb` to write (replaced if there)
  # @param control [Hash{String, Symbol => String}] control fields, in order;
  #   Package, Version and Architecture are required
  # @param scripts [Hash{String, Symbol => String}] control archive files:
  #   maintainer scripts (`postinst`, `prerm`...: mode 0755) and others
  #   (`conffiles`, `triggers`: 0644)
  # @param compression [String, Symbol, nil] `xz` (default), `gzip`, `zstd` or `none`
  # @return [String] output
  # @raise [InvalidInput] a missing or malformed field, an unknown compression
  # @raise [InvalidVersion] Version is not one dpkg accepts
  # @raise [IOError] dir is missing, output cannot be written
  # @raise [TypeError] an argument of the wrong type
  def self.build_deb(dir:, output:, control:, scripts: {}, compression: nil)
    fields = string_pairs(control, "control")
    raise ArgumentError, "control: no fields given" if fields.empty?

    files = string_pairs(scripts, "scripts").map do |name, text|
      [name, text, MAINTAINER_SCRIPTS.include?(name) ? 0o755 : 0o644]
    end
    compression = compression.to_s if compression.is_a?(Symbol)
    _build_deb(dir, output, fields, files, compression).to_s
  end

  # `hash` as `[[String, String], ...]`: keys String or Symbol, values String.
  def self.string_pairs(hash, what)
    raise TypeError, "#{what}: expected a Hash, got #{hash.class}" unless hash.is_a?(Hash)

    hash.map do |name, value|
      unless name.is_a?(String) || name.is_a?(Symbol)
        raise TypeError, "#{what}: a name must be a String or Symbol, got #{name.class}"
      end
      raise TypeError, "#{what}[#{name.inspect}]: expected a String, got #{value.class}" unless value.is_a?(String)

      [name.to_s, value]
    end
  end
  private_class_method :string_pairs, :_build_deb
end
