import Testing
@testable import FlockReport

/// The over/underfitting sentence on scripted curves whose shape is known by construction.
@Suite struct FitDiagnosisTests {
    func curve(_ values: [Double]) -> [(epoch: Int, value: Double)] {
        values.enumerated().map { ($0.offset + 1, $0.element) }
    }

    @Test func validationRisingAfterItsMinimumWhileTrainingFallsIsOverfittingFromTheNextEpoch() {
        let train = curve([1.0, 0.7, 0.5, 0.4, 0.33, 0.28, 0.24, 0.2, 0.17, 0.15])
        // Lowest at epoch 5, then up by 30 %.
        let validation = curve([1.1, 0.8, 0.62, 0.55, 0.5, 0.52, 0.55, 0.58, 0.62, 0.65])
        let diagnosis = FitDiagnosis.diagnose(train: train, validation: validation)
        #expect(diagnosis.verdict == .overfitting)
        #expect(diagnosis.epoch == 6)
        #expect(diagnosis.sentence.hasPrefix("Overfitting from epoch 6: validation loss is lowest at epoch 5 (0.5) and rises to 0.65 by epoch 10"),
                "\(diagnosis.sentence)")
    }

    @Test func bothCurvesStillFallingAtTheEndIsUnderfitting() {
        let train = curve([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
        let validation = curve([1.05, 0.95, 0.86, 0.77, 0.68, 0.6])
        let diagnosis = FitDiagnosis.diagnose(train: train, validation: validation)
        #expect(diagnosis.verdict == .underfitting)
        #expect(diagnosis.epoch == 6)
        #expect(diagnosis.sentence.hasPrefix("Underfitting: validation loss is still falling at the last epoch, 6 (0.68 at epoch 5 → 0.6"), "\(diagnosis.sentence)")
    }

    @Test func aFlatTrainingLossIsUnderfittingFromTheFirstEpoch() {
        let train = curve([2.30, 2.30, 2.29, 2.30, 2.29])
        let validation = curve([2.31, 2.30, 2.30, 2.31, 2.30])
        let diagnosis = FitDiagnosis.diagnose(train: train, validation: validation)
        #expect(diagnosis.verdict == .underfitting)
        #expect(diagnosis.epoch == 1)
        #expect(diagnosis.sentence.contains("training loss hardly falls (2.3 → 2.29 by epoch 5)"), "\(diagnosis.sentence)")
    }

    @Test func validationLevellingOffWithoutRisingIsAGoodFit() {
        let train = curve([1.0, 0.6, 0.45, 0.4, 0.38, 0.37, 0.365, 0.36])
        let validation = curve([1.0, 0.62, 0.5, 0.452, 0.450, 0.451, 0.450, 0.4505])
        let diagnosis = FitDiagnosis.diagnose(train: train, validation: validation)
        #expect(diagnosis.verdict == .goodFit)
        #expect(diagnosis.epoch == 4)
    }

    @Test func bothLossesRisingIsInstabilityNotOverfitting() {
        let train = curve([1.0, 0.6, 0.5, 0.7, 0.9, 1.2])
        let validation = curve([1.0, 0.65, 0.55, 0.8, 1.0, 1.3])
        #expect(FitDiagnosis.diagnose(train: train, validation: validation).verdict == .unstable)
    }

    @Test func withoutValidationLossTheSentenceSaysItCannotJudge() {
        let diagnosis = FitDiagnosis.diagnose(train: curve([1, 0.5, 0.3]), validation: [])
        #expect(diagnosis.verdict == .undetermined)
        #expect(diagnosis.sentence.contains("No validation loss was logged"))
    }
}
