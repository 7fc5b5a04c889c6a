# frozen_string_literal: true

require_relative "spec_helper"
require_relative "support/debs"
require "digest"
require "open3"
require "pathname"
require "tmpdir"

RSpec.describe Debpull::Package, :tmpdir do
  let(:deb) { Debs.build(@dir, name: "app", version: "1:2.0~rc1-3", depends: "libc6 (>= 2.36)") }

  def dpkg_field(path, field)
    out, status = Open3.capture2("dpkg-deb", "--field", path, field)
    raise "dpkg-deb --field #{path} #{field} failed" unless status.success?

    out.chomp
  end

  describe ".read" do
    it "has the .deb's fields, size and SHA-256 as dpkg-deb and Digest see them" do
      pkg = described_class.read(deb)
      expect([pkg.name, pkg.architecture]).to eq(%w[app amd64])
      expect(pkg.version).to be_a(Debpull::Version)
      expect(pkg.version).to eq(Debpull::Version.new(dpkg_field(deb, "Version")))
      expect(pkg.version.epoch).to eq(1)
      expect(pkg.size).to eq(File.size(deb))
      expect(pkg.sha256).to eq(Digest::SHA256.file(deb).hexdigest)
      expect(pkg.filename).to be_nil
      expect(pkg.inspect).to eq("#<Debpull::Package app 1:2.0~rc1-3 amd64>")
    end

    it "looks fields up case-insensitively (control and file fields), nil when absent" do
      pkg = described_class.read(Pathname(deb))
      expect(pkg["Depends"]).to eq(dpkg_field(deb, "Depends"))
      expect(pkg["depends"]).to eq("libc6 (>= 2.36)")
      expect(pkg[:MAINTAINER]).to eq("Specs <specs@example.org>")
      expect(pkg["sha256"]).to eq(pkg.sha256)
      expect(pkg["Size"]).to eq(pkg.size.to_s)
      expect(pkg["Pre-Depends"]).to be_nil
      expect { pkg[nil] }.to raise_error(TypeError)
      expect { pkg[1] }.to raise_error(TypeError)
    end

    it "renders the Packages stanza (to_s) and its fields in order (to_h)" do
      pkg = described_class.read(deb)
      stanza = pkg.to_s
      expect(stanza).to start_with("Package: app\n")
      expect(stanza).to include("Version: 1:2.0~rc1-3\n", "SHA256: #{pkg.sha256}\n", "Size: #{pkg.size}\n")
      hash = pkg.to_h
      expect(hash.keys.first).to eq("Package")
      expect(hash.keys).to eq(stanza.lines.grep(/\A\S/).map { |l| l.split(":").first })
      expect(hash["Description"]).to eq("app for the specs\n a package built by dpkg-deb")
      expect(pkg).to eq(described_class.read(deb))
    end

    it "raises IOError naming a missing file, ParseError naming a corrupt one" do
      missing = File.join(@dir, "missing_1.0_amd64.deb")
      expect { described_class.read(missing) }.to raise_error(Debpull::IOError, /missing_1\.0_amd64\.deb/)
      corrupt = File.join(@dir, "corrupt_1.0_amd64.deb")
      File.binwrite(corrupt, "!<arch>\nnot really a deb\n")
      expect { described_class.read(corrupt) }.to raise_error(Debpull::ParseError, /corrupt_1\.0_amd64\.deb/)
      truncated = File.join(@dir, "truncated_1.0_amd64.deb")
      File.binwrite(truncated, File.binread(deb)[0, 300])
      expect { described_class.read(truncated) }.to raise_error(Debpull::ParseError, /truncated_1\.0_amd64\.deb/)
    end

    it "raises TypeError for what is not a path, ArgumentError for an empty one" do
      expect { described_class.read(nil) }.to raise_error(TypeError)
      expect { described_class.read(42) }.to raise_error(TypeError)
      expect { described_class.read([deb]) }.to raise_error(TypeError)
      expect { described_class.read("") }.to raise_error(ArgumentError)
      expect { described_class.new }.to raise_error(TypeError, /allocator/)
    end

    it "survives GC.stress" do
      path = deb
      pkgs = []
      GC.stress = true
      begin
        3.times { pkgs << described_class.read(path) }
        pkg = pkgs.last
        pkgs << pkg.to_h << pkg.to_s << pkg["depends"] << pkg.version
      ensure
        GC.stress = false
      end
      expect(pkgs[0..2].map(&:sha256).uniq).to eq([Digest::SHA256.file(path).hexdigest])
      expect(pkgs[3]["Package"]).to eq("app")
    end
  end
end

RSpec.describe "Debpull.build_deb", :tmpdir do
  let(:root) do
    File.join(@dir, "root").tap do |root|
      FileUtils.mkdir_p(File.join(root, "usr/share/hello"))
      File.write(File.join(root, "usr/share/hello/greeting"), "hello\n")
    end
  end
  let(:control) do
    { "Package" => "hello", "Version" => "1.2-1", "Architecture" => "all",
      "Maintainer" => "Ops <ops@example.org>", Description: "says hello\n Longer text." }
  end
  let(:output) { File.join(@dir, "hello_1.2-1_all.deb") }

  def dpkg_deb(*args)
    out, err, status = Open3.capture3("dpkg-deb", *args)
    raise "dpkg-deb #{args.join(" ")}: #{err}" unless status.success?

    out
  end

  it "writes a .deb dpkg-deb reads, with its fields, files and scripts" do
    result = Debpull.build_deb(dir: root, output: output, control: control,
                               scripts: { "postinst" => "#!/bin/sh\nset -e\n", conffiles: "" })
    expect(result).to eq(output)
    expect(dpkg_deb("--field", output, "Package", "Version", "Architecture"))
      .to eq("Package: hello\nVersion: 1.2-1\nArchitecture: all\n")
    expect(dpkg_deb("--field", output, "Description")).to eq("says hello\n Longer text.\n")
    expect(dpkg_deb("--contents", output)).to include("./usr/share/hello/greeting")
    control_dir = File.join(@dir, "control")
    dpkg_deb("--control", output, control_dir)
    expect(File.read(File.join(control_dir, "postinst"))).to eq("#!/bin/sh\nset -e\n")
    expect(File.stat(File.join(control_dir, "postinst")).mode & 0o777).to eq(0o755)
    expect(File.stat(File.join(control_dir, "conffiles")).mode & 0o777).to eq(0o644)
    pkg = Debpull::Package.read(output)
    expect([pkg.name, pkg.version.to_s, pkg["Installed-Size"]]).to eq(["hello", "1.2-1", dpkg_deb("--field", output, "Installed-Size").chomp])
  end

  it "compresses as asked" do
    Debpull.build_deb(dir: root, output: output, control: control, compression: :zstd)
    members, status = Open3.capture2("ar", "t", output)
    expect(status).to be_success
    expect(members.split).to include("data.tar.zst", "control.tar.zst")
    Debpull.build_deb(dir: root, output: output, control: control, compression: "gzip")
    expect(Open3.capture2("ar", "t", output).first.split).to include("data.tar.gz")
    expect { Debpull.build_deb(dir: root, output: output, control: control, compression: "lzma") }
      .to raise_error(Debpull::InvalidInput, /lzma.*xz, gzip, zstd, none/)
  end

  it "names the field or path at fault" do
    expect { Debpull.build_deb(dir: root, output: output, control: control.except("Package")) }
      .to raise_error(Debpull::InvalidInput, /Package/)
    expect { Debpull.build_deb(dir: root, output: output, control: control.merge("Version" => "1.0 junk")) }
      .to raise_error(Debpull::InvalidVersion, /1\.0 junk/)
    expect { Debpull.build_deb(dir: File.join(@dir, "nowhere"), output: output, control: control) }
      .to raise_error(Debpull::IOError, /nowhere/)
    expect { Debpull.build_deb(dir: root, output: File.join(@dir, "no/such/dir/x.deb"), control: control) }
      .to raise_error(Debpull::IOError, %r{no/such/dir})
    expect(File.exist?(output)).to be(false)
  end

  it "raises TypeError or ArgumentError for wrong types, nil, missing and unknown keywords" do
    ok = { dir: root, output: output, control: control }
    expect { Debpull.build_deb(**ok, dir: nil) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, output: 7) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, control: nil) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, control: [["Package", "x"]]) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, control: control.merge("Version" => 1.0)) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, control: control.merge(1 => "x")) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, control: {}) }.to raise_error(ArgumentError)
    expect { Debpull.build_deb(**ok, scripts: nil) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, scripts: { "postinst" => nil }) }.to raise_error(TypeError)
    expect { Debpull.build_deb(**ok, compression: 3) }.to raise_error(TypeError)
    expect { Debpull.build_deb(dir: root, output: output) }.to raise_error(ArgumentError, /control/)
    expect { Debpull.build_deb(**ok, compress: "xz") }.to raise_error(ArgumentError, /compress/)
    expect(File.exist?(output)).to be(false)
  end
end
