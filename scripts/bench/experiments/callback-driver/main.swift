import CellbookHTTP
import LoadBench
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

final class User: @unchecked Sendable {
    var interpreter = ChatStreamInterpreter()
    var chunks: [UInt64] = []
    var all: [[UInt64]] = []
    var remaining: Int
    init(remaining: Int) { self.remaining = remaining }
}

let args = CommandLine.arguments
let url = args[1]; let streams = Int(args[2])!; let requests = Int(args[3])!; let maxTokens = Int(args[4])!
let client = HTTPClient()
let done = DispatchSemaphore(value: 0)
let body = Array("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,\"max_tokens\":\(maxTokens)}".utf8)
final class Counter: @unchecked Sendable { var value = 0 }
let counter = Counter(); counter.value = streams

nonisolated(unsafe) let sharedCounter = counter
func start(_ user: User) {
    user.interpreter = ChatStreamInterpreter()
    user.chunks = []
    user.chunks.reserveCapacity(maxTokens + 1)
    client.stream(HTTPRequest(method: "POST", url: url, headers: ["Content-Type": "application/json"], body: body),
                  callbacks: StreamCallbacks(onHead: { _ in }, onBody: { bytes, at in
        do {
            for event in try user.interpreter.feed(Array(bytes), receivedAt: at) {
                if case .chunk(let c) = event { user.chunks.append(c.receivedAt) }
            }
        } catch { return false }
        return true
    }, onFinish: { _ in
        user.all.append(user.chunks)
        user.remaining -= 1
        if user.remaining > 0 { start(user) } else {
            sharedCounter.value -= 1   // loop thread only
            if sharedCounter.value == 0 { done.signal() }
        }
    }))
}
let users = (0..<streams).map { _ in User(remaining: requests) }
let t0 = MonotonicClock.nanoseconds()
for u in users { start(u) }
done.wait()
let wall = Double(MonotonicClock.nanoseconds() - t0) / 1e9
let total = users.reduce(0) { $0 + $1.all.reduce(0) { $0 + $1.count } }
print("chunks \(total) wall \(wall) rate \(Double(total) / wall)")
