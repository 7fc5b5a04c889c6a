# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/moto" # fake S3 credentials in the environment
require "fileutils"
require "open3"
require "socket"
require "timeout"
require "tmpdir"

def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)

# Synchronous work (reading and hashing a big .deb, building one) runs on a
# background thread: an interrupt stops the call at once, not when the work ends.
RSpec.describe "Interrupting synchronous work" do
  # One big .deb per run: ~100 MB of zeros, uncompressed (dpkg-deb -Znone).
  before(:all) do
    @big_dir = Dir.mktmpdir("debpull-big")
    root = File.join(@big_dir, "root")
    FileUtils.mkdir_p(File.join(root, "DEBIAN"))
    FileUtils.mkdir_p(File.join(root, "opt/big"))
    File.write(File.join(root, "DEBIAN/control"),
               "Package: big\nVersion: 1.0\nArchitecture: all\nMaintainer: Ops <ops@example.org>\n" \
               "Description: big\n")
    File.open(File.join(root, "opt/big/zeros"), "wb") do |f|
      chunk = "\0" * (1 << 20)
      100.times { f.write(chunk) }
    end
    @big_deb = File.join(@big_dir, "big_1.0_all.deb")
    out, status = Open3.capture2e("dpkg-deb", "--root-owner-group", "-Znone", "-b", root, @big_deb)
    raise "dpkg-deb failed: #{out}" unless status.success?

    # A tree for build_deb: 40 MB of random bytes (gzip works hard on them).
    @tree = File.join(@big_dir, "tree")
    FileUtils.mkdir_p(File.join(@tree, "opt/big"))
    random = Random.new(7)
    File.open(File.join(@tree, "opt/big/noise"), "wb") { |f| 40.times { f.write(random.bytes(1 << 20)) } }
  end

  after(:all) { FileUtils.rm_rf(@big_dir) }

  def timed
    started = monotonic
    yield
    monotonic - started
  end

  it "stops Package.read of a big .deb at once on Timeout" do
    full = timed { expect(Debpull::Package.read(@big_deb).size).to eq(File.size(@big_deb)) }
    expect(full).to be > 0.2 # else the comparison says nothing
    interrupted = timed do
      expect { Timeout.timeout(full / 10) { Debpull::Package.read(@big_deb) } }.to raise_error(Timeout::Error)
    end
    expect(interrupted).to be < full / 2
    sleep full # the detached read ends; the process goes on
    expect(Debpull::Package.read(@big_deb).name).to eq("big")
  end

  def build(output)
    Debpull.build_deb(dir: @tree, output: output, compression: :gzip,
                      control: { "Package" => "big", "Version" => "1.0", "Architecture" => "all",
                                 "Maintainer" => "Ops <ops@example.org>", "Description" => "big" })
  end

  it "stops build_deb at once on Timeout, and the detached build writes nothing" do
    out_dir = File.join(@big_dir, "out")
    FileUtils.mkdir_p(out_dir)
    full_output = File.join(out_dir, "full.deb")
    full = timed { build(full_output) }
    expect(full).to be > 0.2
    expect(Debpull::Package.read(full_output).name).to eq("big")

    output = File.join(out_dir, "interrupted.deb")
    interrupted = timed do
      expect { Timeout.timeout(full / 10) { build(output) } }.to raise_error(Timeout::Error)
    end
    expect(interrupted).to be < full / 2
    sleep full * 1.5 # the detached build has ended by now
    expect(Dir.children(out_dir)).to eq(["full.deb"]) # no output, no temporary file

    # An interrupted rebuild leaves the previous file whole.
    expect { Timeout.timeout(full / 10) { build(full_output) } }.to raise_error(Timeout::Error)
    sleep full * 1.5
    expect(Dir.children(out_dir)).to eq(["full.deb"])
    expect(Debpull::Package.read(full_output).name).to eq("big")
  end
end

# The repository's calls against an S3 endpoint that accepts connections and
# never answers: the GVL is released (another thread counts meanwhile) and
# Timeout stops them promptly.
RSpec.describe "Interrupting repository calls on a silent S3 endpoint", :tmpdir do
  before do
    @server = TCPServer.new("127.0.0.1", 0)
    @held = []
    @accepted = Queue.new
    @acceptor = Thread.new do
      loop do
        @held << @server.accept
        @accepted << true
      end
    rescue IOError, Errno::EBADF
      nil
    end
  end

  after do
    @acceptor.kill
    @server.close
    @held.each(&:close)
  end

  let(:repo) do
    Debpull::Repository.new("s3://bucket/apt", signing_key: Keys.secret, region: "us-east-1",
                                               endpoint: "http://127.0.0.1:#{@server.addr[1]}")
  end

  # Runs the block under Timeout.timeout(0.3) while another thread counts:
  # [seconds until Timeout::Error, the count].
  def interrupted_while_counting(&call)
    counting = true
    count = 0
    counter = Thread.new { count += 1 while counting }
    started = monotonic
    expect { Timeout.timeout(0.3, &call) }.to raise_error(Timeout::Error)
    elapsed = monotonic - started
    counting = false
    counter.join
    [elapsed, count]
  end

  {
    "publish" => ->(repo, deb) { repo.publish("staging", [deb]) { |_event| nil } },
    "packages" => ->(repo, _deb) { repo.packages("staging") },
    "verify" => ->(repo, _deb) { repo.verify("staging") },
    "gc" => ->(repo, _deb) { repo.gc(grace: 0) }
  }.each do |name, call|
    it "stops #{name} on Timeout at once, other threads running meanwhile" do
      deb = Debs.build(@dir)
      repository = repo
      elapsed, count = interrupted_while_counting { call.call(repository, deb) }
      expect(@accepted.size).to be >= 1 # it was really waiting on the server
      # The busy counter delays each GVL hand-over by up to a time slice
      # (100 ms): 0.6 s is seen; the review saw 1.0-1.3 s for publish.
      expect(elapsed).to be_between(0.25, 0.8)
      # Holding the GVL, the counter would not have run during the call at all.
      expect(count).to be > 100_000
    end
  end
end
