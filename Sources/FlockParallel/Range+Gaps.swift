extension Range<Int> {
    /// Calls `body` with each part of this range outside `runs` (sorted, disjoint, inside
    /// it), empty parts included: the other ranks' rows around a rank's own.
    func forEachGap(around runs: some Sequence<Range<Int>>, _ body: (Range<Int>) -> Void) {
        var next = lowerBound
        for run in runs {
            body(next..<run.lowerBound)
            next = run.upperBound
        }
        body(next..<upperBound)
    }
}
