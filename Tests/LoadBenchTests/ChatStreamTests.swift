@testable import ServingKit
import CellbookJSON
import CellbookHTTP
import Testing
@testable import LoadBench

struct ChatStreamTests {
    @Test("content, finish reason and usage are read from chunks")
    func scansChunks() throws {
        let chunk = #"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":" fair"},"logprobs":null,"finish_reason":null}]}"#
        #expect(try ChatChunkScanner.scan(chunk) == ChatChunkFields(content: " fair"))
        let last = #"{"choices":[{"delta":{"content":"!"},"finish_reason":"length"}],"usage":{"prompt_tokens":551,"completion_tokens":150,"total_tokens":701}}"#
        #expect(try ChatChunkScanner.scan(last) == ChatChunkFields(content: "!", finishReason: "length",
                                                                    promptTokens: 551, completionTokens: 150))
        let usageOnly = #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#
        #expect(try ChatChunkScanner.scan(usageOnly) == ChatChunkFields(promptTokens: 12, completionTokens: 3))
        let escaped = #"{"choices":[{"delta":{"content":"line\n\"quoted\" \u00e9\ud83d\ude00"}}]}"#
        #expect(try ChatChunkScanner.scan(escaped).content == "line\n\"quoted\" é😀")
        let nullContent = #"{"choices":[{"delta":{"content":null},"finish_reason":"stop"}],"usage":null}"#
        #expect(try ChatChunkScanner.scan(nullContent) == ChatChunkFields(finishReason: "stop"))
    }

    @Test("error events in both TGI's and OpenAI's shape")
    func scansErrors() throws {
        let tgi = #"{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096","error_type":"validation"}"#
        #expect(try ChatChunkScanner.scan(tgi).errorMessage?.hasPrefix("Input validation error") == true)
        #expect(try ChatChunkScanner.scan(tgi).errorCode == nil)
        let openAI = #"{"error":{"message":"overloaded","type":"server_error","code":429}}"#
        let fields = try ChatChunkScanner.scan(openAI)
        #expect(fields.errorMessage == "overloaded")
        #expect(fields.errorCode == 429)
    }

    @Test("malformed chunks are reported, not crashed on")
    func malformed() {
        #expect(throws: CompletionStreamError.self) { try ChatChunkScanner.scan(#"{"choices":[{"delta":"#) }
        #expect(throws: CompletionStreamError.self) { try ChatChunkScanner.scan("not json") }
    }

    @Test("the interpreter turns SSE bytes split anywhere into completion events")
    func interpreterAcrossSplits() throws {
        let stream = "data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
            + "data: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\n"
            + ": keep-alive\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n"
            + "data: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        for split in [1, 7, 40, 61, bytes.count - 3] {
            var interpreter = ChatStreamInterpreter()
            var events = try interpreter.feed(Array(bytes[..<split]), receivedAt: 10)
            events += try interpreter.feed(Array(bytes[split...]), receivedAt: 20)
            events += try interpreter.finish()
            let chunks = events.compactMap { event -> String? in
                if case .chunk(let chunk) = event { return chunk.text }
                return nil
            }
            #expect(chunks == ["a", "b"], "split at \(split)")
            #expect(events.contains(.finish(reason: "length")))
            #expect(events.contains(.usage(promptTokens: 7, completionTokens: 2)))
            #expect(interpreter.sawDone)
        }
    }

    @Test("a stream that stops before [DONE] or a finish reason counts as a disconnect")
    func truncatedStream() throws {
        var interpreter = ChatStreamInterpreter()
        _ = try interpreter.feed(Array("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n".utf8), receivedAt: 1)
        #expect(throws: CompletionStreamError.self) { try interpreter.finish() }
    }

    @Test("an in-stream error event ends the stream with the server's code and message")
    func inStreamError() {
        var interpreter = ChatStreamInterpreter()
        let bytes = Array("data:{\"error\":{\"message\":\"boom\",\"code\":424}}\n\n".utf8)
        #expect(throws: CompletionStreamError.inStream(code: 424, message: "boom")) {
            try interpreter.feed(bytes, receivedAt: 1)
        }
    }

    @Test("the request body is llmperf's: empty system message, user prompt, params merged last")
    func requestBody() {
        let transport = OpenAIChatTransport(client: sharedHTTPClient, url: "http://127.0.0.1:1/v1/chat/completions")
        let request = CompletionRequest(requestID: "r", model: "tgi", prompt: "Hello", maxTokens: 9,
                                        samplingParams: ["max_tokens": .int(9), "temperature": .double(0.2)])
        let body = JSONValue.object(transport.body(for: request)).serialized()
        #expect(body == #"{"model": "tgi", "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hello"}], "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 9, "temperature": 0.2}"#)
    }
}
