// Fuzzes EntryCodec.decode: any bytes must throw DecodeError or decode, never trap; whatever
// decodes must re-encode to the same bytes and decode again to the same entry.

import CreditCore
import CreditJournal
import LibFuzzer

@_cdecl("FuzzEntryDecoder_main")
func fuzzEntryDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        checkEntryDecoding(fuzzInput(data, size))
        return 0
    }
}

/// One input: decode, then check what the decoder promises about what it accepts.
func checkEntryDecoding(_ bytes: [UInt8]) {
    let outcome = decodeEntry(bytes[...])
    // A record body is a slice of a segment buffer: offsets and results must not depend on where
    // the slice starts.
    let padded = [0xA5] + bytes + [0x5A]
    precondition(decodeEntry(padded[1..<(padded.count - 1)]) == outcome, "decoding depends on the slice's start index")
    guard case .success(let entry) = outcome else { return }
    let encoded = EntryCodec.encode(entry)
    precondition(decodeEntry(encoded[...]) == .success(entry), "a decoded entry does not survive re-encoding")
    // The codec claims one encoding per entry: everything it accepts is exactly what it writes.
    precondition(encoded == bytes, "the decoder accepted a non-canonical encoding")
}

/// The decoder's answer as a value, so answers can be compared.
func decodeEntry(_ body: ArraySlice<UInt8>) -> Result<Entry, DecodeError> {
    do throws(DecodeError) {
        return .success(try EntryCodec.decode(body))
    } catch {
        return .failure(error)
    }
}
