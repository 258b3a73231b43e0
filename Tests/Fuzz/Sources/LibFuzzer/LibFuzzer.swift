// LibFuzzer: runs libFuzzer's driver with a Swift test function, in place of the target's main.

/// The function libFuzzer calls with each input; it returns 0 (other values are reserved).
public typealias FuzzTestFunction = @convention(c) (_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt

/// libFuzzer's own entry (`-sanitize=fuzzer` links it): parses the libFuzzer flags in argv, then
/// fuzzes, or runs the files named in argv once each, calling `callback` with every input.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzTestFunction
) -> CInt

/// Runs libFuzzer with the process's arguments; call it from the target's `<Target>_main`, which
/// SwiftPM makes the executable's entry point.
public func runLibFuzzer(
    argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: FuzzTestFunction
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, test)
}

/// The input as an array: the decoders take arrays and slices.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
