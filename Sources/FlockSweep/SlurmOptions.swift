import FlockNN
import Foundation

/// The sweep file's `slurm:` mapping: how each trial's batch job is submitted with
/// `launcher: slurm`.
///
/// ```yaml
/// launcher: slurm
/// slurm: {partition: cpu, time_limit: "01:00:00", cpus_per_task: 4, extra_args: ["--account=ml"]}
/// ```
public struct SlurmOptions: Sendable, Equatable {
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

    /// Reads `slurm:` (absent: the defaults); refused unless `launcher` is slurm.
    static func parse(_ value: Any?, launcher: SweepConfig.Launcher) throws -> SlurmOptions {
        var options = SlurmOptions()
        guard let value else { return options }
        guard launcher == .slurm else {
            throw ConfigError(path: "slurm", "only used with launcher: slurm (launcher is \(launcher.rawValue))")
        }
        guard let fields = value as? [String: Any] else { throw ConfigError(path: "slurm", "expected a mapping") }
        let reader = FieldReader(fields, path: "slurm")
        try reader.rejectUnknown(["partition", "time_limit", "cpus_per_task", "extra_args", "poll_seconds"])
        if fields["partition"] != nil {
            let partition = try reader.string("partition")
            guard !partition.isEmpty, !partition.contains(where: \.isWhitespace) else {
                throw ConfigError(path: "slurm.partition", "expected a partition name, got '\(partition)'")
            }
            options.partition = partition
        }
        if let limit = fields["time_limit"] {
            // YAML reads `time_limit: 30` as a number: minutes, as Slurm reads it.
            let text = try (limit as? Int).map(String.init) ?? reader.string("time_limit")
            guard isTimeLimit(text) else {
                throw ConfigError(path: "slurm.time_limit", "expected a Slurm time such as 30, 30:00, 1:00:00, 2-12 or 2-12:00:00 (quote it in YAML), got '\(text)'")
            }
            options.timeLimit = text
        }
        options.cpusPerTask = try reader.int("cpus_per_task", default: 1, in: 1...4096)
        options.pollSeconds = try reader.double("poll_seconds", default: 2)
        try Check.positive(options.pollSeconds, atMost: 3600, "slurm.poll_seconds")
        if let extra = fields["extra_args"] {
            guard let list = extra as? [Any] else { throw ConfigError(path: "slurm.extra_args", "expected a list of strings") }
            options.extraArguments = try list.enumerated().map { index, item in
                guard let text = item as? String else {
                    throw ConfigError(path: "slurm.extra_args[\(index)]", "expected a string, got \(item)")
                }
                if let reserved = reservedOptions.first(where: { sets(text, $0) }) {
                    let field = ["--partition": "partition", "--time": "time_limit"][reserved.long]
                    throw ConfigError(path: "slurm.extra_args[\(index)]",
                                      "\(reserved.long) is set by flock sweep itself" + (field.map { " (use slurm.\($0))" } ?? ""))
                }
                return text
            }
        }
        return options
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
