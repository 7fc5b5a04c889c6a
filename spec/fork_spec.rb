# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/keys"
require_relative "support/debs"
require "tmpdir"
require "timeout"

# A preloading server (Puma, Unicorn) or a worker pool forks after using
# debpull: the child must be able to use it too (the parent's runtime threads
# do not exist in the child).
RSpec.describe "debpull after fork", :tmpdir do
  it "works in a child after the parent used it" do
    repo = Debpull::Repository.new("file://#{@dir}/repo", signing_key: Keys.secret)
    repo.publish("staging", [Debs.build(@dir, version: "1.0")])
    expect(repo.packages("staging").map { |p| p.version.to_s }).to eq(["1.0"])

    reader, writer = IO.pipe
    pid = fork do
      reader.close
      result = Timeout.timeout(20) do
        repo.publish("staging", [Debs.build(@dir, version: "1.1")])
        repo.packages("staging").map { |p| p.version.to_s }.join(",")
      end
      writer.write(result)
      writer.close
      exit!(0)
    rescue Exception => e # rubocop:disable Lint/RescueException
      writer.write("#{e.class}: #{e.message}")
      writer.close
      exit!(1)
    end
    writer.close
    Process.wait(pid)
    expect([$?.exitstatus, reader.read]).to eq([0, "1.0,1.1"])
    expect(repo.packages("staging").map { |p| p.version.to_s }).to eq(%w[1.0 1.1])
  end
end
