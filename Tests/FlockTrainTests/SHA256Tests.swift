import Foundation
import Testing
@testable import FlockTrain

/// Checkpoint checksums against the FIPS 180-4 example vectors (the one-block, empty and
/// million-`a` ones are in CheckpointTests), whole and streamed in uneven chunks.
@Suite struct SHA256Tests {
    static let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
    static let twoBlocksDigest = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

    @Test func aTwoBlockMessageMatchesTheFIPSVector() {
        #expect(SHA256.hex(of: Self.twoBlocks) == Self.twoBlocksDigest)
        #expect(SHA256.hex(of: Data(Self.twoBlocks)) == Self.twoBlocksDigest)
    }

    @Test func chunksOfAnySizeGiveTheDigestOfTheWhole() {
        // One million `a`s fed 1, 63, 64, 65, ... bytes at a time.
        var hasher = SHA256()
        var fed = 0, piece = 1
        while fed < 1_000_000 {
            let count = min(piece, 1_000_000 - fed)
            hasher.update(Data(repeating: UInt8(ascii: "a"), count: count))
            fed += count
            piece = piece == 1 ? 63 : piece + 1
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
