extension SearchSpace {
    /// The most combinations a grid may have: enumerating it (and deduplicating, on each
    /// suggestion) must take seconds, not hours.
    public static let maximumGridSize = 100_000

    /// An upper bound on the number of grid combinations — the product of every
    /// parameter's value count, conditions ignored — computed without enumerating and
    /// without overflow (as a Double); nil when a float range makes it no grid.
    public func gridSizeBound() -> Double? {
        var size = 1.0
        for parameter in parameters {
            switch parameter.domain {
            case .float: return nil
            case let .int(low, high, step, _):
                // (high - low) / step in Doubles: no overflow whatever the bounds.
                size *= ((Double(high) - Double(low)) / Double(step)).rounded(.down) + 1
            case let .categorical(choices): size *= Double(choices.count)
            }
        }
        return size
    }
}
