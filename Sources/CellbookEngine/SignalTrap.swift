import Dispatch
import Foundation

/// Catches SIGINT and SIGTERM while a cell runs: the first asks the cell to stop (task
/// cancellation), a second, or a cell that does not stop within `grace`, forces the exit.
final class SignalTrap: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    init(grace: Double = 10, onFirst: @escaping @Sendable () -> Void, onForce: @escaping @Sendable () -> Never) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                self.count += 1
                let n = self.count
                self.lock.unlock()
                if n == 1 {
                    onFirst()
                    DispatchQueue.global().asyncAfter(deadline: .now() + grace) { onForce() }
                } else {
                    onForce()
                }
            }
            src.resume()
            sources.append(src)
        }
    }

    func cancel() {
        for s in sources { s.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
