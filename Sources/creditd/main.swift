// creditd: read the command line and config, then serve. Everything else lives in CreditServer.

import CreditServer
import Foundation

let usage = """
    usage: creditd --config PATH [--listen HOST:PORT|off] [--listen-tls HOST:PORT|off] [--data DIR]
           creditd verify --config PATH [--data DIR]
           creditd restore --config PATH --from BACKUP_DIR [--data DIR]
           creditd keys add --file KEYS_FILE --id ID --role admin|staff|pos|gateway|portal
    """

func parseArguments(_ arguments: [String]) throws -> ServerConfig {
    var configPath: String?
    var listen: String?
    var listenTLS: String?
    var data: String?
    var index = 1
    while index < arguments.count {
        let flag = arguments[index]
        guard index + 1 < arguments.count else { throw ServerArgumentError("\(flag) needs a value\n\(usage)") }
        let value = arguments[index + 1]
        switch flag {
        case "--config": configPath = value
        case "--listen": listen = value
        case "--listen-tls": listenTLS = value
        case "--data": data = value
        default: throw ServerArgumentError("unknown option \(flag)\n\(usage)")
        }
        index += 2
    }
    guard let configPath else { throw ServerArgumentError(usage) }
    var config = try ServerConfig.load(path: configPath)
    if let listen {
        if listen == "off" { config.plainListenEnabled = false } else { try config.setListen(listen, place: "--listen") }
    }
    if let listenTLS { try config.setListenTLS(listenTLS, place: "--listen-tls") }
    if let data { config.dataDirectory = data }
    return config
}

struct ServerArgumentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `creditd keys add --file F --id I --role R`: prints the new secret once.
func addKey(_ arguments: [String]) throws {
    var options: [String: String] = [:]
    var index = 0
    while index + 1 < arguments.count, arguments[index].hasPrefix("--") {
        options[String(arguments[index].dropFirst(2))] = arguments[index + 1]
        index += 2
    }
    guard index == arguments.count, let file = options["file"], let id = options["id"], let role = options["role"],
          options.count == 3
    else { throw ServerArgumentError(usage) }
    let secret = try KeyAdmin.add(file: file, id: id, role: role)
    print("key \(id) (\(role)) added to \(file); its secret, shown only now:\n\(secret)")
    print("send SIGHUP to a running creditd to load it")
}

/// `creditd restore --config PATH --from BACKUP_DIR [--data DIR]`: exits 0 only if the restored
/// directory passes every check of `creditd verify`.
func restore(_ arguments: [String]) throws {
    guard let flag = arguments.firstIndex(of: "--from"), flag + 1 < arguments.count else { throw ServerArgumentError(usage) }
    var rest = arguments
    let backup = rest.remove(at: flag + 1)
    rest.remove(at: flag)
    let result = try Restore.run(from: backup, config: try parseArguments(["creditd"] + rest))
    for line in result.lines { print(line) }
    exit(result.ok ? 0 : 1)
}

do {
    let arguments = CommandLine.arguments
    if arguments.count >= 3 && arguments[1] == "keys" && arguments[2] == "add" {
        try addKey(Array(arguments.dropFirst(3)))
    } else if arguments.count >= 2 && arguments[1] == "restore" {
        try restore(Array(arguments.dropFirst(2)))
    } else if arguments.count >= 2 && arguments[1] == "verify" {
        let result = try Verify.run(config: try parseArguments([arguments[0]] + arguments.dropFirst(2)))
        for line in result.lines { print(line) }
        exit(result.ok ? 0 : 1)
    } else {
        try Server.run(config: try parseArguments(arguments))
    }
} catch {
    FileHandle.standardError.write(Data("creditd: \(error)\n".utf8))
    exit(1)
}
