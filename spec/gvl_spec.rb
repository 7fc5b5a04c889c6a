# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/publish"
require "socket"
require "timeout"

# Blocking calls release the GVL and can be interrupted: a check against an
# HTTP server that accepts and never answers would wait for its timeouts
# (30 s per read, retried).
RSpec.describe "Blocking calls and the GVL", :tmpdir do
  # Accepts connections and keeps them open, silent.
  def silent_server
    server = TCPServer.new("127.0.0.1", 0)
    accepted = Queue.new
    held = []
    thread = Thread.new do
      loop do
        held << server.accept
        accepted << true
      end
    rescue IOError, Errno::EBADF
      nil
    end
    [server.addr[1], accepted, lambda {
      thread.kill
      server.close
      held.each(&:close)
    }]
  end

  # Serves the files under `root` over HTTP/1.1, each answer after `delay` seconds.
  def slow_file_server(root, delay)
    server = TCPServer.new("127.0.0.1", 0)
    requests = Queue.new
    thread = Thread.new do
      loop do
        client = server.accept
        Thread.new(client) do |c|
          request = c.gets.to_s
          nil until ["\r\n", "\n", nil].include?(c.gets)
          path = File.join(root, request.split[1].to_s.sub(%r{\A/repo}, ""))
          requests << path
          sleep delay
          body = File.file?(path) ? File.binread(path) : nil
          head = body ? "200 OK" : "404 Not Found"
          c.write("HTTP/1.1 #{head}\r\nContent-Length: #{body ? body.bytesize : 0}\r\nConnection: close\r\n\r\n")
          c.write(body) if body
        rescue IOError, SystemCallError
          nil
        ensure
          c.close
        end
      end
    rescue IOError, Errno::EBADF
      nil
    end
    [server.addr[1], requests, lambda {
      thread.kill
      server.close
    }]
  end

  def http_source(port)
    Debpull::Source.new("http://127.0.0.1:#{port}/repo", suite: "production", trusted_keys: Keys.public,
                                                        state_dir: File.join(@dir, "state-#{port}"),
                                                        architecture: "amd64")
  end

  def local_source
    repo = FtpArchive.new(File.join(@dir, "repo"))
    repo.publish("production", [Debs.build(@dir, version: "1.0")]) unless File.exist?(File.join(repo.root, "dists"))
    Debpull::Source.new(repo.uri, suite: "production", trusted_keys: Keys.public,
                                  state_dir: File.join(@dir, "state-local"), architecture: "amd64")
  end

  def expect_healthy
    GC.start
    expect(local_source.check("app").candidate.version.to_s).to eq("1.0")
  end

  it "lets another Ruby thread run during a slow call, and Timeout stops the call" do
    port, accepted, stop = silent_server
    source = http_source(port)
    counts = []
    counting = true
    counter = Thread.new do
      n = 0
      n += 1 while counting
    ensure
      counts << n
    end
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect { Timeout.timeout(0.5) { source.check("app") } }.to raise_error(Timeout::Error)
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    counting = false
    counter.join
    expect(accepted.size).to be >= 1 # the check was really waiting on the server
    expect(elapsed).to be_between(0.4, 3.0)
    # Holding the GVL, the counter would not have run during the call at all.
    expect(counts.first).to be > 100_000
    stop.call
    expect_healthy
  end

  it "stops a slow call on Thread#kill" do
    port, accepted, stop = silent_server
    source = http_source(port)
    outcome = nil
    thread = Thread.new do
      source.check("app")
      outcome = :returned
    rescue Exception => e # rubocop:disable Lint/RescueException
      outcome = e
      raise
    end
    Timeout.timeout(10) { accepted.pop }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    thread.kill
    expect(thread.join(3)).to equal(thread)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
    expect(thread.alive?).to be(false)
    expect(outcome).to be_nil # killed: neither returned nor raised
    stop.call
    expect_healthy
  end

  it "raises an exception Thread#raise sends, and the next call works" do
    port, accepted, stop = silent_server
    source = http_source(port)
    thread = Thread.new { source.check("app") }
    thread.report_on_exception = false
    Timeout.timeout(10) { accepted.pop }
    thread.raise(RuntimeError, "stop now")
    expect { thread.join(3) }.to raise_error(RuntimeError, "stop now")
    stop.call
    expect_healthy
  end

  it "stops a slow call on Ctrl-C (SIGINT raises Interrupt in the main thread)" do
    port, accepted, stop = silent_server
    lib = File.expand_path("../ruby-ext/lib", __dir__)
    script = <<~RUBY
      require "debpull"
      source = Debpull::Source.new("http://127.0.0.1:#{port}/repo", suite: "production",
                                   trusted_keys: ARGF.read, state_dir: #{File.join(@dir, "child").inspect},
                                   architecture: "amd64")
      begin
        source.check("app")
        exit 1
      rescue Interrupt
        puts "interrupted"
        exit 42
      end
    RUBY
    out_r, out_w = IO.pipe
    in_r, in_w = IO.pipe
    pid = Process.spawn(RbConfig.ruby, "-I", lib, "-e", script, in: in_r, out: out_w)
    [in_r, out_w].each(&:close)
    in_w.write(Keys.public)
    in_w.close
    Timeout.timeout(10) { accepted.pop }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    Process.kill("INT", pid)
    _, status = Timeout.timeout(5) { Process.wait2(pid) }
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
    expect([status.exitstatus, out_r.read]).to eq([42, "interrupted\n"])
  ensure
    out_r&.close
    stop&.call
  end

  it "stops a slow update run on Timeout (before its installer), the process staying healthy" do
    port, accepted, stop = silent_server
    root = DpkgRoot.new(File.join(@dir, "system"))
    updater = Debpull::Updater.new(source: http_source(port), package: "app", root: root.root)
    expect { Timeout.timeout(0.5) { updater.update } }.to raise_error(Timeout::Error)
    expect(accepted.size).to be >= 1
    stop.call
    expect(root.installed("app")).to be_nil
    expect_healthy
  end

  it "goes on with the call when an interrupt raises nothing (a trap handler, Thread#wakeup)" do
    repo = FtpArchive.new(File.join(@dir, "served"))
    repo.publish("production", [Debs.build(@dir, version: "2.0")])
    port, requests, stop = slow_file_server(repo.root, 0.4)
    source = http_source(port)
    main = Thread.current
    handled = []
    signalled = nil
    previous = trap("USR2") { handled << Process.clock_gettime(Process::CLOCK_MONOTONIC) }
    begin
      poker = Thread.new do
        requests.pop
        signalled = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        Process.kill("USR2", Process.pid)
        sleep 0.1
        main.wakeup
      end
      status = source.check("app")
      returned = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      poker.join
    ensure
      trap("USR2", previous || "DEFAULT")
      stop.call
    end
    expect(handled.size).to eq(1)
    # The handler ran while the call was still going (the unblocking function
    # paused it): the server still had at least one 0.4 s answer to give.
    expect(handled.first - signalled).to be < 0.2
    expect(returned - handled.first).to be > 0.2
    expect(status.candidate.version.to_s).to eq("2.0")
  end
end
