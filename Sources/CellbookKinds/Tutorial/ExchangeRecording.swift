import CellbookEngine
import CellbookRecording
import CellbookHTTP
import Foundation
import SystemKit

/// Feeds a cell's HTTP exchanges (as the chat-stream path and the tokenizer read them) into
/// the run's recording.
struct ExchangeRecordingObserver: HTTPExchangeObserver {
    let log: ExchangeLog

    func begin(_ request: HTTPRequest, at monotonic: UInt64) -> any HTTPExchangeTap {
        ExchangeRecordingTap(log: log, request: request, startedAt: monotonic)
    }
}

/// Collects one exchange and records it when it ends. Pieces are kept as text: a UTF-8
/// sequence split between two reads moves whole into the later piece (a byte or two arriving
/// a read later), so every piece can be masked like any other text in the recording.
final class ExchangeRecordingTap: HTTPExchangeTap, @unchecked Sendable {
    private let log: ExchangeLog
    private let method: String
    private let path: String
    private let requestBody: String
    private let startedAt: UInt64
    private let lock = NSLock()
    private var status: Int?
    private var headers: [String: String] = [:]
    private var chunks: [RecordedExchangeChunkDraft] = []
    private var carry: [UInt8] = []
    private var ended = false

    init(log: ExchangeLog, request: HTTPRequest, startedAt: UInt64) {
        self.log = log
        method = request.method
        path = Self.pathAndQuery(request.url)
        requestBody = String(decoding: request.body, as: UTF8.self)
        self.startedAt = startedAt
    }

    /// `http://host:port/a/b?q` -> `/a/b?q`.
    static func pathAndQuery(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        return String(rest[slash...])
    }

    func head(status: Int, headers: [String: String]) {
        lock.withLock {
            self.status = status
            self.headers = headers
        }
    }

    func body(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) {
        guard !bytes.isEmpty else { return }
        lock.withLock {
            var data = carry
            data.append(contentsOf: bytes)
            let cut = Self.completeUTF8Prefix(data)
            carry = Array(data[cut...])
            if cut > 0 { chunks.append(RecordedExchangeChunkDraft(receivedAt: receivedAt, bytes: Array(data[..<cut]))) }
        }
    }

    /// The length of `data` without a trailing incomplete UTF-8 sequence.
    static func completeUTF8Prefix(_ data: [UInt8]) -> Int {
        var back = 0
        while back < min(3, data.count) {
            let b = data[data.count - 1 - back]
            if b & 0xC0 == 0x80 { back += 1; continue }
            if b & 0x80 != 0 {
                let need = b & 0xE0 == 0xC0 ? 2 : b & 0xF0 == 0xE0 ? 3 : 4
                if back + 1 < need { return data.count - back - 1 }
            }
            break
        }
        return data.count
    }

    func end(error: String?, at monotonic: UInt64) {
        let drafts: [RecordedExchangeChunkDraft]? = lock.withLock {
            guard !ended else { return nil }
            ended = true
            if !carry.isEmpty { chunks.append(RecordedExchangeChunkDraft(receivedAt: monotonic, bytes: carry)) }
            return chunks
        }
        guard let drafts else { return }
        let start = startedAt
        let pieces = drafts.map {
            RecordedExchange.Chunk(dt: (Double(Int64(bitPattern: $0.receivedAt &- start)) / 1000).rounded() / 1_000_000,
                                   text: String(decoding: $0.bytes, as: UTF8.self))
        }
        log.record(startedAt: startedAt, method: method, path: path, requestBody: requestBody, status: status,
                   headers: headers, chunks: pieces, error: error, endedAt: monotonic)
    }
}

struct RecordedExchangeChunkDraft {
    var receivedAt: UInt64
    var bytes: [UInt8]
}
