// creditd: read the command line and config, then serve. Everything else lives in CreditServer.

import CreditServer
import Foundation

let usage = "usage: creditd --config PATH [--listen HOST:PORT] [--data DIR]"

func parseArguments(_ arguments: [String]) throws -> ServerConfig {
    var configPath: String?
    var listen: String?
    var data: String?
    var index = 1
    while index < arguments.count {
        let flag = arguments[index]
        guard index + 1 < arguments.count else { throw ServerArgumentError("\(flag) needs a value\n\(usage)") }
        let value = arguments[index + 1]
        switch flag {
        case "--config": configPath = value
        case "--listen": listen = value
        case "--data": data = value
        default: throw ServerArgumentError("unknown option \(flag)\n\(usage)")
        }
        index += 2
    }
    guard let configPath else { throw ServerArgumentError(usage) }
    var config = try ServerConfig.load(path: configPath)
    if let listen { try config.setListen(listen, place: "--listen") }
    if let data { config.dataDirectory = data }
    return config
}

struct ServerArgumentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

do {
    try Server.run(config: try parseArguments(CommandLine.arguments))
} catch {
    FileHandle.standardError.write(Data("creditd: \(error)\n".utf8))
    exit(1)
}
