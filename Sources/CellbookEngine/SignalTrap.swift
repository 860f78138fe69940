import Dispatch
import Foundation

/// Catches SIGINT and SIGTERM for a whole run. While a cell runs, the first signal asks it to
/// stop (task cancellation); a second one, or a cell that does not stop within `grace`, forces
/// the exit. Between cells a signal stops the run before the next cell starts.
///
/// Installed once per run: libdispatch on Linux installs its forwarding handler only the first
/// time a signal source is made, so re-installing per cell would leave signals ignored.
final class SignalTrap: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0
    private var onFirst: (@Sendable () -> Void)?
    private var onForce: (@Sendable () -> Void)?
    private var requested = false
    private let grace: Double

    init(grace: Double = 10) {
        self.grace = grace
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [weak self] in self?.fire() }
            src.resume()
            sources.append(src)
        }
    }

    /// Whether a signal arrived (while no cell, or this cell, was running).
    var stopRequested: Bool { lock.lock(); defer { lock.unlock() }; return requested }

    /// Routes signals to the cell now running.
    func arm(onFirst: @escaping @Sendable () -> Void, onForce: @escaping @Sendable () -> Void) {
        lock.lock()
        self.onFirst = onFirst
        self.onForce = onForce
        count = 0
        lock.unlock()
    }

    func disarm() {
        lock.lock()
        onFirst = nil
        onForce = nil
        lock.unlock()
    }

    private func fire() {
        lock.lock()
        requested = true
        count += 1
        let n = count, first = onFirst, force = onForce
        lock.unlock()
        guard let first, let force else { return }
        if n == 1 {
            first()
            DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let stillArmed = self.onForce != nil && self.count == n
                self.lock.unlock()
                if stillArmed { force() }
            }
        } else {
            force()
        }
    }

    func cancel() {
        for s in sources { s.cancel() }
        sources.removeAll()
    }
}
