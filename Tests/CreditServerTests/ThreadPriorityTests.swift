// Proves the C shim's priority call lowers only the calling thread's priority, by the steps asked
// (the snapshot thread uses it to stay behind the event loop), and stops at nice 19.

import CEpoll
import Foundation
import Glibc
import Synchronization
import Testing

/// The calling thread's nice value, from /proc/thread-self/stat (field 19).
private func threadNice() -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after the command name: state is field 3, so nice (19) is the 17th.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 16 ? Int(fields[16]) : nil
}

/// Runs `body` on a new thread and returns what it returned (also for the CPU pinning tests).
func onNewThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        let value = body()
        result.withLock { $0 = value }
        done.signal()
    }
    thread.start()
    done.wait()
    return result.withLock { $0! }
}

@Test func loweringAThreadsPriorityLeavesTheOtherThreadsAlone() {
    let mine = threadNice()
    #expect(mine != nil)
    let (status, before, after) = onNewThread { () -> (Int32, Int?, Int?) in
        let before = threadNice()
        let status = cepoll_lower_thread_priority(10)
        return (status, before, threadNice())
    }
    #expect(status == 0)
    #expect(before != nil && after == min(before! + 10, 19))
    #expect(threadNice() == mine)
}

@Test func aThreadsPriorityStopsAtNice19() {
    let (first, second, after) = onNewThread { () -> (Int32, Int32, Int?) in
        (cepoll_lower_thread_priority(15), cepoll_lower_thread_priority(15), threadNice())
    }
    #expect(first == 0 && second == 0 && after == 19)
}
