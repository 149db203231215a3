import Foundation

/// A flat buffer (gradients, or under ZeRO stage 3 parameter values) in private anonymous
/// pages that can be handed back: ZeRO stage 2 releases the other ranks' rows of a
/// bucket's gradients once they are packed for the reduce-scatter, so a rank holds the
/// whole model's gradients only while backward makes them; stage 3 releases a layer's
/// gathered values once it has run.
///
/// Released pages read as zeros on the next touch, which is what the next backward
/// accumulates into; elements that share a page with values still in use are set to zero
/// instead. Refaulting released pages one 4 KB trap at a time, each page taken from the
/// kernel and zeroed, made stages 2 and 3 slow; transparent huge pages (until December 8)
/// made the faults few but could only release whole 2 MB pages, which a rank's own rows
/// pulled back in: ranks 1–3 of 4 kept every gradient page. So with `recyclesPages`
/// released pages go to a pool (``RecycledPages``) instead of the kernel, moved there and
/// back with `mremap`: a range about to be overwritten gets them back as they are
/// (`prepareToOverwrite`), one about to be accumulated into gets them back zeroed
/// (`prepareToAccumulate`), and neither faults.
final class ReleasableMemory {
    let buffer: UnsafeMutableBufferPointer<Float>
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    private let recycled: RecycledPages?
    /// Runs of this buffer holding the pool's pages, until given back.
    private var lent: [LentPages] = []

    /// `count` zeroed Floats, not yet resident, starting on a page boundary.
    init(count: Int, recyclesPages: Bool) throws {
        recycled = recyclesPages ? RecycledPages() : nil
        mappedBytes = max(count, 1) * MemoryLayout<Float>.stride + pageSize
        let address = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else {
            throw ReleasableMemoryError(description: "could not map \(mappedBytes) bytes: \(String(cString: strerror(errno)))")
        }
        mapping = address
        let page = UInt(pageSize)
        let aligned = UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: address) + page - 1) / page * page)!
        buffer = UnsafeMutableBufferPointer(start: aligned.assumingMemoryBound(to: Float.self), count: count)
    }

    deinit { munmap(mapping, mappedBytes) }

    /// Makes the whole pages of `range` (elements) resident with the pool's pages before
    /// every element of it is overwritten: what they hold until then is unspecified. Only
    /// with `recyclesPages`, and only where none of the range is lent already.
    func prepareToOverwrite(_ range: Range<Int>) {
        guard let recycled, let pages = unlentWholePages(of: range) else { return }
        lent += recycled.lend(into: pages.address, bytes: pages.bytes)
    }

    /// Puts zeroed pages from the pool under the whole pages of `range` (elements) that
    /// hold nothing now, before something accumulates into it: pages resident already keep
    /// their values (what an earlier micro-batch summed, or rows kept), and nothing lent is
    /// lent again. Only with `recyclesPages`.
    func prepareToAccumulate(_ range: Range<Int>) {
        guard let recycled, let pages = unlentWholePages(of: range) else { return }
        for vacant in vacantRuns(in: pages) {
            let pieces = recycled.lend(into: vacant.address, bytes: vacant.bytes)
            for piece in pieces { memset(UnsafeMutableRawPointer(bitPattern: piece.address)!, 0, piece.home.bytes) }
            lent += pieces
        }
    }

    /// The whole pages of `range`, when none of them is lent already.
    private func unlentWholePages(of range: Range<Int>) -> PageRun? {
        guard let pages = wholePages(of: range), !lent.contains(where: { $0.address < pages.end && pages.address < $0.end }) else { return nil }
        return pages
    }

    /// The runs of `pages` with no page resident, as the kernel says (`mincore`).
    private func vacantRuns(in pages: PageRun) -> [PageRun] {
        let count = pages.bytes / pageSize
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { resident in
            guard mincore(UnsafeMutableRawPointer(bitPattern: pages.address), pages.bytes, resident.baseAddress) == 0 else { return [] }
            var runs: [PageRun] = [], start: Int?
            for index in 0...count {
                let vacant = index < count && resident[index] & 1 == 0
                if vacant, start == nil { start = index }
                if !vacant, let first = start {
                    runs.append(PageRun(address: pages.address + UInt(first * pageSize), bytes: (index - first) * pageSize))
                    start = nil
                }
            }
            return runs
        }
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
        let split = lent.partition { $0.address >= pages.address && $0.end <= pages.end }
        let inside = lent[split...].sorted { $0.address < $1.address }
        lent.removeSubrange(split...)
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

    /// The whole pages inside `range`; nil if there are none.
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
