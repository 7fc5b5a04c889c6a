# frozen_string_literal: true

require_relative "spec_helper"

RSpec.describe Debpull::Version do
  it "has dpkg's parts" do
    v = described_class.new("1:2.0~rc1-3")
    expect([v.epoch, v.upstream, v.revision, v.to_s]).to eq([1, "2.0~rc1", "3", "1:2.0~rc1-3"])
    expect(described_class.new("1.0").revision).to be_nil
    expect(v.inspect).to eq("#<Debpull::Version 1:2.0~rc1-3>")
  end

  it "orders as dpkg does, and is Comparable" do
    ordered = %w[1.0~~ 1.0~~a 1.0~ 1.0 1.0-1 1.0a 1.0+ 1.0.1 1:0.1].map { |s| described_class.new(s) }
    expect(ordered.shuffle(random: Random.new(7)).sort.map(&:to_s)).to eq(ordered.map(&:to_s))
    expect(described_class.new("1.1")).to be > described_class.new("1.0")
    expect(described_class.new("1.0").between?(described_class.new("1.0~"), described_class.new("1.0+"))).to be(true)
  end

  it "is equal, eql? and hashes alike for versions dpkg calls equal" do
    same = %w[1.0 1.00 0:1.0 1.0-0].map { |s| described_class.new(s) }
    expect(same.uniq.size).to eq(1)
    expect(same.combination(2).all? { |a, b| a == b && a.eql?(b) && a.hash == b.hash }).to be(true)
    expect({ same[0] => :x }[same[1]]).to eq(:x)
    expect(described_class.new("1.0")).not_to eq("1.0")
    expect(described_class.new("1.0") <=> "1.0").to be_nil
  end

  it "raises InvalidVersion with dpkg's reason" do
    expect { described_class.new("1.0 junk") }.to raise_error(Debpull::InvalidVersion, /1\.0 junk|embedded|space/)
    expect { described_class.new("") }.to raise_error(Debpull::InvalidVersion, /empty/)
    expect(Debpull::InvalidVersion.ancestors).to include(Debpull::Error, StandardError)
  end

  it "raises TypeError for what is not a String" do
    expect { described_class.new(nil) }.to raise_error(TypeError)
    expect { described_class.new(1.0) }.to raise_error(TypeError)
  end
end

RSpec.describe "Debpull.compare_versions" do
  it "compares like dpkg --compare-versions" do
    expect(Debpull.compare_versions("1.0", "1.0~rc1")).to eq(1)
    expect(Debpull.compare_versions("1.0", "1.00")).to eq(0)
    expect(Debpull.compare_versions("1:0.1", "2.0")).to eq(1)
    expect { Debpull.compare_versions("a:b", "1") }.to raise_error(Debpull::InvalidVersion, /a:b/)
  end
end
