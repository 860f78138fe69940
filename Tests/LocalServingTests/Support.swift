import Foundation
import SystemKit

/// A new folder under the temporary directory.
func temporaryFolder(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "cellbook-\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The python3 the tests run under (absolute, so a PATH without compilers still finds it).
let realPython3: String = ExecutableSearch.find("python3") ?? "/usr/bin/python3"

/// A PATH with everything in /usr/bin and /usr/local/bin except C and C++ compilers (and the
/// linker), built as a folder of links; python3's own folder stays reachable.
func pathWithoutCompiler() throws -> String {
    let folder = temporaryFolder("no-compiler-path")
    let compiler = #"^(cc|c\+\+|gcc|g\+\+|cpp|c89|c99|ld|clang.*|(gcc|g\+\+|cpp)-[0-9.]+|x86_64-linux-gnu-.*|aarch64-linux-gnu-.*)$"#
    for dir in ["/usr/local/bin", "/usr/bin"] {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name.range(of: compiler, options: .regularExpression) == nil && !FileManager.default.fileExists(atPath: "\(folder)/\(name)") {
            try? FileManager.default.createSymbolicLink(atPath: "\(folder)/\(name)", withDestinationPath: "\(dir)/\(name)")
        }
    }
    return folder
}

/// A one-file C extension as an sdist in a folder pip can use as find-links (`tinyext==1.0`):
/// its build backend has no dependencies (no index needed) and compiles ext.c with `cc`, as a
/// C extension's build does. `source` is the C file (a broken one makes a build error).
func tinyExtensionLinks(source: String = "int tinyext_answer(void) { return 42; }\n") throws -> String {
    let work = temporaryFolder("tinyext")
    let root = "\(work)/src/tinyext-1.0"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let files = [
        "pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"tinybackend\"\nbackend-path = [\".\"]\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: tinyext\nVersion: 1.0\n",
        "ext.c": source,
        "tinybackend.py": """
            # A build backend with no dependencies: compiles ext.c with the C compiler, as a C extension's build would.
            import base64, hashlib, os, shlex, subprocess, zipfile

            NAME, VERSION = "tinyext", "1.0"

            def get_requires_for_build_wheel(config_settings=None):
                return []

            def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
                subprocess.check_call(shlex.split(os.environ.get("CC", "cc")) + ["-shared", "-fPIC", "-o", "tinyext.so", "ext.c"])
                dist = f"{NAME}-{VERSION}.dist-info"
                files = {f"{NAME}/__init__.py": b"", f"{NAME}/tinyext.so": open("tinyext.so", "rb").read(),
                         f"{dist}/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode(),
                         f"{dist}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: tinybackend\\nRoot-Is-Purelib: false\\nTag: py3-none-any\\n"}
                record = "".join(f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\\n"
                                 for p, d in files.items()) + f"{dist}/RECORD,,\\n"
                name = f"{NAME}-{VERSION}-py3-none-any.whl"
                with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
                    for p, d in files.items():
                        z.writestr(p, d)
                    z.writestr(f"{dist}/RECORD", record)
                return name

            """,
    ]
    for (name, text) in files { try text.write(toFile: "\(root)/\(name)", atomically: true, encoding: .utf8) }
    let links = "\(work)/links"
    try FileManager.default.createDirectory(atPath: links, withIntermediateDirectories: true)
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    tar.arguments = ["tar", "czf", "\(links)/tinyext-1.0.tar.gz", "-C", "\(work)/src", "tinyext-1.0"]
    try tar.run()
    tar.waitUntilExit()
    guard tar.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    return links
}

/// Whether this process may mount a small tmpfs (Linux, as root, where the container allows it).
let canMountTmpfs: Bool = {
    #if os(Linux)
    guard getuid() == 0 else { return false }
    let probe = temporaryFolder("mount-probe")
    defer { try? FileManager.default.removeItem(atPath: probe) }
    guard mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount(probe)
    return true
    #else
    return false
    #endif
}()

func mountTmpfs(_ path: String, size: String) -> Bool {
    #if os(Linux)
    return mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0
    #else
    return false
    #endif
}

func unmount(_ path: String) {
    #if os(Linux)
    umount2(path, Int32(MNT_DETACH))
    #endif
}
