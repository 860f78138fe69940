// The benchmark driver: a thin executable around LoadBenchHarness.main.
// scripts/bench/loadbench-accuracy.sh compiles it against the release build of LoadBench;
// a package executable target with this file as its only source would do the same.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoadBench

let status = await LoadBenchHarness.main(arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
