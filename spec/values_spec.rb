# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require "tmpdir"

# Version and Package are immutable values: frozen from the start, dup and
# clone give the object itself, equal ones hash alike (Fixnum hashes).
RSpec.describe "Immutable values", :tmpdir do
  let(:version) { Debpull::Version.new("1:2.0-1") }
  let(:package) { Debpull::Package.read(Debs.build(@dir)) }

  it "freezes versions and packages at creation" do
    expect(version).to be_frozen
    expect(package).to be_frozen
    expect(package.version).to be_frozen
    expect(Ractor.shareable?(version)).to be(true)
    expect { version.instance_variable_set(:@x, 1) }.to raise_error(FrozenError)
  end

  it "returns the object itself from dup and clone" do
    [version, package].each do |value|
      expect(value.dup).to equal(value)
      expect(value.clone).to equal(value)
      expect(value.clone(freeze: false)).to equal(value)
    end
    # What deep_dup and friends do: dup every element.
    copied = { v: [version], p: [package] }.transform_values { |list| list.map(&:dup) }
    expect(copied).to eq({ v: [version], p: [package] })
  end

  it "gives packages eql? and hash agreeing with ==" do
    deb = Debs.build(@dir, name: "tool", version: "0.1")
    a = Debpull::Package.read(deb)
    b = Debpull::Package.read(deb)
    expect(a).not_to equal(b)
    expect(a).to eq(b)
    expect(a).to eql(b)
    expect(a.hash).to eq(b.hash)
    expect({ a => :found }[b]).to eq(:found)
    expect([a, b, package].uniq.size).to eq(2)
    expect(a).not_to eql(package)
    expect(a.eql?("tool")).to be(false)
  end

  it "hashes to a Fixnum (no Bignum per call)" do
    [version, package].each do |value|
      expect(value.hash).to be_a(Integer)
      # A Fixnum on 64-bit Ruby: within 62 bits plus sign.
      expect(value.hash.bit_length).to be <= 62
      expect(value.hash).to eq(value.hash)
    end
    expect(Debpull::Version.new("1.0").hash).to eq(Debpull::Version.new("1.00").hash)
  end
end
