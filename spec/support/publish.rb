# frozen_string_literal: true

require "fileutils"
require "open3"
require "tmpdir"
require "zlib"
require_relative "keys"

# A peer publisher for the client specs: a repository directory written by
# the real apt-ftparchive (Packages, Release) and signed by the real gpg
# (InRelease clearsigned, Release.gpg detached) with Keys.secret, read by the
# client as file://. (Until Debpull::Repository lands; apt-ftparchive is also
# a publisher the client must accept.)
class FtpArchive
  attr_reader :root

  def initialize(root)
    @root = root
    FileUtils.mkdir_p(root)
  end

  # @return [String] the repository's file:// URI
  def uri = "file://#{root}"

  # Copies `debs` into pool/main and (re)publishes `suite` (amd64, main).
  def publish(suite, debs)
    pool = File.join(root, "pool/main")
    FileUtils.mkdir_p(pool)
    debs.each { |deb| FileUtils.cp(deb, pool) }
    dist = File.join(root, "dists", suite)
    binary = File.join(dist, "main/binary-amd64")
    FileUtils.mkdir_p(binary)
    packages = ftparchive("packages", "pool/main")
    File.binwrite(File.join(binary, "Packages"), packages)
    Zlib::GzipWriter.open(File.join(binary, "Packages.gz")) { |gz| gz.write(packages) }
    %w[Release InRelease Release.gpg].each { |f| FileUtils.rm_f(File.join(dist, f)) }
    release = ftparchive("-o", "APT::FTPArchive::Release::Suite=#{suite}",
                         "-o", "APT::FTPArchive::Release::Codename=#{suite}",
                         "-o", "APT::FTPArchive::Release::Architectures=amd64",
                         "-o", "APT::FTPArchive::Release::Components=main",
                         "release", "dists/#{suite}")
    File.binwrite(File.join(dist, "Release"), release)
    File.binwrite(File.join(dist, "InRelease"), Signer.run("--digest-algo", "SHA256", "--clearsign", input: release))
    File.binwrite(File.join(dist, "Release.gpg"), Signer.run("--armor", "--detach-sign", input: release))
    self
  end

  private

  def ftparchive(*args)
    out, err, status = Open3.capture3("apt-ftparchive", *args, chdir: root, binmode: true)
    raise "apt-ftparchive #{args.join(" ")} failed: #{err}" unless status.success?

    out
  end

  # gpg with Keys.secret imported into a private home, once per rspec run.
  module Signer
    class << self
      def run(*args, input:)
        cmd = ["gpg", "--batch", "--yes", "--homedir", home, "--local-user", "specs@example.org", *args]
        out, err, status = Open3.capture3(*cmd, stdin_data: input, binmode: true)
        raise "gpg #{args.join(" ")} failed: #{err}" unless status.success?

        out
      end

      private

      def home
        @home ||= begin
          dir = Dir.mktmpdir("debpull-signer")
          File.chmod(0o700, dir)
          _, err, status = Open3.capture3("gpg", "--batch", "--homedir", dir, "--import", stdin_data: Keys.secret)
          raise "gpg --import failed: #{err}" unless status.success?

          at_exit do
            system("gpgconf", "--homedir", dir, "--kill", "gpg-agent", err: File::NULL)
            FileUtils.rm_rf(dir)
          end
          dir
        end
      end
    end
  end
end

# A system for the real dpkg to install into: a root (`dpkg --root`) and an
# administrative directory (`--admindir`) with an empty status file; what is
# installed is read back with the real dpkg-query.
class DpkgRoot
  attr_reader :root, :admin

  def initialize(dir)
    @root = File.join(dir, "root")
    @admin = File.join(dir, "admin")
    [root, File.join(admin, "updates"), File.join(admin, "info")].each { |d| FileUtils.mkdir_p(d) }
    File.write(File.join(admin, "status"), "")
  end

  # @return [String, nil] the version dpkg-query reports installed
  def installed(package)
    out, = Open3.capture2("dpkg-query", "--admindir=#{admin}", "-W", "-f", "${Status}|${Version}", package,
                          err: File::NULL)
    status, version = out.split("|", 2)
    status&.end_with?(" installed") ? version : nil
  end

  # The content of an installed file, relative to the root.
  def file(rel)
    path = File.join(root, rel)
    File.exist?(path) ? File.read(path) : nil
  end
end
