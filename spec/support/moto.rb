# frozen_string_literal: true

# moto (a fake of S3) in server mode on a free loopback port, for the specs:
# python3 runs core/tests/support/moto_host.py, which picks the port and prints
# it, then answers commands on its stdin (see there). One server per rspec run,
# started on first use and shared; it exits when rspec does (EOF on its stdin,
# however rspec ends).
#
#   moto = Moto.shared
#   bucket = moto.create_bucket("publish")          # "publish-3": fresh
#   Debpull::Repository.new("s3://#{bucket}/apt", signing_key: Keys.secret,
#                           region: Moto::REGION, endpoint: moto.endpoint)
#
# No authentication: moto takes any signature; the fake credentials below are
# put into the environment when this file is loaded (before any debpull call
# starts threads that read it), with instance metadata off.
class Moto
  REGION = "us-east-1"
  SCRIPT = File.expand_path("../../core/tests/support/moto_host.py", __dir__)
  INSTALL_HINT = "the S3 specs need moto in server mode: python3 -m pip install 'moto[server]>=5.2.5,<6'"

  {
    "AWS_ACCESS_KEY_ID" => "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY" => "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_EC2_METADATA_DISABLED" => "true"
  }.each { |name, value| ENV[name] = value }
  ENV.delete("AWS_SESSION_TOKEN")
  ENV.delete("AWS_PROFILE")

  @lock = Mutex.new
  @buckets = 0

  class << self
    # The server shared by every spec of this run.
    def shared
      @lock.synchronize { @shared ||= new }
    end

    # A number unique in this run, for bucket names.
    def next_number
      @lock.synchronize { @buckets += 1 }
    end
  end

  attr_reader :port, :pid

  def initialize
    @io = IO.popen({ "PYTHONDONTWRITEBYTECODE" => "1" }, ["python3", SCRIPT], "r+")
    @pid = @io.pid
    line = @io.gets.to_s
    words = line.split
    raise "moto did not start (it said #{line.inspect}; its errors are above); #{INSTALL_HINT}" unless
      words.size == 2 && words[0] == "ready"

    @port = Integer(words[1])
    @commands = Mutex.new
  end

  # `http://127.0.0.1:PORT`
  def endpoint = "http://127.0.0.1:#{port}"

  # Creates a new bucket `PREFIX-N` and returns its name.
  def create_bucket(prefix)
    raise ArgumentError, "bucket prefix #{prefix.inspect}: use a-z 0-9 -" unless prefix.match?(/\A[a-z0-9][a-z0-9-]{0,39}\z/)

    name = "#{prefix}-#{Moto.next_number}"
    command("create_bucket #{name}")
    name
  end

  private

  def command(line)
    @commands.synchronize do
      @io.puts(line)
      @io.flush
      answer = @io.gets or raise "moto (pid #{pid}) is gone"
      answer = answer.chomp
      return answer.delete_prefix("ok").strip if answer == "ok" || answer.start_with?("ok ")

      raise "moto: #{line}: #{answer}"
    end
  end
end
