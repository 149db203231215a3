import Foundation
import Testing
@testable import FlockParallel

/// ZeRO's releasable buffers: a released range reads as zeros and its neighbours keep
/// their values; with recycled pages a range prepared for overwriting (stage 3's gathered
/// rows) or for accumulating (stage 2's gradients) is resident before anything touches
/// it, and giving it back returns its pages to the pool for the next range rather than to
/// the kernel.
@Suite struct ReleasableMemoryTests {
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    private static let floatsPerPage = page / MemoryLayout<Float>.stride

    /// Whether each page of `range` (whole pages) is resident, as the kernel says.
    private static func residentPages(_ memory: ReleasableMemory, _ range: Range<Int>) -> [Bool] {
        let start = UnsafeMutableRawPointer(memory.buffer.baseAddress! + range.lowerBound)
        let bytes = range.count * MemoryLayout<Float>.stride
        var pages = [UInt8](repeating: 0, count: (bytes + page - 1) / page)
        #expect(mincore(start, bytes, &pages) == 0)
        return pages.map { $0 & 1 == 1 }
    }

    @Test func aReleasedRangeReadsAsZerosAndItsNeighboursKeepTheirValues() throws {
        for recycles in [false, true] {
            let memory = try ReleasableMemory(count: 8 * Self.floatsPerPage, recyclesPages: recycles)
            for index in memory.buffer.indices { memory.buffer[index] = Float(index + 1) }
            // Partial pages at both ends: their other values must survive.
            let released = (Self.floatsPerPage / 2)..<(6 * Self.floatsPerPage + 3)
            memory.release(released)
            for index in memory.buffer.indices {
                #expect(memory.buffer[index] == (released.contains(index) ? 0 : Float(index + 1)))
            }
        }
    }

    @Test func aPreparedRangeIsResidentAtOnceAndItsPagesServeTheNextRange() throws {
        let pages = 16, floats = Self.floatsPerPage
        let memory = try ReleasableMemory(count: pages * floats, recyclesPages: true)
        let first = (2 * floats)..<(6 * floats), second = (9 * floats)..<(13 * floats)
        memory.prepareToOverwrite(first)
        #expect(Self.residentPages(memory, first).allSatisfy { $0 })
        for index in first { memory.buffer[index] = 7 }
        memory.release(first)
        #expect(Self.residentPages(memory, first).allSatisfy { !$0 })
        #expect(memory.buffer[first].allSatisfy { $0 == 0 })
        // The same four pages go to the next range: resident before any write, holding
        // what the first range left (unspecified to callers, who overwrite it whole).
        memory.prepareToOverwrite(second)
        #expect(Self.residentPages(memory, second).allSatisfy { $0 })
        #expect(memory.buffer[second].allSatisfy { $0 == 7 })
        // Untouched pages between them were never made resident.
        #expect(Self.residentPages(memory, (6 * floats)..<(9 * floats)).allSatisfy { !$0 })
    }

    @Test func preparingARangeTwiceKeepsWhatWasWrittenAndReleasingPartOfItKeepsTheRest() throws {
        let floats = Self.floatsPerPage
        let memory = try ReleasableMemory(count: 8 * floats, recyclesPages: true)
        let range = floats..<(5 * floats)
        memory.prepareToOverwrite(range)
        for index in range { memory.buffer[index] = Float(index) }
        // Already lent: a second preparation must not replace the pages.
        memory.prepareToOverwrite(range)
        #expect(range.allSatisfy { memory.buffer[$0] == Float($0) })
        // A release of part of a lent run zeroes that part and leaves the rest in place.
        memory.release(floats..<(2 * floats))
        #expect((floats..<(2 * floats)).allSatisfy { memory.buffer[$0] == 0 })
        #expect(((2 * floats)..<(5 * floats)).allSatisfy { memory.buffer[$0] == Float($0) })
    }

    @Test func withoutRecyclingAPreparedRangeStaysUnmappedUntilTouched() throws {
        let floats = Self.floatsPerPage
        let memory = try ReleasableMemory(count: 8 * floats, recyclesPages: false)
        memory.prepareToOverwrite(floats..<(4 * floats))
        #expect(Self.residentPages(memory, floats..<(4 * floats)).allSatisfy { !$0 })
    }

    @Test func aRangePreparedForAccumulatingGetsZeroedPagesWhereNothingIsResident() throws {
        let floats = Self.floatsPerPage
        let memory = try ReleasableMemory(count: 16 * floats, recyclesPages: true)
        // Pages in the pool that hold old values, as released gradients' pages do.
        let earlier = floats..<(5 * floats)
        memory.prepareToOverwrite(earlier)
        for index in earlier { memory.buffer[index] = 3 }
        memory.release(earlier)
        // One page of the next range holds values already (an earlier micro-batch's sums).
        let next = (8 * floats)..<(12 * floats)
        for index in (9 * floats)..<(10 * floats) { memory.buffer[index] = 5 }
        memory.prepareToAccumulate(next)
        #expect(Self.residentPages(memory, next).allSatisfy { $0 })
        for index in next {
            #expect(memory.buffer[index] == ((9 * floats)..<(10 * floats) ~= index ? 5 : 0))
        }
        // Given back, the range reads as zeros; prepared again, it is resident again.
        memory.release(next)
        #expect(memory.buffer[next].allSatisfy { $0 == 0 })
        memory.prepareToAccumulate(next)
        #expect(Self.residentPages(memory, next).allSatisfy { $0 })
    }
}
