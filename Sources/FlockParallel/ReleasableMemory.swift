import Foundation

/// A flat buffer (gradients, or under ZeRO stage 3 parameter values) in private anonymous
/// pages that can be handed back to the kernel: ZeRO stage 2 releases a bucket's
/// gradients once they are packed for the reduce-scatter, so a rank holds the whole
/// model's gradients only while backward makes them; stage 3 releases a layer's gathered
/// values once it has run.
///
/// Released pages read as zeros on the next touch (`MADV_DONTNEED` on a private anonymous
/// mapping), which is what the next backward accumulates into; elements that share a page
/// with values still in use are set to zero instead. With `hugePages` the mapping asks for
/// transparent huge pages and releases whole 2 MB pages only: refaulting a released range
/// then costs one fault per 2 MB instead of one per 4 KB (on this VM, 4 KB faults made
/// stage 2 several times slower than stage 1), at the price of the partly used huge pages
/// at each range's ends staying resident.
final class ReleasableMemory {
    let buffer: UnsafeMutableBufferPointer<Float>
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int
    /// The granule released: a transparent huge page, or the base page.
    private let pageSize: Int

    /// `count` zeroed Floats, not yet resident, starting on a page boundary.
    init(count: Int, hugePages: Bool) throws {
        pageSize = hugePages ? 2 << 20 : Int(sysconf(Int32(_SC_PAGESIZE)))
        mappedBytes = max(count, 1) * MemoryLayout<Float>.stride + pageSize
        let address = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else {
            throw ReleasableMemoryError(description: "could not map \(mappedBytes) bytes: \(String(cString: strerror(errno)))")
        }
        mapping = address
        let page = UInt(pageSize)
        let aligned = UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: address) + page - 1) / page * page)!
        // Advice only: without transparent huge pages the kernel keeps base pages.
        if hugePages { _ = madvise(address, mappedBytes, MADV_HUGEPAGE) }
        buffer = UnsafeMutableBufferPointer(start: aligned.assumingMemoryBound(to: Float.self), count: count)
    }

    deinit { munmap(mapping, mappedBytes) }

    /// Sets `range` (elements) to zero, giving its whole pages back to the kernel.
    func release(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let stride = MemoryLayout<Float>.stride
        let start = UInt(bitPattern: buffer.baseAddress! + range.lowerBound)
        let end = UInt(bitPattern: buffer.baseAddress! + range.upperBound)
        let page = UInt(pageSize)
        let firstWhole = (start + page - 1) / page * page, lastWhole = end / page * page
        guard firstWhole < lastWhole else {
            UnsafeMutableBufferPointer(rebasing: buffer[range]).update(repeating: 0)
            return
        }
        let headCount = Int(firstWhole - start) / stride, tailCount = Int(end - lastWhole) / stride
        UnsafeMutableBufferPointer(rebasing: buffer[range.lowerBound..<(range.lowerBound + headCount)]).update(repeating: 0)
        UnsafeMutableBufferPointer(rebasing: buffer[(range.upperBound - tailCount)..<range.upperBound]).update(repeating: 0)
        madvise(UnsafeMutableRawPointer(bitPattern: firstWhole), Int(lastWhole - firstWhole), MADV_DONTNEED)
    }
}

/// The memory could not be mapped.
struct ReleasableMemoryError: Error, CustomStringConvertible {
    let description: String
}
