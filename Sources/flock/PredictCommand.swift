import ArgumentParser
import Flock
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predictions for every row of a data file, through the preprocessing saved at training time.")

    @Argument(help: "A checkpoint folder, or a run directory (its best checkpoint when it kept one, else its last).")
    var checkpoint: String

    @Option(help: "The file to predict, in the format the model was trained on: CSV (its label column is optional: metrics are printed when present) or IDX features.")
    var data: String

    @Option(help: "IDX only: the labels file, for metrics.")
    var labels: String?

    @Option(help: "Write the predictions here (.jsonl or .json: JSON lines; otherwise CSV). Default: standard output.")
    var output: String?

    @Option(name: .customLong("model-output"), help: "A graph model's named output to predict (default: the one the loss's first term reads).")
    var modelOutput: String?

    @Option(name: .customLong("input"), help: "NAME=FILE: the CSV file of a graph input with a file of its own (source:), or of a generated partner (data.pairs, data.triplets; default: the row itself), its rows aligned with --data's; once per such input.")
    var inputFiles: [String] = []

    @Flag(help: "Add each class's probability.")
    var probabilities = false

    @Option(help: "Decode a sequence-to-sequence model (a graph whose output node holds transformer_decoder layers) with a beam of this many hypotheses (1: greedy); needs --end-token.")
    var beam: Int?

    @Option(name: .customLong("end-token"), help: "With --beam: the token id that ends a sequence.")
    var endToken: Int?

    @Option(name: .customLong("length-penalty"), help: "With --beam: α of the length penalty ((5 + length)/6)^α of Wu et al. 2016 (default 0.6; 0 ranks by log-probability).")
    var lengthPenalty: Double = 0.6

    func run() throws {
        do {
            let predictor = try Predictor(path: checkpoint)
            // The format the model was trained on (a `.csv` name, or `data.format`).
            let isCSV = predictor.config.data.resolvedFormat == .csv
            if isCSV, labels != nil { throw ValidationError("--labels is for IDX data; a CSV file's label column is found by name") }
            if !isCSV, !inputFiles.isEmpty { throw ValidationError("--input is for CSV data; with IDX data each sample is its own partner") }
            let result: Predictor.Result
            if let beam {
                guard isCSV, let endToken else { throw ValidationError(isCSV ? "--beam needs --end-token, the id that ends a sequence" : "--beam decodes CSV data") }
                result = try predictor.decode(csv: data, decoding: .init(beam: beam, endToken: endToken, lengthPenalty: lengthPenalty),
                                              output: modelOutput)
            } else {
                var files: [String: String] = [:]
                for pair in inputFiles {
                    guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { throw ValidationError("--input: expected NAME=FILE, got '\(pair)'") }
                    files[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                }
                result = isCSV ? try predictor.predict(csv: data, output: modelOutput, inputFiles: files)
                    : try predictor.predict(idx: data, labels: labels, output: modelOutput)
            }
            let asJSONLines = output.map { $0.hasSuffix(".jsonl") || $0.hasSuffix(".json") } ?? false
            let text = try Predictor.format(result, classNames: predictor.classNames, asJSONLines: asJSONLines,
                                            probabilities: probabilities)
            let note = "\(result.labels.count) rows of \(data) with \(predictor.choice)"
            if let output {
                try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
                print("\(note) → \(output)")
            } else {
                FileHandle.standardError.write(Data("\(note)\n".utf8))
                print(text, terminator: "")
            }
            if let metrics = result.metrics {
                let line = metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  ")
                FileHandle.standardError.write(Data("labels present: \(line)\n".utf8))
            }
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
