import CellbookEngine
import CellbookHTTP
import CellbookJSON
import Foundation
import PlaybookModel
import ServingKit

/// The tutorial's step 4: send messages through the Messages API and stream the answer to
/// the terminal as it arrives; publishes the answer, finish reason, usage and timings.
public struct ChatCell: CellKind {
    public static let schema = KindSchema(
        name: "chat",
        summary: "Chats with the deployed model (Messages API) and streams the answer",
        inputs: [
            .init("endpoint", .string, required: true, "the endpoint name (from the deploy cell)"),
            .init("url", .string, required: true, "the endpoint's URL (from the deploy cell)"),
            .init("messages", .list, required: true, "the conversation: a list of {role, content}"),
            .init("parameters", .object, "generation parameters: model, max_tokens, temperature, top_p, stop, seed"),
        ],
        outputs: ["content", "finish_reason", "prompt_tokens", "completion_tokens", "total_tokens",
                  "ttft_s", "latency_s", "tokens_per_s", "usage_source"])

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let deployment = try ServingTargets.deployment(context)
        var messages: [ChatMessage] = []
        for (i, m) in (context.inputs["messages"]?.arrayValue ?? []).enumerated() {
            guard let role = m["role"]?.stringValue, let content = m["content"]?.stringValue else {
                throw CellFailure("message \(i + 1) of cell '\(context.cell.id)' needs `role` and `content`")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        let p = context.inputs["parameters"]?.objectValue ?? [:]
        var sampling = JSONObject()
        for (k, v) in p.sorted(by: { $0.key < $1.key }) where !["model", "max_tokens"].contains(k) && !v.isNull {
            // An empty stop list is not sent (servers reject or ignore it).
            if k == "stop", v.arrayValue?.isEmpty == true { continue }
            sampling[k] = JSONValue(v)
        }
        let request = CompletionRequest(requestID: "cellbook-\(context.playbook.name)-\(context.cell.id)",
                                        model: p["model"]?.stringValue ?? deployment.endpointName, messages: messages,
                                        maxTokens: p["max_tokens"]?.intValue, samplingParams: sampling)
        for m in messages { context.console.line("\(m.role): \(m.content)") }
        context.console.write("assistant: ")

        let target = try ServingTargets.make(context, client: ServingTargets.client(context))
        let transport = try ServingTargets.call { try target.chatTransport(for: deployment) }
        let start = MonotonicClock.nanoseconds()
        var firstToken: UInt64?
        var content = ""
        var finish = ""
        var usage: (prompt: Int?, completion: Int?)?
        var chunks = 0
        do {
            for try await event in transport.stream(request) {
                switch event {
                case .responseHead: break
                case .chunk(let chunk):
                    if firstToken == nil { firstToken = chunk.receivedAt }
                    chunks += 1
                    content += chunk.text
                    context.console.write(chunk.text)
                case .finish(let reason): finish = reason
                case .usage(let prompt, let completion): usage = (prompt ?? usage?.prompt, completion ?? usage?.completion)
                }
            }
        } catch let e as CompletionStreamError {
            context.console.line()
            switch e {
            case .connection, .disconnected:
                throw CellFailure("cannot reach endpoint \(deployment.endpointName) at \(deployment.url): \(e)",
                                  detail: "is it still deployed? Run the deploy cell again (cellbook run … --from deploy)")
            case .inStream:
                throw CellFailure("endpoint \(deployment.endpointName) reported an error mid-stream: \(e)")
            case .httpStatus, .malformed:
                throw CellFailure("endpoint \(deployment.endpointName) refused the chat request: \(e)")
            }
        }
        let end = MonotonicClock.nanoseconds()
        context.console.line()
        guard !content.isEmpty else {
            throw CellFailure("endpoint \(deployment.endpointName) answered with no content (finish reason: \(finish.isEmpty ? "none" : finish))")
        }
        let latency = Double(end - start) / 1e9
        let ttft = Double((firstToken ?? end) - start) / 1e9
        let completion = usage?.completion ?? chunks
        let prompt = usage?.prompt ?? 0
        let decode = latency - ttft
        let tps = completion > 1 && decode > 0 ? Double(completion - 1) / decode : 0
        context.console.line(String(format: "%d prompt + %d completion tokens · time to first token %.0f ms · %.1f tokens/s · finish: %@",
                                    prompt, completion, ttft * 1000, tps, finish))
        return [
            "content": .string(content.trimmingCharacters(in: .whitespacesAndNewlines)),
            "finish_reason": .string(finish),
            "prompt_tokens": .int(prompt),
            "completion_tokens": .int(completion),
            "total_tokens": .int(prompt + completion),
            "ttft_s": .double(round3(ttft)),
            "latency_s": .double(round3(latency)),
            "tokens_per_s": .double((tps * 10).rounded() / 10),
            "usage_source": .string(usage?.completion == nil ? "counted from stream" : "server usage"),
        ]
    }
}

func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
