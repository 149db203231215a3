import CMemoryMap
import Foundation

/// Resident pages kept for reuse by ``ReleasableMemory``: lent (moved into place) before
/// something overwrites a range, and moved back when the range is given back.
///
/// Why: ZeRO stage 3 gives back the other ranks' rows of a layer after each use and
/// gathers them again for the next. Refaulting them made OpenMPI's copy trap once per
/// 4 KB page, each trap taking a page from the kernel and zeroing it (about 10 % of a
/// stage-3 step at 33.6M parameters on two ranks). A move is one `mremap` per run, with
/// nothing zeroed; the pool grows to what is lent at once and keeps it, which is what a
/// rank holds at its peak anyway.
final class RecycledPages {
    /// Runs ready to lend, each inside one mapping (the kernel moves a run from one only).
    private var ready: [PageRun] = []
    /// Every mapping made, unmapped with the pool.
    private var mappings: [PageRun] = []
    /// False once a move failed (a kernel without `MREMAP_DONTUNMAP`): nothing is lent after.
    private(set) var isWorking = true

    deinit {
        for mapping in mappings { munmap(UnsafeMutableRawPointer(bitPattern: mapping.address), mapping.bytes) }
    }

    /// Moves resident pages into the `bytes` (whole pages) starting at `address`, taking
    /// what the pool holds and mapping the rest anew. Returns the runs lent, with where
    /// each lies in the pool (to move it back to); what could not be lent stays unmapped
    /// and faults in on first touch.
    func lend(into address: UInt, bytes: Int) -> [LentPages] {
        guard isWorking else { return [] }
        let held = ready.reduce(0) { $0 + $1.bytes }
        if held < bytes { grow(by: bytes - held) }
        var lent: [LentPages] = [], offset = 0
        while offset < bytes, let run = ready.popLast() {
            let piece = min(run.bytes, bytes - offset)
            if run.bytes > piece { ready.append(PageRun(address: run.address + UInt(piece), bytes: run.bytes - piece)) }
            let source = PageRun(address: run.address, bytes: piece)
            guard move(from: source.address, to: address + UInt(offset), bytes: piece) else {
                ready.append(source)
                break
            }
            lent.append(LentPages(address: address + UInt(offset), home: source))
            offset += piece
        }
        return lent
    }

    /// Moves lent pages back to the pool; false (and they are gone) if the kernel refused.
    func takeBack(_ pages: LentPages) -> Bool {
        guard move(from: pages.address, to: pages.home.address, bytes: pages.home.bytes) else { return false }
        ready.append(pages.home)
        return true
    }

    /// A new mapping of `bytes` (rounded up to pages), faulted in at once.
    private func grow(by bytes: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (bytes + page - 1) / page * page
        guard let start = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              start != MAP_FAILED else { return }
        // Advice only: without it the pages fault in when first written instead.
        _ = flock_populate_pages(start, size)
        let run = PageRun(address: UInt(bitPattern: start), bytes: size)
        mappings.append(run)
        ready.append(run)
    }

    private func move(from source: UInt, to target: UInt, bytes: Int) -> Bool {
        guard flock_move_pages(UnsafeMutableRawPointer(bitPattern: source), UnsafeMutableRawPointer(bitPattern: target), bytes) == 0 else {
            isWorking = false
            return false
        }
        return true
    }
}

/// Whole pages: an address and a length in bytes, both page-aligned.
struct PageRun: Equatable {
    let address: UInt
    let bytes: Int

    var end: UInt { address + UInt(bytes) }
}

/// Pages of the pool lent to `address`; `home` is where they go back to.
struct LentPages {
    let address: UInt
    let home: PageRun

    var end: UInt { address + UInt(home.bytes) }
}
