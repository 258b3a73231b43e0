// JoinableThread: a pthread that can be joined, for the journal's background writer.

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread that runs one closure and can be joined. Foundation's `Thread` cannot be
/// joined, and `JournalWriter.close()` must not return before its writer has synced and exited.
struct JoinableThread: Sendable {
    /// The running thread.
    private let handle: pthread_t

    /// Starts a thread running `body`; `name` identifies it in errors.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(JournalIOError) -> JoinableThread {
        let context = Unmanaged.passRetained(ThreadContext(body: body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { raw in
            let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
            context.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            throw JournalIOError(operation: "pthread_create", path: name, code: result)
        }
        return JoinableThread(handle: handle)
    }

    /// Waits for the thread to finish. Call exactly once.
    func join() {
        let result = pthread_join(handle, nil)
        precondition(result == 0, "pthread_join failed with errno \(result): joined twice, or by the thread itself")
    }
}

/// What a new thread runs, passed through pthread_create's context pointer.
private final class ThreadContext: Sendable {
    let body: @Sendable () -> Void

    init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}
