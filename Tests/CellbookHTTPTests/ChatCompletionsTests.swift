import CellbookHTTP
import Foundation
import Testing

private func decode(_ data: String, at receivedAt: UInt64 = 7) throws -> [ChatStreamEvent] {
    try ChatStreamEvent.decode(SSEEvent(data: data, receivedAt: receivedAt))
}

@Suite("Chat stream chunks")
struct ChatStreamEventTests {
    @Test("OpenAI: role-only first chunk, content, finish, usage chunk with empty choices, [DONE]")
    func openAIChunks() throws {
        let first = #"{"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#
        let content = #"{"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" Deep"},"logprobs":null,"finish_reason":null}],"usage":null}"#
        let finish = #"{"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#
        let usage = #"{"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}}"#
        #expect(try decode(first).isEmpty)
        #expect(try decode(content, at: 99) == [.delta(content: " Deep", receivedAt: 99)])
        #expect(try decode(finish) == [.finish(reason: "stop")])
        #expect(try decode(usage) == [.usage(prompt: 12, completion: 34, total: 46)])
        #expect(try decode("[DONE]") == [.done])
    }

    @Test("TGI: chunks with usage null, stop_sequence finish, final usage")
    func tgiChunks() throws {
        let token = #"{"object":"chat.completion.chunk","id":"","created":1717171717,"model":"meta-llama/Meta-Llama-3-8B-Instruct","system_fingerprint":"2.0.4-sha-f426a33","choices":[{"index":0,"delta":{"role":"assistant","content":" learning"},"logprobs":null,"finish_reason":null}],"usage":null}"#
        let last = #"{"object":"chat.completion.chunk","id":"","created":1717171717,"model":"meta-llama/Meta-Llama-3-8B-Instruct","system_fingerprint":"2.0.4-sha-f426a33","choices":[{"index":0,"delta":{"role":"assistant","content":"</s>"},"logprobs":null,"finish_reason":"stop_sequence"}],"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}}"#
        #expect(try decode(token) == [.delta(content: " learning", receivedAt: 7)])
        #expect(try decode(last) == [
            .delta(content: "</s>", receivedAt: 7), .finish(reason: "stop_sequence"),
            .usage(prompt: 20, completion: 7, total: 27),
        ])
    }

    @Test("TGI: a validation error sent as data with HTTP 200")
    func tgiErrorEvent() throws {
        let error = #"{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}"#
        let events = try decode(error)
        #expect(events.count == 1)
        guard case .error(let message) = events.first else {
            Issue.record("expected an error event, got \(events)")
            return
        }
        #expect(message.hasPrefix("Input validation error"))
    }

    @Test("OpenAI-style error object gives its message")
    func errorObject() throws {
        let error = #"{"error":{"message":"The model `llama-9` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#
        #expect(try decode(error) == [.error(message: "The model `llama-9` does not exist")])
        let bare = #"{"error":{"code":500,"type":"server_error"}}"#
        guard case .error(let message) = try decode(bare).first else {
            Issue.record("expected an error event")
            return
        }
        #expect(message.contains("server_error"))
    }

    @Test("llama-server: one final chunk with finish_reason, usage and timings")
    func llamaServerFinalChunk() throws {
        let last = #"{"choices":[{"finish_reason":"length","index":0,"delta":{}}],"created":1718000000,"id":"chatcmpl-QhVZ","model":"SmolLM2-135M-Instruct","system_fingerprint":"b4500-adc7a7b","object":"chat.completion.chunk","usage":{"completion_tokens":128,"prompt_tokens":31,"total_tokens":159},"timings":{"prompt_n":31,"prompt_ms":40.5,"prompt_per_token_ms":1.3,"prompt_per_second":765.4,"predicted_n":128,"predicted_ms":1180.2,"predicted_per_token_ms":9.2,"predicted_per_second":108.4}}"#
        #expect(try decode(last) == [.finish(reason: "length"), .usage(prompt: 31, completion: 128, total: 159)])
    }

    @Test("a payload that is not JSON is reported with the payload's start")
    func malformedPayload() {
        #expect {
            try decode("{not json")
        } throws: { error in
            guard let error = error as? ChatError, case .malformedPayload(_, _, let excerpt) = error else { return false }
            return excerpt == "{not json"
        }
    }
}

@Suite("ChatRequest encoding")
struct ChatRequestTests {
    private func object(_ request: ChatRequest) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(request.encoded())) as? [String: Any] ?? [:]
    }

    @Test("all fields use the wire names; unset ones are left out")
    func fields() throws {
        let full = try object(ChatRequest(
            model: "tgi", messages: [.system("Be brief."), .user("What is deep learning?")],
            maxTokens: 150, temperature: 0.7, topP: 0.9, stop: ["</s>"], stream: true, seed: 42,
            includeUsage: true))
        #expect(full["model"] as? String == "tgi")
        #expect(full["max_tokens"] as? Int == 150)
        #expect(full["temperature"] as? Double == 0.7)
        #expect(full["top_p"] as? Double == 0.9)
        #expect(full["stop"] as? [String] == ["</s>"])
        #expect(full["seed"] as? Int == 42)
        #expect(full["stream"] as? Bool == true)
        #expect((full["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        let messages = full["messages"] as? [[String: String]]
        #expect(messages == [["role": "system", "content": "Be brief."], ["role": "user", "content": "What is deep learning?"]])

        let minimal = try object(ChatRequest(model: "m", messages: [.user("hi")], stream: false, includeUsage: true))
        #expect(Set(minimal.keys) == ["model", "messages", "stream"])
    }

    @Test("extra parameters are merged last and may override")
    func extra() throws {
        let request = ChatRequest(
            model: "m", messages: [.user("hi")], temperature: 0.1,
            extra: ["temperature": 0.5, "repetition_penalty": 1.1, "logit_bias": ["50256": -100]])
        let body = try object(request)
        #expect(body["temperature"] as? Double == 0.5)
        #expect(body["repetition_penalty"] as? Double == 1.1)
        #expect((body["logit_bias"] as? [String: Int])?["50256"] == -100)
    }

    @Test("equal requests encode to equal bytes")
    func deterministic() throws {
        let request = ChatRequest(model: "m", messages: [.user("hi")], maxTokens: 3, extra: ["b": 1, "a": 2])
        #expect(try request.encoded() == request.encoded())
        #expect(String(decoding: try request.encoded(), as: UTF8.self).hasPrefix(#"{"a":2,"b":1,"max_tokens":3"#))
    }
}

@Suite("JSON values")
struct JSONTests {
    @Test("decoding keeps each JSON type apart")
    func decodeTypes() throws {
        let text = #"{"i": 1, "d": 1.5, "b": true, "n": null, "s": "x", "a": [1, "y"], "o": {"k": false}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value == [
            "i": .int(1), "d": .double(1.5), "b": .bool(true), "n": .null, "s": "x", "a": [1, "y"], "o": ["k": false],
        ])
        #expect(value["i"]?.intValue == 1)
        #expect(value["d"]?.doubleValue == 1.5)
        #expect(value["s"]?.stringValue == "x")
    }

    @Test("encoding and decoding round-trip")
    func roundTrip() throws {
        let value: JSONValue = ["x": [1, 2.25, "three", nil, true], "y": ["z": -7]]
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: encoded) == value)
    }
}
