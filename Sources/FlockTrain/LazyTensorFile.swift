import FlockParallel
import Foundation

/// A checkpoint's tensor file opened for reading by ranges: its header and placements are
/// read (and their blocks checked) at once, values only when a rank asks for its part, so
/// loading a checkpoint of a model larger than one rank reads only that rank's bytes.
public final class LazyTensorFile {
    let reader: VerifiedFileReader
    let header: SafeTensors.Header
    /// Each tensor's place in the global tensor (whole when the file names none).
    let placements: [String: ShardPlacement]

    var path: String { reader.path }

    init(path: String, digests: BlockDigests) throws {
        reader = try VerifiedFileReader(path: path, digests: digests)
        let headerLength = try SafeTensors.headerLength(try reader.bytes(0..<min(8, digests.bytes)), fileBytes: digests.bytes, path: path)
        header = try SafeTensors.Header(try reader.bytes(8..<(8 + headerLength)), dataBytes: digests.bytes - 8 - headerLength, path: path)
        reader.forgetBlock()
        let named = try ShardedState.placements(in: header.metadata, path: path)
        var placements: [String: ShardPlacement] = [:]
        for (name, entry) in header.entries {
            let placement = named[name] ?? .whole(entry.shape)
            guard placement.localShape == entry.shape, placement.fitsItsGlobalShape else {
                throw Checkpoint.LoadError(description: "\(path): \(name) has shape \(entry.shape), which does not fit its placement \(placement.describe)")
            }
            placements[name] = placement
        }
        self.placements = placements
    }

    /// Copies what this file holds of tensor `name` within `wanted` into `local` (laid out
    /// as `wanted.localShape`); returns the local ranges it filled. The block kept for the
    /// tensor's runs is let go after it.
    func read(_ name: String, within wanted: ShardPlacement, into local: UnsafeMutableBufferPointer<Float>) throws -> [Range<Int>] {
        guard let entry = header.entries[name], let placement = placements[name] else { return [] }
        var filled: [Range<Int>] = []
        defer { reader.forgetBlock() }
        let base = header.dataStart + entry.bytes.lowerBound
        try placement.forEachOverlap(with: wanted) { fileStart, localStart, count in
            // safetensors is little-endian, as is every CPU Flock runs on.
            try reader.read((base + 4 * fileStart)..<(base + 4 * (fileStart + count)), into: UnsafeMutableRawPointer(local.baseAddress! + localStart))
            filled.append(localStart..<(localStart + count))
        }
        return filled
    }
}
