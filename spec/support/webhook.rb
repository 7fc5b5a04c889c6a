# frozen_string_literal: true

require "json"
require "socket"

# A webhook on loopback for the notification specs (a TCPServer, no gems): it
# answers each POST as a script says (a status with headers, or nothing at
# all) and records every body it received.
class Webhook
  # @param script [Array<Array>] answers for the first requests, in order:
  #   `[status, headers, body]`, or `:silence` (read the request, never answer)
  # @param then_answer [Array, Symbol] the answer to every later request
  def initialize(script = [], then_answer: [200, {}, "ok"])
    @script = script.dup
    @then = then_answer
    @bodies = []
    @lock = Mutex.new
    @server = TCPServer.new("127.0.0.1", 0)
    @threads = []
    @acceptor = Thread.new { accept_loop }
  end

  # @return [String] the webhook URL (with a secret-looking path)
  def url = "http://127.0.0.1:#{@server.addr[1]}/services/T000/B000/s3cr3t"

  # @return [Array<Hash>] the bodies received, parsed
  def received = @lock.synchronize { @bodies.map { |b| JSON.parse(b) } }

  def stop
    @acceptor.kill
    @threads.each(&:kill)
    @server.close
  end

  # A URL nothing listens on.
  def self.dead_url
    server = TCPServer.new("127.0.0.1", 0)
    port = server.addr[1]
    server.close
    "http://127.0.0.1:#{port}/services/T000/B000/s3cr3t"
  end

  private

  def accept_loop
    loop do
      client = @server.accept
      @threads << Thread.new(client) { |c| serve(c) }
    end
  rescue IOError, Errno::EBADF
    nil
  end

  def serve(client)
    while (line = client.gets)
      headers = {}
      while (header = client.gets) && header != "\r\n"
        name, value = header.split(":", 2)
        headers[name.downcase] = value.strip
      end
      body = client.read(headers.fetch("content-length", "0").to_i)
      answer = @lock.synchronize do
        @bodies << body if line.start_with?("POST")
        @script.empty? ? @then : @script.shift
      end
      return sleep if answer == :silence

      status, extra, text = answer
      head = "HTTP/1.1 #{status} Status\r\nContent-Length: #{text.bytesize}\r\n"
      extra.each { |k, v| head << "#{k}: #{v}\r\n" }
      client.write("#{head}\r\n#{text}")
    end
  rescue IOError, SystemCallError
    nil
  ensure
    client.close unless client.closed?
  end
end
