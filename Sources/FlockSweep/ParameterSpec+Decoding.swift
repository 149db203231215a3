import FlockNN
import FlockParallel
import FlockTrain

/// One entry of a sweep file's `space:`:
/// `{name: optimizer.lr, type: float, low: 0.0001, high: 0.01, log: true}`,
/// `{name: "model[0].units", type: int, low: 32, high: 256, step: 32}`,
/// `{name: optimizer.name, type: categorical, choices: [adam, momentum]}`, each with an
/// optional `when: {earlier.parameter: [values]}`.
extension ParameterSpec: Decodable {
    enum Kind: String, ConfigChoice { case float, int, categorical }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, type, low, high, log, step, choices, when }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        let kind = try c.decode(Kind.self, forKey: .type)
        let log = try c.value(.log, or: false)
        let domain: Domain
        switch kind {
        case .float:
            let low = try c.decode(Double.self, forKey: .low), high = try c.decode(Double.self, forKey: .high)
            guard low.isFinite, high.isFinite else {
                throw ConfigError(path: decoder.fieldPath(low.isFinite ? CodingKeys.high : .low),
                                  "expected a finite number, got \(low.isFinite ? high : low)")
            }
            guard low < high else { throw ConfigError(path: decoder.fieldPath(CodingKeys.high), "expected high > low, got \(low)…\(high)") }
            if log && low <= 0 { throw ConfigError(path: decoder.fieldPath(CodingKeys.low), "a log range needs low > 0, got \(low)") }
            domain = .float(low: low, high: high, log: log)
        case .int:
            // ±2^53: every value is exact as a Double, which samplers compute in.
            let limit = 1 << 53
            let low = try c.int(.low, or: nil, in: -limit...limit), high = try c.int(.high, or: nil, in: -limit...limit)
            let step = try c.int(.step, or: 1, in: 1...(2 * limit))
            guard low <= high else { throw ConfigError(path: decoder.fieldPath(CodingKeys.high), "expected high ≥ low, got \(low)…\(high)") }
            if log && (low <= 0 || step != 1) {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.log), "a log int range needs low > 0 and step 1")
            }
            domain = .int(low: low, high: high, step: step, log: log)
        case .categorical:
            guard let choices = try c.decodeIfPresent([ParameterValue].self, forKey: .choices), !choices.isEmpty else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.choices), "expected a non-empty list")
            }
            domain = .categorical(choices)
        }
        let when = try c.decodeIfPresent([String: AllowedValues].self, forKey: .when) ?? [:]
        self.init(name: name, domain: domain, conditions: when.mapValues(\.values))
    }
}

/// A condition's allowed values: a list, or one value.
private struct AllowedValues: Decodable {
    let values: [ParameterValue]

    init(from decoder: any Decoder) throws {
        if let list = try? [ParameterValue](from: decoder) { values = list } else { values = [try ParameterValue(from: decoder)] }
    }
}
