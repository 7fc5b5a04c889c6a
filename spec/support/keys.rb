# frozen_string_literal: true

require "tmpdir"
require "open3"

# Signing keys made with the real gpg, once per rspec run: a signer (its
# armored secret key and its public key), a second signer whose secret key
# is protected by Keys::PASSPHRASE, and another key's public key.
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
        gen = ->(uid, pass) { run_gpg(home, pass, "--quick-gen-key", uid, "ed25519", "sign", "0") }
        gen.call("debpull specs <specs@example.org>", "")
        gen.call("someone else <else@example.org>", "")
        # Made with its passphrase (`gpg --passwd` in batch mode leaves a key unprotected).
        gen.call("protected <protected@example.org>", PASSPHRASE)
        keys = {
          secret: run_gpg(home, "", "--armor", "--export-secret-keys", "specs@example.org"),
          public: run_gpg(home, "", "--armor", "--export", "specs@example.org"),
          wrong_public: run_gpg(home, "", "--armor", "--export", "else@example.org"),
          secret_with_passphrase: run_gpg(home, PASSPHRASE, "--armor", "--export-secret-keys",
                                          "protected@example.org")
        }
        system("gpgconf", "--homedir", home, "--kill", "gpg-agent", err: File::NULL)
        keys
      end
    end

    def run_gpg(home, passphrase, *args)
      cmd = ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", passphrase,
             "--homedir", home, *args]
      out, err, status = Open3.capture3(*cmd)
      raise "gpg #{args.join(" ")} failed: #{err}" unless status.success?

      out
    end
  end
end
