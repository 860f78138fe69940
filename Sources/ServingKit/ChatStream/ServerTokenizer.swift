import CellbookHTTP
import CellbookJSON

/// Counts tokens with a server's own tokenizer, so prompts can be sized in that server's tokens.
public protocol PromptTokenCounter: Sendable {
    func countTokens(_ text: String) async throws -> Int
}

/// llama.cpp's llama-server tokenizer route: `POST /tokenize {"content": ...}` -> `{"tokens": [...]}`.
public struct ServerTokenizer: PromptTokenCounter {
    public let client: HTTPClient
    /// The full tokenize URL, e.g. `http://127.0.0.1:8080/tokenize`.
    public let url: String

    public init(client: HTTPClient, url: String) {
        self.client = client
        self.url = url
    }

    public func countTokens(_ text: String) async throws -> Int {
        let request = HTTPRequest(method: "POST", url: url, headers: ["Content-Type": "application/json"],
                                  body: Array(JSONValue.object(["content": .string(text)]).serialized().utf8))
        let tap = client.observer?.begin(request, at: MonotonicClock.nanoseconds())
        let response: HTTPResponse
        do {
            response = try await client.send(request)
        } catch {
            tap?.end(error: "\(error)", at: MonotonicClock.nanoseconds())
            throw error
        }
        if let tap {
            let now = MonotonicClock.nanoseconds()
            tap.head(status: response.status, headers: response.headers)
            response.body.withUnsafeBytes { tap.body($0, receivedAt: now) }
            tap.end(error: nil, at: now)
        }
        guard response.isSuccess else {
            throw CompletionStreamError.httpStatus(code: response.status, body: String(response.bodyText.prefix(300)))
        }
        if case .object(let object) = try JSONValue.parse(bytes: response.body), case .array(let tokens)? = object["tokens"] {
            return tokens.count
        }
        throw CompletionStreamError.malformed(detail: "\(url) answered \(String(response.bodyText.prefix(200))), not a token list")
    }
}
