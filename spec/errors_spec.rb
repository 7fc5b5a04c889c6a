# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require_relative "support/keys"
require_relative "support/moto" # fake S3 credentials in the environment
require "socket"
require "tmpdir"

# Every kind of core error has its class under Debpull::Error, and the ones a
# caller can run into cheaply are raised as that class.
RSpec.describe "Debpull's error classes", :tmpdir do
  KINDS = %i[InvalidInput InvalidVersion ParseError LimitExceeded NotFound Conflict ConcurrentUpdate
             VerificationError StorageError IOError Cancelled Unsupported].freeze

  it "derives Debpull::Error from StandardError and every kind from Debpull::Error" do
    expect(Debpull::Error.superclass).to equal(StandardError)
    KINDS.each do |kind|
      klass = Debpull.const_get(kind, false)
      expect(klass.superclass).to equal(Debpull::Error), "#{kind} < #{klass.superclass}"
      expect(klass.name).to eq("Debpull::#{kind}")
    end
    # Nothing more and nothing less is defined.
    defined = Debpull.constants.map { |c| Debpull.const_get(c) }
                     .select { |c| c.is_a?(Class) && c < Debpull::Error }.map { |c| c.name.split("::").last.to_sym }
    expect(defined).to match_array(KINDS)
    # Debpull::IOError is debpull's own, not Ruby's ::IOError.
    expect(Debpull::IOError).not_to equal(::IOError)
    expect(Debpull::IOError.ancestors).not_to include(::IOError)
  end

  def repo(uri = "file://#{@dir}/repo", **options)
    Debpull::Repository.new(uri, signing_key: Keys.secret, **options)
  end

  it "raises InvalidInput, InvalidVersion, ParseError, IOError, NotFound" do
    expect { repo(origin: "two\nlines") }.to raise_error(Debpull::InvalidInput, /origin/)
    expect { Debpull::Version.new("1.0 beta") }.to raise_error(Debpull::InvalidVersion)
    garbage = File.join(@dir, "garbage.deb")
    File.binwrite(garbage, "not an archive at all")
    expect { Debpull::Package.read(garbage) }.to raise_error(Debpull::ParseError, /garbage\.deb/)
    expect { Debpull::Package.read(File.join(@dir, "missing.deb")) }
      .to raise_error(Debpull::IOError, /missing\.deb/)
    expect { repo.packages("nowhere") }.to raise_error(Debpull::NotFound, /nowhere/)
  end

  it "raises LimitExceeded for a control field over the reader's limit (256 KiB)" do
    root = File.join(@dir, "root")
    FileUtils.mkdir_p(root)
    deb = Debpull.build_deb(dir: root, output: File.join(@dir, "big_1.0_all.deb"), compression: :none,
                            control: { "Package" => "big", "Version" => "1.0", "Architecture" => "all",
                                       "Maintainer" => "Ops <ops@example.org>",
                                       "Description" => "big\n #{"x" * (300 << 10)}" })
    expect { Debpull::Package.read(deb) }.to raise_error(Debpull::LimitExceeded)
  end

  it "raises Conflict for other content under a published name, version and architecture" do
    repository = repo
    repository.publish("staging", [Debs.build(@dir, salt: "one")])
    other = Dir.mktmpdir("other", @dir)
    expect { repository.publish("staging", [Debs.build(other, salt: "two")]) }
      .to raise_error(Debpull::Conflict, /app/)
  end

  it "raises VerificationError for a suite signed by another key" do
    repository = repo
    repository.publish("staging", [Debs.build(@dir)])
    expect { repository.verify("staging", trusted_keys: Keys.wrong_public) }
      .to raise_error(Debpull::VerificationError)
  end

  it "raises StorageError for an S3 endpoint on a closed port" do
    server = TCPServer.new("127.0.0.1", 0)
    port = server.addr[1]
    server.close # nothing listens there now
    repository = repo("s3://bucket/apt", region: "us-east-1", endpoint: "http://127.0.0.1:#{port}")
    expect { repository.packages("staging") }.to raise_error(Debpull::StorageError)
  end

  it "raises Unsupported for a URI scheme debpull does not handle" do
    expect { repo("ftp://example.org/apt") }.to raise_error(Debpull::Unsupported, /ftp/)
    expect do
      Debpull::Source.new("ftp://example.org/apt", suite: "production", trusted_keys: Keys.public,
                                                   state_dir: File.join(@dir, "state"), architecture: "amd64")
    end.to raise_error(Debpull::Unsupported, /ftp/)
  end
end
