# frozen_string_literal: true

require "tmpdir"
require "open3"

# Signing keys made with the real gpg, once per rspec run: a signer (its
# armored secret key, with and without a passphrase, and its public key) and
# another key's public key.
module Keys
  PASSPHRASE = "correct horse"

  class << self
    def secret = keys[:secret]
    def secret_with_passphrase = keys[:secret_with_passphrase]
    def public = keys[:public]
    def wrong_public = keys[:wrong_public]

    private

    def keys
      @keys ||= Dir.mktmpdir("debpull-gpg") do |home|
        File.chmod(0o700, home)
        gpg = ->(*args, input: nil) { run_gpg(home, args, input) }
        gpg.call("--quick-gen-key", "debpull specs <specs@example.org>", "ed25519", "sign", "0")
        gpg.call("--quick-gen-key", "someone else <else@example.org>", "ed25519", "sign", "0")
        keys = {
          secret: gpg.call("--armor", "--export-secret-keys", "specs@example.org"),
          public: gpg.call("--armor", "--export", "specs@example.org"),
          wrong_public: gpg.call("--armor", "--export", "else@example.org")
        }
        gpg.call("--passwd", "specs@example.org", input: "\n#{PASSPHRASE}\n")
        keys[:secret_with_passphrase] = gpg.call("--armor", "--export-secret-keys", "specs@example.org",
                                                 input: "#{PASSPHRASE}\n")
        system("gpgconf", "--homedir", home, "--kill", "gpg-agent", err: File::NULL)
        keys
      end
    end

    def run_gpg(home, args, input)
      cmd = ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback",
             "--passphrase-fd", "0", "--homedir", home, *args]
      out, err, status = Open3.capture3(*cmd, stdin_data: input || "\n")
      raise "gpg #{args.join(" ")} failed: #{err}" unless status.success?

      out
    end
  end
end
