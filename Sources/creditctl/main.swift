// creditctl: the admin command-line tool for creditd, built on CreditClient.

import Glibc

exit(CreditCtl.run(arguments: Array(CommandLine.arguments.dropFirst()), environment: Environment.current()).rawValue)
