// The benchmark driver: a thin executable around LoadBenchHarness.main, built as the package's
// loadbench-harness product by scripts/bench/loadbench-accuracy.sh.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoadBench

let status = await LoadBenchHarness.main(arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
