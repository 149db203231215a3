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
/// at each range's ends staying resident. With `recyclesPages`, a range about to be
/// overwritten whole gets resident pages moved in from a pool (``RecycledPages``), and
/// giving it back moves them out again, so no page is faulted or zeroed on the way.
final class ReleasableMemory {
    let buffer: UnsafeMutableBufferPointer<Float>
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int
    /// The granule released: a transparent huge page, or the base page.
    private let pageSize: Int
    private let recycled: RecycledPages?
    /// Runs of this buffer holding the pool's pages, until given back.
    private var lent: [LentPages] = []

    /// `count` zeroed Floats, not yet resident, starting on a page boundary.
    init(count: Int, hugePages: Bool, recyclesPages: Bool = false) throws {
        recycled = recyclesPages && !hugePages ? RecycledPages() : nil
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

    /// Makes the whole pages of `range` (elements) resident with the pool's pages before
    /// every element of it is overwritten: what they hold until then is unspecified. Only
    /// with `recyclesPages`, and only where none of the range is lent already.
    func prepareToOverwrite(_ range: Range<Int>) {
        guard let recycled, let pages = wholePages(of: range),
              !lent.contains(where: { $0.address < pages.end && pages.address < $0.end }) else { return }
        lent += recycled.lend(into: pages.address, bytes: pages.bytes)
    }

    /// Sets `range` (elements) to zero, giving its whole pages back: to the pool where it
    /// lent them, to the kernel otherwise.
    func release(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        guard let pages = wholePages(of: range) else {
            UnsafeMutableBufferPointer(rebasing: buffer[range]).update(repeating: 0)
            return
        }
        let stride = UInt(MemoryLayout<Float>.stride)
        let headEnd = range.lowerBound + Int((pages.address - address(of: range.lowerBound)) / stride)
        let tailStart = range.upperBound - Int((address(of: range.upperBound) - pages.end) / stride)
        UnsafeMutableBufferPointer(rebasing: buffer[range.lowerBound..<headEnd]).update(repeating: 0)
        UnsafeMutableBufferPointer(rebasing: buffer[tailStart..<range.upperBound]).update(repeating: 0)
        var unlent = pages.address
        for piece in takeBackLent(within: pages) {
            discard(unlent..<piece.address)
            unlent = piece.end
        }
        discard(unlent..<pages.end)
    }

    /// The lent runs inside `pages`, moved back to the pool (those the kernel refused to
    /// move are discarded), in address order.
    private func takeBackLent(within pages: PageRun) -> [LentPages] {
        guard let recycled, !lent.isEmpty else { return [] }
        let inside = lent.filter { $0.address >= pages.address && $0.end <= pages.end }.sorted { $0.address < $1.address }
        lent.removeAll { $0.address >= pages.address && $0.end <= pages.end }
        for piece in inside where !recycled.takeBack(piece) {
            discard(piece.address..<piece.end)
        }
        return inside
    }

    private func discard(_ addresses: Range<UInt>) {
        guard !addresses.isEmpty else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: addresses.lowerBound), addresses.count, MADV_DONTNEED)
    }

    private func address(of element: Int) -> UInt { UInt(bitPattern: buffer.baseAddress! + element) }

    /// The whole pages (of the release granule) inside `range`; nil if there are none.
    private func wholePages(of range: Range<Int>) -> PageRun? {
        guard !range.isEmpty else { return nil }
        let page = UInt(pageSize)
        let first = (address(of: range.lowerBound) + page - 1) / page * page
        let last = address(of: range.upperBound) / page * page
        return first < last ? PageRun(address: first, bytes: Int(last - first)) : nil
    }
}

/// The memory could not be mapped.
struct ReleasableMemoryError: Error, CustomStringConvertible {
    let description: String
}
