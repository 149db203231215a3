import Testing
@testable import FlockNN

@Suite struct ROCCurvesTests {
    @Test func binaryAUCIsTheShareOfCorrectlyOrderedPairs() {
        var curves = ROCCurves(classCount: 2)
        // Positives score 0.9, 0.8, 0.4; negatives 0.7, 0.3, 0.1: 8 of the 9 pairs are ordered.
        let positives: [Float] = [0.9, 0.8, 0.4], negatives: [Float] = [0.7, 0.3, 0.1]
        curves.add(probabilities: positives.map { [1 - $0, $0] } + negatives.map { [1 - $0, $0] }, labels: [1, 1, 1, 0, 0, 0])
        #expect(abs(curves.auc - 8.0 / 9.0) < 1e-12, "\(curves.auc)")
    }

    @Test func tiesCountHalfAndOneSidedClassesAreSkipped() {
        var curves = ROCCurves(classCount: 2)
        curves.add(probabilities: [[0.5, 0.5], [0.5, 0.5]], labels: [1, 0])
        #expect(abs(curves.auc - 0.5) < 1e-12)
        var onlyPositives = ROCCurves(classCount: 2)
        onlyPositives.add(probabilities: [[0.1, 0.9]], labels: [1])
        #expect(onlyPositives.auc(ofClass: 1) == nil)
    }

    @Test func multiclassIsTheMacroMeanOfOneVersusRest() {
        var curves = ROCCurves(classCount: 3)
        // Class 0 separates perfectly (AUC 1); class 1: positive 0.6 vs negatives 0.7, 0.1 (1/2);
        // class 2: positive 0.2 vs negatives 0.2 (tie, in one bucket) and 0.1 (1.5/2).
        curves.add(probabilities: [[0.9, 0.1, 0.0], [0.2, 0.6, 0.2], [0.1, 0.7, 0.2]], labels: [0, 1, 2])
        #expect(abs(curves.auc(ofClass: 0)! - 1) < 1e-12)
        #expect(abs(curves.auc(ofClass: 1)! - 0.5) < 1e-12)
        #expect(abs(curves.auc(ofClass: 2)! - 0.75) < 1e-12)
        #expect(abs(curves.auc - (1 + 0.5 + 0.75) / 3) < 1e-12)
        // Counts add up: the same samples split over two halves give the same curve.
        var first = ROCCurves(classCount: 3), second = ROCCurves(classCount: 3)
        first.add(probabilities: [[0.9, 0.1, 0.0]], labels: [0])
        second.add(probabilities: [[0.2, 0.6, 0.2], [0.1, 0.7, 0.2]], labels: [1, 2])
        let summed = ROCCurves(classCount: 3, counts: zip(first.counts, second.counts).map(+))
        #expect(summed == curves)
    }
}
