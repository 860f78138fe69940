// The benchmark driver: a thin executable around LoadBenchHarness.main, built as the package's
// loadbench-harness product by scripts/bench/loadbench-accuracy.sh. It adds the transports the
// LoadBench module cannot depend on: `--transport sagemaker` (SageMakerTransportMaker.swift).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoadBench

let status = await LoadBenchHarness.main(arguments: Array(CommandLine.arguments.dropFirst()),
                                         transports: ["sagemaker": SageMakerTransportMaker.make])
exit(status)
