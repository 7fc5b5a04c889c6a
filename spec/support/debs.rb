# frozen_string_literal: true

require "fileutils"

# Small real .deb files made by dpkg-deb, for the specs.
module Debs
  # Builds `name` `version` (`arch`) under `dir` and returns its path; `salt`
  # changes its content (same name and version, another file).
  def self.build(dir, name: "app", version: "1.0", arch: "amd64", salt: "", depends: nil)
    root = File.join(dir, "tree-#{name}-#{version}-#{arch}-#{salt}")
    FileUtils.mkdir_p(File.join(root, "DEBIAN"))
    FileUtils.mkdir_p(File.join(root, "usr/share", name))
    File.write(File.join(root, "usr/share", name, "VERSION"), "#{name} #{version} #{salt}\n")
    control = +"Package: #{name}\nVersion: #{version}\nArchitecture: #{arch}\n"
    control << "Maintainer: Specs <specs@example.org>\n"
    control << "Depends: #{depends}\n" if depends
    control << "Description: #{name} for the specs\n a package built by dpkg-deb\n"
    File.write(File.join(root, "DEBIAN/control"), control)
    file_version = version.sub(/\A\d+:/, "")
    out = File.join(dir, "#{name}_#{file_version}_#{arch}#{salt.empty? ? "" : "-#{salt}"}.deb")
    system("dpkg-deb", "--root-owner-group", "--build", root, out, out: File::NULL, exception: true)
    out
  end
end
