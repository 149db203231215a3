import FlockTrain
import Testing
@testable import FlockReport
@testable import FlockStore

/// The study page reads the stored sweep file through the sweep's own types (objective,
/// direction, search space, with their defaults) and lists the best trial's settings from
/// the typed base config; a sweep file this version does not read falls back to the store.
@Suite struct TypedStudyDefinitionTests {
    static let base = """
        data: {source: /no/such/file.csv, label_column: label}
        model: [{type: dense, units: 10}]
        """

    static let space = """
        space:
          - {name: optimizer.lr, type: float, low: 0.0001, high: 0.1, log: true}
          - {name: "model[0].units", type: int, low: 8, high: 64}
        """

    static let definition = "study: s\nbase: gone.yaml\n\(space)\nobjective: {metric: val_accuracy, direction: maximize}\n"

    static func study(_ definition: String, direction: String, base: String = base) -> StudyData {
        var first = TrialRecord(study: "s", number: 0, state: .complete, params: #"{"optimizer.lr": 0.01, "model[0].units": 32}"#)
        first.value = 0.8
        var second = TrialRecord(study: "s", number: 1, state: .complete, params: #"{"optimizer.lr": 0.002, "model[0].units": 16}"#)
        second.value = 0.9
        let record = StudyRecord(name: "s", definition: definition, base: base, direction: direction)
        return StudyData(snapshot: StudySnapshot(study: record, trials: [first, second]), curves: [])
    }

    @Test func theObjectiveAndSpaceComeFromTheSweepFile() {
        let data = Self.study(Self.definition, direction: "maximize")
        #expect(data.metric == "val_accuracy")
        #expect(data.maximize && data.best?.number == 1)
        #expect(data.space.map(\.name) == ["optimizer.lr", "model[0].units"])
        #expect(data.space.map(\.log) == [true, false])
        #expect(StudyPage(data: data).html().contains("objective: maximize val_accuracy · 2 trials"))
    }

    @Test func aSweepFileThatLeavesTheObjectiveOutReportsTheSweepsDefault() {
        let data = Self.study("study: s\nbase: gone.yaml\n\(Self.space)\n", direction: "minimize")
        #expect(data.metric == "val_loss")
        #expect(!data.maximize && data.best?.number == 0)
    }

    @Test func theBestTrialsSettingsAreTheTypedBaseWithItsParametersAndDefaults() throws {
        let data = Self.study(Self.definition, direction: "maximize")
        let html = StudyPage(data: data).html()
        let settings = try #require(html.components(separatedBy: "<pre class=\"best-config\">").dropFirst().first?.components(separatedBy: "</pre>").first)
        let lines = Set(settings.split(separator: "\n").map(String.init))
        for line in ["optimizer.lr: 0.002", "model[0].units: 16", "optimizer.name: adam", "epochs: 10", "data.validation_split: 0.2"] {
            #expect(lines.contains(line), "\(line) in \(settings)")
        }
    }

    @Test func aBaseConfigThatDoesNotDecodeIsShownAsStoredWithANote() throws {
        let data = Self.study(Self.definition, direction: "maximize", base: "epochs: ten\n")
        let html = StudyPage(data: data).html()
        #expect(html.contains("The trial&#39;s config could not be made (epochs: "), "\(html.suffix(1500))")
        #expect(html.contains("<pre class=\"best-config\">epochs: ten\n</pre>"))
    }

    @Test func aSweepFileThisVersionDoesNotReadFallsBackToTheStoresRecord() {
        let data = Self.study("study: s\nspace: not a list\n", direction: "maximize")
        #expect(data.definition == nil)
        #expect(data.maximize && data.best?.number == 1)
        #expect(data.space.map(\.name) == ["model[0].units", "optimizer.lr"], "the trials' parameter names")
        let html = StudyPage(data: data).html()
        #expect(html.contains("The sweep file could not be read (space: "), "\(html.prefix(600))")
        #expect(html.contains("objective: maximize objective · 2 trials"))
    }
}
