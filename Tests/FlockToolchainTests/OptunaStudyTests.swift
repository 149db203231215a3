import FlockStore
import FlockTestSupport
import Foundation
import Testing

/// Studies that Optuna's own code opens: an exported study read by `optuna.load_study`
/// and optuna-dashboard's API, and a sweep warm-started from a study real Optuna made.
@Suite struct OptunaStudyTests {
    /// The study through Optuna: best value and params, and per trial its number, state,
    /// params, value and intermediate values; then optuna-dashboard's WSGI app's answers
    /// to `/api/studies` and `/api/studies/1`.
    static let readStudy = """
        import json, sys, optuna
        from optuna_dashboard import wsgi
        from wsgiref.util import setup_testing_defaults
        storage = "sqlite:///" + sys.argv[1]
        study = optuna.load_study(study_name=sys.argv[2], storage=storage)
        trials = [{"number": t.number, "state": t.state.name, "params": t.params, "value": t.value,
                   "intermediate": {str(k): v for k, v in t.intermediate_values.items()}} for t in study.trials]
        app = wsgi(optuna.storages.RDBStorage(storage))
        def get(path, query=""):
            environ = {}
            setup_testing_defaults(environ)
            environ.update(PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD="GET")
            statuses = []
            body = b"".join(app(environ, lambda status, headers, info=None: statuses.append(status)))
            return {"status": statuses[0], "body": json.loads(body)}
        print(json.dumps({"best_value": study.best_value, "best_params": study.best_params,
                          "direction": study.direction.name, "trials": trials,
                          "dashboard_studies": get("/api/studies"), "dashboard_study": get("/api/studies/1", "after=0")}))
        """

    /// Flock's states as Optuna names them.
    static let optunaStates = ["complete": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL", "running": "RUNNING", "waiting": "WAITING"]

    @Test(.enabled(if: ToolchainPython.shared.canReachPyPI, "skipped: pip cannot reach PyPI to install optuna"),
          .hangLimit)
    func optunaAndItsDashboardOpenAnExportedStudyAsFlockTrialsListsIt() throws {
        let python = ToolchainPython.shared
        _ = try python.interpreter()
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let storePath = folder.url.appendingPathComponent("flock.sqlite").path
        try Self.studyInEveryState(storePath)
        let exported = folder.url.appendingPathComponent("optuna.db")
        let written = try ChildProcess.flock(["trials", storePath, "--export-optuna", exported.path], timeout: 120)
        try #require(written.status == 0, "\(written.output)")
        let flockTrials = try ToolchainFixtures.flockTrials(store: storePath)
        let read = try python.json(Self.readStudy, [exported.path, "exported"]) as! [String: Any]

        let complete = flockTrials.filter { $0["state"] as? String == "complete" }
        let best = try #require(complete.max { ($0["value"] as! Double) < ($1["value"] as! Double) })
        #expect(read["direction"] as? String == "MAXIMIZE")
        #expect(read["best_value"] as? Double == best["value"] as? Double)
        #expect(NSDictionary(dictionary: read["best_params"] as! [String: Any]).isEqual(to: best["params"] as! [String: Any]))
        let optunaTrials = read["trials"] as! [[String: Any]]
        #expect(optunaTrials.map { $0["number"] as! Int } == flockTrials.map { $0["number"] as! Int })
        #expect(optunaTrials.map { $0["state"] as! String } == flockTrials.map { Self.optunaStates[$0["state"] as! String]! })
        #expect(Set(optunaTrials.map { $0["state"] as! String }) == Set(Self.optunaStates.values), "every state is exercised")
        for (optuna, flock) in zip(optunaTrials, flockTrials) {
            #expect(NSDictionary(dictionary: optuna["params"] as! [String: Any]).isEqual(to: flock["params"] as! [String: Any]),
                    "trial \(flock["number"]!): \(optuna["params"]!) vs \(flock["params"]!)")
            if ["complete", "pruned"].contains(flock["state"] as! String) {
                #expect(optuna["value"] as? Double == flock["value"] as? Double)
            }
        }
        // Intermediate values by step, as the store holds them (recorded below).
        #expect(optunaTrials[0]["intermediate"] as? [String: Double] == ["1": 0.7, "2": 0.81])
        #expect(optunaTrials[2]["intermediate"] as? [String: Double] == ["1": 0.4])

        let studies = read["dashboard_studies"] as! [String: Any]
        #expect(studies["status"] as? String == "200 OK")
        let summaries = (studies["body"] as! [String: Any])["study_summaries"] as! [[String: Any]]
        #expect(summaries.map { $0["study_name"] as! String } == ["exported"])
        let study = read["dashboard_study"] as! [String: Any]
        let detail = study["body"] as! [String: Any]
        #expect((detail["trials"] as! [[String: Any]]).count == flockTrials.count)
        #expect((detail["best_trials"] as! [[String: Any]]).map { $0["number"] as! Int } == [best["number"] as! Int])
    }

    /// Six trials through the store's typed API, as a sweep driver records them: two
    /// complete (with intermediate values), one pruned, one failed for good, one waiting
    /// to be retried, one running.
    static func studyInEveryState(_ storePath: String) throws {
        let store = try ExperimentStore(path: storePath)
        let definition = """
            study: exported
            base: base.yaml
            space:
              - {name: optimizer.lr, type: float, low: 0.0001, high: 0.1, log: true}
              - {name: "model[0].units", type: int, low: 8, high: 64, step: 8}
              - {name: optimizer.name, type: categorical, choices: [adam, momentum]}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: 6}
            """
        _ = try store.registerStudy(StudyRecord(name: "exported", definition: definition, base: "name: base", direction: "maximize"))
        let params = [#"{"model[0].units":16,"optimizer.lr":0.001,"optimizer.name":"adam"}"#,
                      #"{"model[0].units":32,"optimizer.lr":0.01,"optimizer.name":"momentum"}"#,
                      #"{"model[0].units":8,"optimizer.lr":0.0002,"optimizer.name":"adam"}"#,
                      #"{"model[0].units":64,"optimizer.lr":0.1,"optimizer.name":"momentum"}"#,
                      #"{"model[0].units":24,"optimizer.lr":0.05,"optimizer.name":"adam"}"#,
                      #"{"model[0].units":40,"optimizer.lr":0.003,"optimizer.name":"momentum"}"#]
        let outcomes: [(TrialOutcome?, [Int: Double], retries: Int)] = [
            (.complete(0.81), [1: 0.7, 2: 0.81], 0), (.complete(0.93), [1: 0.9, 2: 0.93], 0), (.pruned(0.4), [1: 0.4], 0),
            (.failed("diverged"), [:], 0), (.failed("lost a rank"), [:], 1), (nil, [:], 0)]
        let policy = LostTrialPolicy(heartbeatTimeout: 3600, maxRetries: 1)
        // All claimed first: a claim takes a waiting trial before it makes a new one.
        let claimed = try params.map { trialParams in
            guard case let .claimed(trial) = try store.claimTrial(study: "exported", worker: "w", policy: policy, next: { _, _ in
                NewTrial(params: trialParams, runDirectory: nil)
            }) else { throw TestFailure("no trial claimed") }
            return trial
        }
        for (trial, (outcome, values, retries)) in zip(claimed, outcomes) {
            for (step, value) in values.sorted(by: { $0.key < $1.key }) {
                _ = try store.recordIntermediateValue(trialID: trial.id!, step: step, value: value)
            }
            if let outcome { _ = try store.finishTrial(id: trial.id!, worker: "w", outcome: outcome, maxRetries: retries) }
        }
    }

    @Test(.enabled(if: ToolchainPython.shared.canReachPyPI, "skipped: pip cannot reach PyPI to install optuna"),
          .hangLimit)
    func aSweepWarmStartedFromAnOptunaStudyIsToldItsFinishedTrials() throws {
        let python = ToolchainPython.shared
        _ = try python.interpreter()
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Real Optuna: two complete trials, one pruned with a value, one failed.
        _ = try python.json("""
            import json, sys, optuna
            from optuna.distributions import CategoricalDistribution
            from optuna.trial import TrialState, create_trial
            study = optuna.create_study(study_name="earlier", storage="sqlite:///" + sys.argv[1], direction="maximize")
            space = {"optimizer.lr": CategoricalDistribution([0.01, 0.02, 0.05, 0.1, 0.2])}
            study.add_trial(create_trial(params={"optimizer.lr": 0.05}, distributions=space, value=0.9))
            study.add_trial(create_trial(params={"optimizer.lr": 0.1}, distributions=space, value=0.8))
            study.add_trial(create_trial(params={"optimizer.lr": 0.02}, distributions=space, state=TrialState.PRUNED,
                                         intermediate_values={1: 0.3}))
            study.add_trial(create_trial(params={"optimizer.lr": 0.2}, distributions=space, state=TrialState.FAIL))
            print(json.dumps(len(study.trials)))
            """, [folder.url.appendingPathComponent("earlier.db").path])
        let base = ToolchainFixtures.config(name: "warm", "epochs: 1")
        let space = """
            space:
              - {name: optimizer.lr, type: categorical, choices: [0.01, 0.02, 0.05, 0.1, 0.2]}
            objective: {metric: val_accuracy, direction: maximize}
            sampler: {name: grid}
            """
        let sweep = try folder.write("warm.yaml", ToolchainFixtures.sweep(study: "warm", base: base,
                                                                          space + "\nwarm_start: {optuna_storage: sqlite:///earlier.db, study: earlier}"))
        let directory = folder.url.appendingPathComponent("sweep")
        let swept = try ChildProcess.flock(["sweep", sweep.path, "--dir", directory.path], timeout: 300)
        try #require(swept.status == 0, "\(swept.output)")
        #expect(swept.output.contains("told 3 finished trial(s) of Optuna study 'earlier'"), "\(swept.output)")
        // The grid skips what it was told (complete and pruned), and runs the failed point again.
        let trials = try ToolchainFixtures.flockTrials(store: directory.appendingPathComponent("flock.sqlite").path)
        let rates = trials.map { ($0["params"] as! [String: Any])["optimizer.lr"] as! Double }
        #expect(rates.sorted() == [0.01, 0.2])

        let missing = try folder.write("missing.yaml", ToolchainFixtures.sweep(study: "missing", base: base,
                                                                               space + "\nwarm_start: {optuna_storage: sqlite:///earlier.db, study: nope}"))
        let refused = try ChildProcess.flock(["sweep", missing.path, "--dir", folder.url.appendingPathComponent("missing").path], timeout: 120)
        #expect(refused.status != 0)
        #expect(refused.output.contains("warm_start.study") && refused.output.contains("no Optuna study 'nope'"), "\(refused.output)")
    }
}
