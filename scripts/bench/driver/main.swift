// The benchmark driver: a thin executable around LoadBenchHarness.main, built as the package's
// loadbench-harness product by scripts/bench/loadbench-accuracy.sh. It adds the transports the
// LoadBench module cannot depend on: `--transport sagemaker` (SageMakerTransportMaker.swift).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoadBench

let arguments = Array(CommandLine.arguments.dropFirst())
let status = await LoadBenchHarness.main(arguments: arguments, transports: ["sagemaker": SageMakerTransportMaker.make])
if status == 0, arguments.contains("--parse-cost") {
    print("parse cost: \(ResponseStreamParseCost.measure()) ns per chunk (response stream: event-stream framing, then the same, 8 messages per read)")
}
exit(status)
