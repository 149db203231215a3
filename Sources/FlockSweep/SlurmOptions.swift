import FlockNN
import FlockTrain
import Foundation

/// The sweep file's `slurm:` mapping: how each trial's batch job is submitted with
/// `launcher: slurm`.
///
/// ```yaml
/// launcher: slurm
/// slurm: {partition: cpu, time_limit: "01:00:00", cpus_per_task: 4, extra_args: ["--account=ml"]}
/// ```
public struct SlurmOptions: Decodable, Sendable, Equatable {
    /// `--partition`; nil: the cluster's default.
    public var partition: String?
    /// `--time` in Slurm's forms (`30`, `30:00`, `1:00:00`, `2-12`, `2-12:00:00`); nil: the partition's default.
    public var timeLimit: String?
    /// Cores per rank (`--cpus-per-task`), which are also its OpenBLAS threads.
    public var cpusPerTask = 1
    /// More `sbatch` options, passed as given (`--account=ml`, `--qos`, `debug`).
    public var extraArguments: [String] = []
    /// Seconds between `squeue` polls of a trial's job.
    public var pollSeconds = 2.0

    public init() {}

    /// The options `flock sweep` sets itself; `extra_args` may not set them again (the
    /// driver's tracking relies on them).
    static let reservedOptions: [(long: String, short: String?)] = [
        ("--job-name", "-J"), ("--output", "-o"), ("--error", "-e"), ("--ntasks", "-n"),
        ("--cpus-per-task", "-c"), ("--parsable", nil), ("--wrap", nil), ("--requeue", nil),
        ("--no-requeue", nil), ("--open-mode", nil), ("--array", "-a"), ("--partition", "-p"), ("--time", "-t"),
    ]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case partition
        case timeLimit = "time_limit"
        case cpusPerTask = "cpus_per_task"
        case extraArguments = "extra_args"
        case pollSeconds = "poll_seconds"
    }

    /// Reads `slurm:`, checking each field; `SweepConfig` refuses it unless the launcher is slurm.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let partition = try c.decodeIfPresent(String.self, forKey: .partition) {
            guard !partition.isEmpty, !partition.contains(where: \.isWhitespace) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.partition), "expected a partition name, got '\(partition)'")
            }
            self.partition = partition
        }
        if c.contains(.timeLimit) {
            // YAML reads `time_limit: 30` as a number: minutes, as Slurm reads it.
            let text = try (try? c.decode(Int.self, forKey: .timeLimit)).map(String.init) ?? c.decode(String.self, forKey: .timeLimit)
            guard Self.isTimeLimit(text) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.timeLimit),
                                  "expected a Slurm time such as 30, 30:00, 1:00:00, 2-12 or 2-12:00:00 (quote it in YAML), got '\(text)'")
            }
            timeLimit = text
        }
        cpusPerTask = try c.int(.cpusPerTask, or: cpusPerTask, in: 1...4096)
        pollSeconds = try c.value(.pollSeconds, or: pollSeconds)
        try Check.positive(pollSeconds, atMost: 3600, decoder.fieldPath(CodingKeys.pollSeconds))
        if c.contains(.extraArguments) {
            let path = decoder.fieldPath(CodingKeys.extraArguments)
            guard let list = try? c.decode([String].self, forKey: .extraArguments) else {
                throw ConfigError(path: path, "expected a list of strings")
            }
            for (index, text) in list.enumerated() {
                if let reserved = Self.reservedOptions.first(where: { Self.sets(text, $0) }) {
                    let field = ["--partition": "partition", "--time": "time_limit"][reserved.long]
                    throw ConfigError(path: "\(path)[\(index)]",
                                      "\(reserved.long) is set by flock sweep itself" + (field.map { " (use slurm.\($0))" } ?? ""))
                }
            }
            extraArguments = list
        }
    }

    /// Whether `argument` sets the option `option` (`--time=5`, `--time`, `-t5`, `-t`).
    private static func sets(_ argument: String, _ option: (long: String, short: String?)) -> Bool {
        if argument == option.long || argument.hasPrefix(option.long + "=") { return true }
        guard let short = option.short else { return false }
        return argument == short || (argument.hasPrefix(short) && !argument.hasPrefix("--"))
    }

    /// Slurm's `--time` forms: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
    /// days-hours:minutes, days-hours:minutes:seconds, or UNLIMITED/INFINITE.
    static func isTimeLimit(_ text: String) -> Bool {
        if ["UNLIMITED", "INFINITE"].contains(text.uppercased()) { return true }
        let dayParts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard dayParts.count <= 2 else { return false }
        let clock = dayParts.last!.split(separator: ":", omittingEmptySubsequences: false)
        let numbers = (dayParts.count == 2 ? [dayParts[0]] : []) + clock
        guard numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return false }
        return clock.count <= 3
    }
}
