import Foundation
import LocalServing
import Testing

@Suite("RuntimeBuild: the first build's settings")
struct RuntimeBuildTests {
    @Test("CMAKE_ARGS: the options, the server-only script (quoted for shlex), then the user's own")
    func arguments() {
        let plain = RuntimeBuild.cmakeArguments(directory: "/c/runtimes/llama-server-11434.0.0", user: nil)
        #expect(plain == RuntimeBuild.baseArguments + " '-DCMAKE_PROJECT_INCLUDE=/c/runtimes/llama-server-11434.0.0/only-llama-server.cmake'")
        for option in ["-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_APP=OFF"] {
            #expect(plain.contains(option))
        }
        #expect(!plain.contains("UNITY"), "a unity build fails in mtmd")
        let user = RuntimeBuild.cmakeArguments(directory: "/it's here", user: "-DGGML_NATIVE=OFF")
        #expect(user.hasSuffix(#" '-DCMAKE_PROJECT_INCLUDE=/it'\''s here/only-llama-server.cmake' -DGGML_NATIVE=OFF"#))
        #expect(RuntimeBuild.cmakeArguments(directory: "/d", user: "  ") == RuntimeBuild.cmakeArguments(directory: "/d", user: nil))
    }

    @Test("the script is written beside the runtime and leaves out every target llama-server does not link")
    func script() throws {
        let folder = temporaryFolder("runtime-build")
        try RuntimeBuild.writeScript(into: folder)
        let text = try String(contentsOfFile: "\(folder)/\(RuntimeBuild.fileName)", encoding: .utf8)
        #expect(text.contains("cmake_language(DEFER DIRECTORY"))
        #expect(text.contains("EXCLUDE_FROM_ALL ON"))
        #expect(text.contains(#"NOT dep MATCHES "^\\$<""#))
    }
}
