// creditd-crashtest: kill -9 creditd under concurrent load, again and again, and prove nothing acknowledged is lost.

import Foundation

killDaemonOnInterrupt()
do throws(UsageError) {
    let options = try Options.parse(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
    exit(Harness(options: options).run())
} catch {
    emit(error.description)
    exit(error.isHelp ? 0 : 2)
}
