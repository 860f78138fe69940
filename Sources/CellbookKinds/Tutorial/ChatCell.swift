import CellbookEngine
import CellbookHTTP
import Foundation
import PlaybookModel

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
        let endpoint = EndpointRef(name: try context.require("endpoint"), url: try context.require("url"))
        var messages: [ChatMessage] = []
        for (i, m) in (context.inputs["messages"]?.arrayValue ?? []).enumerated() {
            guard let role = m["role"]?.stringValue, let content = m["content"]?.stringValue else {
                throw CellFailure("message \(i + 1) of cell '\(context.cell.id)' needs `role` and `content`")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        let p = context.inputs["parameters"]?.objectValue ?? [:]
        var request = ChatRequest(
            model: p["model"]?.stringValue ?? endpoint.name, messages: messages,
            maxTokens: p["max_tokens"]?.intValue, temperature: p["temperature"]?.doubleValue, topP: p["top_p"]?.doubleValue,
            stop: p["stop"]?.arrayValue?.compactMap(\.stringValue) ?? [], stream: true, seed: p["seed"]?.intValue,
            includeUsage: true)
        for (k, v) in p where !["model", "max_tokens", "temperature", "top_p", "stop", "seed"].contains(k) {
            request.extra[k] = JSONValue(v)
        }
        for m in messages { context.console.line("\(m.role): \(m.content)") }
        context.console.write("assistant: ")

        let target = try ServingTargets.make(context, client: HTTPClient())
        let start = MonotonicClock.nanoseconds()
        var firstToken: UInt64?
        var content = ""
        var finish = ""
        var usage: ChatUsage?
        var chunks = 0
        do {
            for try await event in target.chatStream(endpoint, request: request) {
                switch event {
                case .delta(let text, let at):
                    if firstToken == nil, !text.isEmpty { firstToken = at }
                    if !text.isEmpty { chunks += 1 }
                    content += text
                    context.console.write(text)
                case .finish(let reason): finish = reason
                case .usage(let prompt, let completion, let total): usage = ChatUsage(prompt: prompt, completion: completion, total: total)
                case .done: break
                case .error(let message):
                    throw CellFailure("the model server reported an error mid-stream: \(message)")
                }
            }
        } catch let e as HTTPError {
            throw CellFailure("cannot reach endpoint \(endpoint.name) at \(endpoint.url): \(e)",
                              detail: "is it still deployed? Run the deploy cell again (cellbook run … --from deploy)")
        } catch let e as ChatError {
            throw CellFailure("endpoint \(endpoint.name) refused the chat request: \(e)")
        }
        let end = MonotonicClock.nanoseconds()
        context.console.line()
        guard !content.isEmpty else {
            throw CellFailure("endpoint \(endpoint.name) answered with no content (finish reason: \(finish.isEmpty ? "none" : finish))")
        }
        let latency = Double(end - start) / 1e9
        let ttft = Double((firstToken ?? end) - start) / 1e9
        let completion = usage?.completion ?? chunks
        let decode = latency - ttft
        let tps = completion > 1 && decode > 0 ? Double(completion - 1) / decode : 0
        context.console.line(String(format: "%d prompt + %d completion tokens · time to first token %.0f ms · %.1f tokens/s · finish: %@",
                                    usage?.prompt ?? 0, completion, ttft * 1000, tps, finish))
        return [
            "content": .string(content.trimmingCharacters(in: .whitespacesAndNewlines)),
            "finish_reason": .string(finish),
            "prompt_tokens": .int(usage?.prompt ?? 0),
            "completion_tokens": .int(completion),
            "total_tokens": .int(usage?.total ?? completion),
            "ttft_s": .double(round3(ttft)),
            "latency_s": .double(round3(latency)),
            "tokens_per_s": .double((tps * 10).rounded() / 10),
            "usage_source": .string(usage == nil ? "counted from stream" : "server usage"),
        ]
    }
}

func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
